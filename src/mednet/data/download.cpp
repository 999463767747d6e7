#include "mednet/data/download.h"

#include "mednet/build_config.h"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#if MEDNET_HAVE_OPENSSL
#include <openssl/evp.h>
#endif
#if MEDNET_HAVE_CURL
#include <curl/curl.h>
#endif

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"

namespace mednet::data {

bool md5_available() {
#if MEDNET_HAVE_OPENSSL
  return true;
#else
  return false;
#endif
}

namespace {
std::string digest_file(const std::string& path, const char* name) {
#if MEDNET_HAVE_OPENSSL
  std::ifstream in(path, std::ios::binary);
  MN_CHECK(in, "cannot open ", path, " to compute its ", name);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, std::string(name) == "MD5" ? EVP_md5() : EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", digest[i]);
    hex += b;
  }
  return hex;
#else
  (void)path;
  MN_CHECK(false, "this build has no ", name, " support (built without OpenSSL)");
  return {};
#endif
}
}  // namespace

std::string md5_file(const std::string& path) {
  return digest_file(path, "MD5");
}

std::string sha256_file(const std::string& path) {
  return digest_file(path, "SHA-256");
}

bool download_available() {
#if MEDNET_HAVE_CURL
  return true;
#else
  return false;
#endif
}

#if MEDNET_HAVE_CURL
namespace {
struct Sink {
  std::FILE* f;
  const DownloadProgress* progress;
  std::string advertised_sha256;  // from an X-Linked-Etag header, if any
};
size_t header_cb(char* ptr, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  std::string line(ptr, size * n);
  const std::string lower = core::to_lower(line);
  const std::string key = "x-linked-etag:";
  if (lower.rfind(key, 0) == 0) {
    std::string v;
    for (char c : lower.substr(key.size()))
      if (std::isxdigit(static_cast<unsigned char>(c))) v += c;
    if (v.size() == 64) s->advertised_sha256 = v;
  }
  return size * n;
}
size_t write_cb(char* ptr, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  return std::fwrite(ptr, size, n, s->f) * size;
}
int progress_cb(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* s = static_cast<Sink*>(user);
  if (*s->progress) (*s->progress)(static_cast<uint64_t>(now), static_cast<uint64_t>(total));
  return core::interrupted() ? 1 : 0;  // non-zero aborts the transfer
}
}  // namespace
#endif

namespace {
// Downloads through dest + ".part"; check(part, advertised sha256) returns "" when the file is good
// or the reason it is not. Nothing is left at dest unless the check passed.
void download_checked(const std::string& url, const std::string& dest, const DownloadProgress& progress,
                      const std::function<std::string(const std::string&, const std::string&)>& check) {
#if MEDNET_HAVE_CURL
  namespace fs = std::filesystem;
  const fs::path target(dest);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string part = dest + ".part";
  std::FILE* f = std::fopen(part.c_str(), "wb");
  MN_CHECK(f, "cannot write ", part);
  Sink sink{f, &progress, ""};
  CURL* curl = curl_easy_init();
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &sink);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  const bool closed = std::fclose(f) == 0;
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    fs::remove(part, ec);
    MN_CHECK(false, "download of ", url, " failed: ", why, " (nothing was written to ", dest, ")");
  };
  if (rc != CURLE_OK) fail(err[0] ? err : curl_easy_strerror(rc));
  if (!closed) fail("cannot finish writing " + part);
  const std::string why = check(part, sink.advertised_sha256);
  if (!why.empty()) fail(why);
  core::commit_file(part, dest);
#else
  (void)progress;
  (void)check;
  MN_CHECK(false, "this build cannot download (built without libcurl). Download ", url,
           " yourself and save it as ", dest);
#endif
}
}  // namespace

void download_file(const std::string& url, const std::string& dest, const std::string& expected_md5,
                   const DownloadProgress& progress) {
  download_checked(url, dest, progress, [&](const std::string& part, const std::string&) -> std::string {
    if (expected_md5.empty()) return "";
    const std::string got = md5_file(part);
    return got == expected_md5 ? "" : "MD5 " + got + " does not match the expected " + expected_md5;
  });
}

std::string download_file_sha256(const std::string& url, const std::string& dest,
                                 const std::string& expected_sha256, const DownloadProgress& progress) {
  std::string verified;
  download_checked(url, dest, progress,
                   [&](const std::string& part, const std::string& advertised) -> std::string {
                     const std::string want = expected_sha256.empty() ? advertised : expected_sha256;
                     if (want.empty())
                       return "no SHA-256 to check against (the server published none; pass --sha256)";
                     const std::string got = sha256_file(part);
                     if (got != want) return "SHA-256 " + got + " does not match the expected " + want;
                     verified = got;
                     return "";
                   });
  return verified;
}

}  // namespace mednet::data
