#pragma once
// Files written so that an interrupt or a full disk never leaves a half-written file where a good one
// was, and the one cache folder (downloaded weights, the MD5 ledger).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace mednet::core {

/// A file's size and CRC-32 (zlib's): state.json records one for each checkpoint.
struct FileDigest {
  uint64_t bytes = 0;
  uint32_t crc32 = 0;
  bool operator==(const FileDigest& o) const { return bytes == o.bytes && crc32 == o.crc32; }
  bool operator!=(const FileDigest& o) const { return !(*this == o); }
};

/// Takes each piece of a file as it is produced; always takes all n bytes (see stage_file).
using ByteSink = std::function<void(const void* data, size_t n)>;
using FileWriter = std::function<void(const ByteSink&)>;

/// Writes path + ".tmp" through write(sink) and returns its size and CRC-32; path itself is not
/// touched. A failed write (a full disk) or an exception from write removes the temporary and is an
/// error naming it and saying that path is unchanged. The sink never reports a short write: the writer
/// runs to its end and the error is reported afterwards.
FileDigest stage_file(const std::string& path, const FileWriter& write);

/// Moves a finished temporary file over path (a rename, atomic on one file system).
void commit_file(const std::string& tmp, const std::string& path);

/// stage_file, then commit_file: path is the whole new file or, after an error, the old one.
FileDigest write_file_atomic(const std::string& path, const FileWriter& write);
/// The same for bytes already in memory.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// The whole file as bytes; a missing or unreadable file is an error naming it.
std::string read_file(const std::string& path);

/// CRC-32 of n more bytes after a running value crc (0 to start).
uint32_t crc32_update(uint32_t crc, const void* data, size_t n);

/// The digest of a file on disk; a file that cannot be read is an error naming it.
FileDigest digest_file(const std::string& path);

/// $MEDNET_CACHE, else $XDG_CACHE_HOME/mednet, else ~/.cache/mednet.
std::string cache_dir();

}  // namespace mednet::core
