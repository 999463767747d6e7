#pragma once
// One writer per folder: every folder mednet writes (a run, an experiment, a study, quantize and cam
// outputs) is held through an exclusive flock on FOLDER/.mednet.lock while it is written. The operating
// system drops the hold when the process ends, however it ends, so a killed run never leaves a stale
// lock; a second writer is refused with an error naming the folder and the holder. Readers never take it.
#include <memory>
#include <string>

namespace mednet::core {

/// The lock file's name inside a held folder (folders that must be empty for a new run ignore it).
inline constexpr const char* kFolderLockName = ".mednet.lock";

/// An exclusive hold on a folder for this process, released when the last copy is destroyed.
class FolderLock {
 public:
  FolderLock() = default;

  /// Creates dir when missing and takes its lock, or throws mednet::Error naming the folder and the
  /// process that holds it ("runs/x is in use by PID 1234 on host y since ..."). A folder this process
  /// already holds is held once more (nested stages share the hold) and released with the last copy.
  static FolderLock acquire(const std::string& dir);

  bool held() const { return held_ != nullptr; }

  struct Held;

 private:
  std::shared_ptr<Held> held_;
};

/// Who holds dir's lock ("PID 1234 on host y since 2026-12-06 16:20:31 UTC"), or empty when nobody
/// does (no lock file, or a lock file left by a process that has ended).
std::string folder_lock_holder(const std::string& dir);

}  // namespace mednet::core
