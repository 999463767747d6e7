#include "mednet/serve/upload.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"

namespace mednet::serve {

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& bytes, const char* magic, size_t n) {
  return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
}

/// The int32 at offset 0 in either byte order.
bool header_size_is(const std::string& bytes, uint32_t size) {
  if (bytes.size() < 4) return false;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint32_t le = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  const uint32_t be = b[3] | (b[2] << 8) | (b[1] << 16) | (static_cast<uint32_t>(b[0]) << 24);
  return le == size || be == size;
}

}  // namespace

std::string sniff_extension(const std::string& bytes) {
  if (starts_with(bytes, "\x89PNG\r\n\x1a\n", 8)) return ".png";
  if (starts_with(bytes, "\xff\xd8\xff", 3)) return ".jpg";
  if (starts_with(bytes, "\x93NUMPY", 6)) return ".npy";
  if (starts_with(bytes, "\x1f\x8b", 2)) return ".nii.gz";
  if (bytes.size() >= 348 && (header_size_is(bytes, 348) || header_size_is(bytes, 540))) return ".nii";
  return "";
}

std::string shown_name(const std::string& client_name) {
  std::string name = client_name;
  const size_t slash = name.find_last_of("/\\");
  if (slash != std::string::npos) name = name.substr(slash + 1);
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '`') continue;
    out += static_cast<char>(c);
    if (out.size() >= 100) break;
  }
  return out.empty() || out == "." || out == ".." ? "upload" : out;
}

UploadFolder::UploadFolder(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp && *tmp ? tmp : "/tmp";
  }
  std::string templ = base + "/mednet-serve.XXXXXX";
  MN_CHECK(::mkdtemp(templ.data()) != nullptr, "serve: cannot make a private folder in ", base, ": ",
           std::strerror(errno));
  path_ = templ;
}

UploadFolder::~UploadFolder() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

data::InputFile UploadFolder::read(const std::string& bytes, const std::string& shown, int spatial_dims) {
  const std::string ext = sniff_extension(bytes);
  MN_CHECK(!ext.empty(), shown, ": not a PNG, JPEG, .npy or NIfTI file (", bytes.size(),
           " bytes; mednet serve reads .png, .jpg, .jpeg, .npy, .nii and .nii.gz)");
  const std::string file = path_ + "/" + std::to_string(next_++) + ext;
  {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    MN_CHECK(fd >= 0, "serve: cannot write the upload: ", std::strerror(errno));
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    if (done != bytes.size()) {
      ::unlink(file.c_str());
      MN_CHECK(false, "serve: cannot write the upload (disk full?)");
    }
  }
  try {
    data::InputFile in = data::read_input_file(file, spatial_dims);
    ::unlink(file.c_str());
    return in;
  } catch (const Error& e) {
    ::unlink(file.c_str());
    throw Error(core::replace_all(e.what(), file, shown), e.kind());
  } catch (const std::exception& e) {
    ::unlink(file.c_str());
    MN_CHECK(false, shown, ": ", core::replace_all(e.what(), file, shown));
  }
  return {};
}

}  // namespace mednet::serve
