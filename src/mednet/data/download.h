#pragma once
// MD5 checks and HTTP downloads. Both rest on optional libraries (OpenSSL, libcurl); builds without
// them still compile and say plainly what they cannot do.
#include <cstdint>
#include <functional>
#include <string>

namespace mednet::data {

/// True when this build can compute MD5 sums.
bool md5_available();
/// MD5 of a file as 32 lowercase hex digits; an error when the file is unreadable or MD5 is unavailable.
std::string md5_file(const std::string& path);

/// SHA-256 of a file as 64 lowercase hex digits (same conditions as md5_file).
std::string sha256_file(const std::string& path);

/// True when this build can download (libcurl).
bool download_available();

/// Called with (bytes so far, total bytes or 0 when unknown).
using DownloadProgress = std::function<void(uint64_t, uint64_t)>;

/// Downloads url into dest through dest + ".part"; when expected_md5 is not empty the sum is checked
/// before the rename. On any failure the partial file is removed and dest is left untouched.
void download_file(const std::string& url, const std::string& dest, const std::string& expected_md5,
                   const DownloadProgress& progress);

/// Downloads url into dest like download_file, checked by SHA-256. With an empty expected_sha256 the
/// digest the server publishes for the file is used (Hugging Face sends it as X-Linked-Etag); with
/// neither the download fails. Returns the verified digest.
std::string download_file_sha256(const std::string& url, const std::string& dest,
                                 const std::string& expected_sha256, const DownloadProgress& progress);

}  // namespace mednet::data
