#include "mednet/core/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"

namespace mednet::core {

namespace fs = std::filesystem;

struct FolderLock::Held {
  std::string key;
  int fd = -1;
  ~Held() {
    if (fd >= 0) ::close(fd);  // drops the flock
  }
};

namespace {

std::mutex& lock_registry_mutex() {
  static std::mutex m;
  return m;
}

// The folders this process holds, by canonical path: a nested stage shares its parent's hold.
std::map<std::string, std::weak_ptr<FolderLock::Held>>& lock_registry() {
  static std::map<std::string, std::weak_ptr<FolderLock::Held>> held;
  return held;
}

std::string lock_file_of(const std::string& dir) {
  return (fs::path(dir) / kFolderLockName).string();
}

// "PID 1234 on host y since 2026-12-06 16:20:31 UTC"
std::string this_holder_line() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "?");
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return "PID " + std::to_string(::getpid()) + " on host " + host + " since " + when;
}

// The first line of an open lock file (what its holder wrote), escaped for a message.
std::string holder_in(int fd) {
  char buf[512];
  const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  if (n <= 0) return "";
  std::string text(buf, static_cast<size_t>(n));
  text = text.substr(0, text.find('\n'));
  return escape_bytes(text);
}

}  // namespace

FolderLock FolderLock::acquire(const std::string& dir) {
  std::error_code ec;
  MN_CHECK_USAGE(!fs::exists(dir, ec) || fs::is_directory(dir, ec), dir,
                 " is a file, not a folder; choose another output folder");
  fs::create_directories(dir, ec);
  MN_CHECK(!ec && fs::is_directory(dir), "cannot create the folder ", dir, ": ", ec.message());
  const std::string key = fs::canonical(dir).string();
  std::lock_guard<std::mutex> guard(lock_registry_mutex());
  FolderLock lock;
  if (auto it = lock_registry().find(key); it != lock_registry().end()) {
    if ((lock.held_ = it->second.lock())) return lock;
  }
  const std::string path = lock_file_of(dir);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  MN_CHECK(fd >= 0, "cannot write in ", dir, " (its lock file ", path, "): ", std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = err == EWOULDBLOCK ? holder_in(fd) : "";
    ::close(fd);
    MN_CHECK(err != EWOULDBLOCK, dir, " is in use by ",
             holder.empty() ? std::string("another process (it has not said which yet)") : holder,
             ": another mednet is writing there (lock file ", path,
             "). Wait for it to end or stop it, or choose another folder");
    MN_CHECK(false, "cannot lock ", path, ": ", std::strerror(err));
  }
  const std::string line = this_holder_line() + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    const int err = errno;
    ::close(fd);
    MN_CHECK(false, "cannot write the lock file ", path, ": ", std::strerror(err));
  }
  lock.held_ = std::make_shared<Held>();
  lock.held_->key = key;
  lock.held_->fd = fd;
  lock_registry()[key] = lock.held_;
  return lock;
}

std::string folder_lock_holder(const std::string& dir) {
  const std::string path = lock_file_of(dir);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string holder;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    holder = holder_in(fd);
    if (holder.empty()) holder = "another process";
  }
  ::close(fd);
  return holder;
}

}  // namespace mednet::core
