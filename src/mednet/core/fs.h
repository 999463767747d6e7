#pragma once
// Files written so that an interrupt or a full disk never leaves a half-written file where a good one
// was, and the one cache folder (downloaded weights, the MD5 ledger).
#include <string>

namespace mednet::core {

/// Writes bytes to path through a temporary file beside it and a rename.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Moves a finished temporary file over path (a rename, atomic on one file system).
void commit_file(const std::string& tmp, const std::string& path);

/// The whole file as bytes; a missing or unreadable file is an error naming it.
std::string read_file(const std::string& path);

/// $MEDNET_CACHE, else $XDG_CACHE_HOME/mednet, else ~/.cache/mednet.
std::string cache_dir();

}  // namespace mednet::core
