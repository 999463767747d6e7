#include "mednet/core/fs.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mednet/core/error.h"

namespace mednet::core {

void commit_file(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  MN_CHECK(!ec, "cannot move ", tmp, " to ", path, ": ", ec.message());
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    MN_CHECK(out, "cannot write ", tmp);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      MN_CHECK(false, "cannot write ", tmp, " (disk full?); ", path, " is unchanged");
    }
  }
  commit_file(tmp, path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MN_CHECK(in, "cannot open ", path, ": no such file or not readable");
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string cache_dir() {
  if (const char* c = std::getenv("MEDNET_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/mednet";
  const char* home = std::getenv("HOME");
  MN_CHECK_USAGE(home && *home, "no cache folder: set MEDNET_CACHE or HOME");
  return std::string(home) + "/.cache/mednet";
}

}  // namespace mednet::core
