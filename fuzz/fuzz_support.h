#pragma once
// What every harness shares: the input as a file (for readers that take a path), and the rule that a
// reader may refuse its input only with mednet::Error (or LibTorch's c10::Error from a library call);
// anything else, a crash, a hang or a sanitizer report, is a finding.
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include <c10/util/Exception.h>

#include "mednet/core/error.h"

namespace mednet::fuzz {

/// The input written to a file of this process in /dev/shm (or /tmp), with the given suffix.
inline std::string as_file(const uint8_t* data, size_t size, const std::string& suffix) {
  static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  const std::string path = dir + "/mednet_fuzz_" + std::to_string(getpid()) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

/// Runs the reader; a clean refusal is fine.
template <typename F>
int refuse_cleanly(F&& read) {
  try {
    read();
  } catch (const mednet::Error&) {
  } catch (const c10::Error&) {
  }
  return 0;
}

}  // namespace mednet::fuzz
