// One writer per folder, as a user meets it: every command that writes refuses a folder another process
// holds, with exit 1 and the holder named, while readers go on; two trainings started at once on one run
// leave one running and one clear error.
#include <unistd.h>

#include <cstdlib>

#include <torch/torch.h>

#include "app/cli_fixture.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/data/npy.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

class OneWriter : public Cli {
 protected:
  // A finished 2-epoch run on a generated NoduleMNIST3D file.
  void SetUp() override {
    Cli::SetUp();
    root_ = fake_medmnist_root("nodulemnist3d", 64, 32, 32);
    common_ = " --root " + root_ + " --threads 2 --device cpu --skip-md5";
    run_ = home_ + "/run";
    const auto [rc, out] =
        mednet("train --dataset nodulemnist3d --widths 4,8 --epochs 2" + common_ + " --out " + run_, home_);
    ASSERT_EQ(rc, 0) << out;
  }

  // `args` on a folder this test process holds: exit 1, the folder and this process named, nothing new there.
  void expect_refused(const std::string& args, const std::string& folder) const {
    const std::string before = listing(folder);
    const auto [rc, out] = mednet(args, home_);
    EXPECT_EQ(rc, 1) << args << "\n" << out;
    EXPECT_TRUE(contains(out, folder + " is in use by PID " + std::to_string(::getpid()) + " on host "))
        << args << "\n"
        << out;
    EXPECT_EQ(listing(folder), before) << args;
  }

  // The names and sizes in a folder, to see that a refused command wrote nothing.
  static std::string listing(const std::string& dir) {
    std::string s;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      s += e.path().string() + (e.is_regular_file() ? " " + std::to_string(e.file_size()) : "") + "\n";
    return s;
  }

  std::string root_, common_, run_;
};

TEST_F(OneWriter, EveryWritingCommandRefusesAHeldFolderAndReadersGoOn) {
  {
    const auto held = mednet::core::FolderLock::acquire(run_);
    expect_refused("train --resume " + run_ + " --epochs 3 --threads 2 --skip-md5", run_);
    // readers never block: eval scores the held run
    const auto [rc, out] = mednet("eval --run " + run_ + " --threads 2 --skip-md5", home_);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_TRUE(contains(out, "test: AUC")) << out;
  }
  const std::string fresh = home_ + "/fresh", q = home_ + "/q", cam = home_ + "/cam", ens = home_ + "/ens",
                    exp = home_ + "/exp", study = home_ + "/study";
  std::vector<mednet::core::FolderLock> held;
  for (const auto& d : {fresh, q, cam, ens, exp, study}) held.push_back(mednet::core::FolderLock::acquire(d));
  expect_refused("train --dataset nodulemnist3d --widths 4,8 --epochs 1" + common_ + " --out " + fresh,
                 fresh);
  expect_refused("quantize --run " + run_ + " --mode dynamic --no-latency --skip-md5 --out " + q, q);
  expect_refused("cam --run " + run_ + " --samples 2 --skip-md5 --out " + cam, cam);
  expect_refused("ensemble --runs " + run_ + " " + run_ + " --skip-md5 --out " + ens, ens);
  expect_refused("experiment --config " MEDNET_SOURCE_DIR "/experiments/exp2a_cnn2d_retina.json" + common_ +
                     " --out " + exp,
                 exp);
  expect_refused("study --config " MEDNET_SOURCE_DIR "/experiments/study.json" + common_ + " --out " + study,
                 study);
  held.clear();
  // released (as a process's end releases it): the same commands run
  const auto [rc, out] =
      mednet("quantize --run " + run_ + " --mode dynamic --no-latency --skip-md5 --out " + q, home_);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(fs::exists(q + "/model_int8.safetensors"));
}

TEST_F(OneWriter, TwoTrainingsStartedAtOnceOnOneRunLeaveOneRunningAndOneError) {
  const std::string cmd = "env -u MEDMNIST_ROOT HOME=" + home_ + " " MEDNET_BIN " train --resume " + run_ +
                          " --epochs 12 --threads 1 --skip-md5";
  const std::string log = home_ + "/two";
  const auto [rc, out] = run_command("(" + cmd + " >" + log + "_a.txt 2>&1; echo $? >" + log + "_a.rc) & (" +
                                     cmd + " >" + log + "_b.txt 2>&1; echo $? >" + log + "_b.rc) & wait");
  ASSERT_EQ(rc, 0) << out;
  const std::string a = read_file(log + "_a.txt"), b = read_file(log + "_b.txt");
  const int rc_a = std::atoi(read_file(log + "_a.rc").c_str()),
            rc_b = std::atoi(read_file(log + "_b.rc").c_str());
  EXPECT_EQ(std::min(rc_a, rc_b), 0) << a << "\n---\n" << b;
  EXPECT_EQ(std::max(rc_a, rc_b), 1) << a << "\n---\n" << b;
  const std::string& refused = rc_a == 1 ? a : b;
  EXPECT_TRUE(contains(refused, run_ + " is in use by PID ")) << refused;
  EXPECT_FALSE(contains(refused, "epoch")) << refused;  // it never trained
  EXPECT_EQ(nlohmann::json::parse(read_file(run_ + "/metrics.json"))["epochs_run"], 12);
  EXPECT_FALSE(fs::exists(run_ + "/last.pt.tmp"));
}

TEST_F(OneWriter, NanCheckpointIsRefusedAndNothingIsWritten) {
  // best.pt with NaN weights whose state.json agrees with its bytes, as a diverged run or an edit leaves it.
  const std::string pt = run_ + "/best.pt";
  std::string bytes = read_file(pt);
  const size_t header = static_cast<size_t>(static_cast<unsigned char>(bytes[0])) |
                        static_cast<size_t>(static_cast<unsigned char>(bytes[1])) << 8;
  const char nan_f32[4] = {0, 0, static_cast<char>(0xc0), 0x7f};
  for (size_t i = 8 + header; i + 4 <= bytes.size(); i += 4) bytes.replace(i, 4, nan_f32, 4);
  std::ofstream(pt, std::ios::binary) << bytes;
  auto state = nlohmann::json::parse(read_file(run_ + "/state.json"));
  ASSERT_TRUE(state.contains("checkpoints")) << state.dump();
  const mednet::core::FileDigest d = mednet::core::digest_file(pt);
  state["checkpoints"]["best.pt"] = {{"bytes", d.bytes}, {"crc32", d.crc32}};
  std::ofstream(run_ + "/state.json") << state.dump();
  for (const auto& e : fs::directory_iterator(run_))
    if (e.path().extension() == ".csv" && contains(e.path().filename().string(), "_test_"))
      fs::remove(e.path());
  const std::string metrics = read_file(run_ + "/metrics.json");

  const auto [rc, out] = mednet("eval --run " + run_ + " --threads 2 --skip-md5", home_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(contains(out, run_ + "/best.pt: tensor '")) << out;
  EXPECT_TRUE(contains(out, "non-finite value")) << out;
  EXPECT_FALSE(contains(out, "AUC")) << out;
  EXPECT_EQ(read_file(run_ + "/metrics.json"), metrics);
  for (const auto& e : fs::directory_iterator(run_))
    EXPECT_FALSE(contains(e.path().filename().string(), "_test_")) << e.path();
  const std::string npy = home_ + "/volume.npy";
  mednet::data::save_npy(npy, torch::zeros({28, 28, 28}));
  for (const std::string& args :
       {"predict --run " + run_ + " " + npy + " --out " + home_ + "/p.csv",
        "train --dataset nodulemnist3d --widths 4,8 --epochs 1 --init-from " + run_ + common_ + " --out " +
            home_ + "/t2",
        "quantize --run " + run_ + " --mode dynamic --no-latency --skip-md5 --out " + home_ + "/q2"}) {
    const auto [rc2, out2] = mednet(args, home_);
    EXPECT_EQ(rc2, 1) << args << "\n" << out2;
    EXPECT_TRUE(contains(out2, "best.pt: tensor '")) << args << "\n" << out2;
  }
}

}  // namespace
