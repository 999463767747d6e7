#include "mednet/core/fs.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "mednet/core/error.h"

namespace mednet::core {

void commit_file(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  MN_CHECK(!ec, "cannot move ", tmp, " to ", path, ": ", ec.message());
}

FileDigest write_file_atomic(const std::string& path, const FileWriter& write) {
  const FileDigest d = stage_file(path, write);
  commit_file(path + ".tmp", path);
  return d;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, [&](const ByteSink& sink) { sink(bytes.data(), bytes.size()); });
}

FileDigest stage_file(const std::string& path, const FileWriter& write) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  MN_CHECK(f, "cannot write ", tmp, ": ", std::strerror(errno));
  FileDigest d;
  int err = 0;
  std::string writer_error;
  try {
    write([&](const void* data, size_t n) {
      if (err || n == 0) return;
      if (std::fwrite(data, 1, n, f) != n) err = errno ? errno : EIO;
      d.crc32 = crc32_update(d.crc32, data, n);
      d.bytes += n;
    });
  } catch (const std::exception& e) {
    writer_error = e.what();
  }
  if (std::fflush(f) != 0 && !err) err = errno;
  if (std::fclose(f) != 0 && !err) err = errno;
  if (err || !writer_error.empty()) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    MN_CHECK(writer_error.empty(), "cannot write ", tmp, ": ", writer_error, "; ", path, " is unchanged");
    MN_CHECK(false, "cannot write ", tmp, ": ", std::strerror(err), " (disk full?); ", path, " is unchanged");
  }
  return d;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MN_CHECK(in, "cannot open ", path, ": no such file or not readable");
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

uint32_t crc32_update(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const Bytef*>(data);
  for (size_t off = 0; off < n;) {
    const size_t len = std::min<size_t>(n - off, size_t{1} << 30);  // zlib counts in 32-bit units
    crc = static_cast<uint32_t>(crc32(crc, p + off, static_cast<uInt>(len)));
    off += len;
  }
  return crc;
}

FileDigest digest_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  MN_CHECK(f, "cannot read ", path, ": ", std::strerror(errno));
  FileDigest d;
  std::vector<unsigned char> buf(size_t{1} << 20);
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    d.crc32 = crc32_update(d.crc32, buf.data(), n);
    d.bytes += n;
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  MN_CHECK(!failed, "cannot read ", path);
  return d;
}

std::string cache_dir() {
  if (const char* c = std::getenv("MEDNET_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/mednet";
  const char* home = std::getenv("HOME");
  MN_CHECK_USAGE(home && *home, "no cache folder: set MEDNET_CACHE or HOME");
  return std::string(home) + "/.cache/mednet";
}

}  // namespace mednet::core
