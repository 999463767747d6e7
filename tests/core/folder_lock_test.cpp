// core/folder_lock.h: one writer per folder, held through flock and dropped by the operating system.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "support/fixtures.h"

using namespace mednet;
namespace fs = std::filesystem;

namespace {

// Whether another process (util-linux's flock) could take the folder's lock now: 0 yes, 1 no.
int other_process_locks(const std::string& dir) {
  return mednet::testing::run_command("flock -n -x " + dir + "/.mednet.lock true").first;
}

}  // namespace

TEST(FolderLock, HoldsTheFolderAgainstOtherProcessesUntilReleased) {
  const std::string dir = mednet::testing::temp_dir("lock") + "/new/run";
  {
    const core::FolderLock lock = core::FolderLock::acquire(dir);  // the folder is created
    ASSERT_TRUE(lock.held());
    EXPECT_TRUE(fs::is_directory(dir));
    EXPECT_EQ(other_process_locks(dir), 1);
    const std::string holder = core::folder_lock_holder(dir);
    EXPECT_EQ(holder.rfind("PID " + std::to_string(::getpid()) + " on host ", 0), 0u) << holder;
    EXPECT_NE(holder.find(" since 20"), std::string::npos) << holder;
    EXPECT_NE(holder.find(" UTC"), std::string::npos) << holder;
    {
      // A nested stage of this process shares the hold, by whatever path it names the folder.
      const core::FolderLock nested = core::FolderLock::acquire(dir + "/../run/");
      EXPECT_TRUE(nested.held());
    }
    EXPECT_EQ(other_process_locks(dir), 1);  // the outer copy still holds it
  }
  EXPECT_EQ(other_process_locks(dir), 0);
  EXPECT_EQ(core::folder_lock_holder(dir), "");  // a lock file left behind names nobody
  EXPECT_TRUE(fs::exists(dir + "/.mednet.lock"));
  EXPECT_TRUE(core::FolderLock::acquire(dir).held());  // and can be taken again
}

TEST(FolderLock, RefusesAFolderAnotherProcessHoldsNamingIt) {
  const std::string dir = mednet::testing::temp_dir("lock_other");
  // Another process holds it (flock keeps the lock while its command runs) and has said who it is.
  std::ofstream(dir + "/.mednet.lock") << "PID 4242 on host elsewhere since 2026-12-06 10:00:00 UTC\n";
  const std::string cmd =
      "flock -n -x -o " + dir + "/.mednet.lock sh -c 'touch " + dir + "/held; sleep 30' &";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  for (int i = 0; i < 500 && !fs::exists(dir + "/held"); ++i) ::usleep(10000);
  ASSERT_TRUE(fs::exists(dir + "/held"));
  try {
    core::FolderLock::acquire(dir);
    ADD_FAILURE() << "a held folder was taken";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    EXPECT_NE(m.find(dir + " is in use by PID 4242 on host elsewhere since 2026-12-06 10:00:00 UTC"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find(".mednet.lock"), std::string::npos) << m;
  }
  EXPECT_EQ(core::folder_lock_holder(dir), "PID 4242 on host elsewhere since 2026-12-06 10:00:00 UTC");
  mednet::testing::run_command("pkill -f 'touch " + dir + "/held'");
}

TEST(FolderLock, AFileInTheWayIsAUsageError) {
  const std::string dir = mednet::testing::temp_dir("lock_file");
  std::ofstream(dir + "/f") << "x";
  try {
    core::FolderLock::acquire(dir + "/f");
    ADD_FAILURE() << "a file was locked as a folder";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("is a file, not a folder"), std::string::npos) << e.what();
  }
}
