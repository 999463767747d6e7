#pragma once
// Files written so that an interrupt or a full disk never leaves a half-written file where a good one
// was, and the one cache folder (downloaded weights, the MD5 ledger).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace mednet::core {

/// Writes bytes to path through a temporary file beside it and a rename.
void write_file_atomic(const std::string& path, const std::string& bytes);

struct FileDigest;
/// Takes each piece of a file as it is produced; always takes all n bytes (see stage_file).
using ByteSink = std::function<void(const void* data, size_t n)>;

/// Writes path + ".tmp" through write(sink) and returns its size and CRC-32; path itself is not
/// touched. A failed write (a full disk) or an exception from write removes the temporary and is an
/// error naming it and saying that path is unchanged. The sink never reports a short write, so writers
/// that cannot take one (LibTorch's archive writer ends the process) report their error afterwards.
FileDigest stage_file(const std::string& path, const std::function<void(const ByteSink&)>& write);

/// Moves a finished temporary file over path (a rename, atomic on one file system).
void commit_file(const std::string& tmp, const std::string& path);

/// The whole file as bytes; a missing or unreadable file is an error naming it.
std::string read_file(const std::string& path);

/// A file's size and CRC-32 (zlib's): state.json records one for each checkpoint.
struct FileDigest {
  uint64_t bytes = 0;
  uint32_t crc32 = 0;
  bool operator==(const FileDigest& o) const { return bytes == o.bytes && crc32 == o.crc32; }
  bool operator!=(const FileDigest& o) const { return !(*this == o); }
};

/// CRC-32 of n more bytes after a running value crc (0 to start).
uint32_t crc32_update(uint32_t crc, const void* data, size_t n);

/// The digest of a file on disk; a file that cannot be read is an error naming it.
FileDigest digest_file(const std::string& path);

/// $MEDNET_CACHE, else $XDG_CACHE_HOME/mednet, else ~/.cache/mednet.
std::string cache_dir();

}  // namespace mednet::core
