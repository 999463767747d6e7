#include "mednet/data/npy.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <regex>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/data/byte_source.h"

namespace mednet::data {

namespace {

uint16_t le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const uint8_t* p) {
  return static_cast<uint64_t>(le32(p)) | (static_cast<uint64_t>(le32(p + 4)) << 32);
}

struct DTypeInfo {
  at::ScalarType stored;  // the tensor type the raw bytes are read as
  at::ScalarType result;  // the type handed back (wider for unsigned types LibTorch lacks)
  size_t itemsize;
  bool is_unsigned_wide;
};

DTypeInfo dtype_from_descr(const std::string& descr, const std::string& what) {
  MN_CHECK(descr.size() >= 3, what, ": unsupported dtype '", core::escape_bytes(descr), "'");
  const char order = descr[0];
  MN_CHECK(order == '<' || order == '|' || order == '=', what, ": big-endian dtype '",
           core::escape_bytes(descr), "' is not supported (re-save the array in little-endian order)");
  const std::string code = descr.substr(1);
  if (code == "u1") return {at::kByte, at::kByte, 1, false};
  if (code == "i1") return {at::kChar, at::kChar, 1, false};
  if (code == "b1") return {at::kBool, at::kBool, 1, false};
  if (code == "i2") return {at::kShort, at::kShort, 2, false};
  if (code == "i4") return {at::kInt, at::kInt, 4, false};
  if (code == "i8") return {at::kLong, at::kLong, 8, false};
  if (code == "f4") return {at::kFloat, at::kFloat, 4, false};
  if (code == "f8") return {at::kDouble, at::kDouble, 8, false};
  if (code == "u2") return {at::kShort, at::kInt, 2, true};
  if (code == "u4") return {at::kInt, at::kLong, 4, true};
  if (code == "u8") return {at::kLong, at::kLong, 8, true};
  MN_CHECK(false, what, ": unsupported dtype '", core::escape_bytes(descr),
           "' (supported: u1 i1 b1 i2 i4 i8 u2 u4 u8 f4 f8)");
  return {};
}

}  // namespace

namespace {

// What a .npy header says: how the data bytes that follow it become a tensor.
struct NpyLayout {
  DTypeInfo dt;
  bool fortran = false;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;  // of the data
};

std::string gigabytes(uint64_t bytes) {
  return core::format_fixed(static_cast<double>(bytes) / (1 << 30), 2) + " GiB";
}

// Reads the magic, version and header of an array whose file (or zip entry) is `total` bytes long,
// and checks the data that follows has the size the header declares.
NpyLayout read_npy_header(ByteSource& src, uint64_t total, const std::string& what) {
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  uint8_t pre[12] = {};
  MN_CHECK(total >= 10, what, ": not a .npy array (bad magic)");
  src.read(pre, 10);
  MN_CHECK(std::memcmp(pre, kMagic, 6) == 0, what, ": not a .npy array (bad magic)");
  const int major = pre[6];
  uint64_t header_len = 0;
  uint64_t header_start = 0;
  if (major == 1) {
    header_len = le16(pre + 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    MN_CHECK(total >= 12, what, ": truncated .npy header");
    src.read(pre + 10, 2);
    header_len = le32(pre + 8);
    header_start = 12;
  } else {
    MN_CHECK(false, what, ": unsupported .npy format version ", major);
  }
  MN_CHECK(header_start + header_len <= total, what, ": truncated .npy header");
  MN_CHECK(header_len <= (1u << 20), what, ": .npy header of ", header_len, " bytes (damaged file?)");
  std::string header(static_cast<size_t>(header_len), '\0');
  src.read(reinterpret_cast<uint8_t*>(header.data()), header_len);

  NpyLayout l;
  std::smatch m;
  static const std::regex kDescr(R"('descr'\s*:\s*'([^']*)')");
  static const std::regex kFortran(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex kShape(R"('shape'\s*:\s*\(([^)]*)\))");
  MN_CHECK(std::regex_search(header, m, kDescr), what,
           ": .npy header has no 'descr': ", core::escape_bytes(header));
  l.dt = dtype_from_descr(m[1].str(), what);
  MN_CHECK(std::regex_search(header, m, kFortran), what, ": .npy header has no 'fortran_order'");
  l.fortran = m[1].str() == "True";
  MN_CHECK(std::regex_search(header, m, kShape), what, ": .npy header has no 'shape'");
  const std::string dims = m[1].str();
  static const std::regex kInt(R"(-?\d+)");
  uint64_t count = 1;
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), kInt); it != std::sregex_iterator(); ++it) {
    const std::string v = it->str();
    MN_CHECK(v[0] != '-' && v.size() <= 18, what, ": impossible shape in .npy header (", dims, ")");
    const int64_t d = std::stoll(v);
    MN_CHECK(d == 0 || count <= std::numeric_limits<uint64_t>::max() / 16 / static_cast<uint64_t>(d), what,
             ": impossible shape in .npy header");
    count *= static_cast<uint64_t>(d);
    l.shape.push_back(d);
  }
  const uint64_t data_start = header_start + header_len;
  l.bytes = count * l.dt.itemsize;
  MN_CHECK(total - data_start == l.bytes, what, ": array data is ", total - data_start,
           " bytes, but shape and dtype need ", l.bytes, " (truncated or corrupt .npy)");
  return l;
}

// Allocates the array (after checking it fits in memory) and reads its data straight into it.
at::Tensor read_npy_data(ByteSource& src, const NpyLayout& l, const std::string& what) {
  const uint64_t available = core::available_memory();
  MN_CHECK(available == 0 || l.bytes <= available, what, ": the array needs ", gigabytes(l.bytes),
           " of memory, but only ", gigabytes(available),
           " is available on this machine (use a smaller image size or a machine with more memory)");
  std::vector<int64_t> alloc_shape = l.shape;
  if (l.fortran) std::reverse(alloc_shape.begin(), alloc_shape.end());
  at::Tensor t = torch::empty(alloc_shape, torch::TensorOptions().dtype(l.dt.stored));
  src.read(static_cast<uint8_t*>(t.data_ptr()), l.bytes);
  return t;
}

// Fortran order to C order, and unsigned types widened.
at::Tensor finish_npy(at::Tensor t, const NpyLayout& l) {
  if (l.fortran && l.shape.size() > 1) {
    std::vector<int64_t> perm(l.shape.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
    t = t.permute(perm).contiguous();
  }
  if (l.dt.is_unsigned_wide) {
    // Reinterpret the signed bits as unsigned while widening.
    const int bits = static_cast<int>(l.dt.itemsize * 8);
    at::Tensor wide = t.to(l.dt.result);
    if (bits < 64) wide = torch::where(wide < 0, wide + (int64_t{1} << bits), wide);
    t = wide;
  }
  return t;
}

}  // namespace

at::Tensor parse_npy(const uint8_t* bytes, size_t size, const std::string& what) {
  MemorySource src(bytes, size, what);
  const NpyLayout l = read_npy_header(src, size, what);
  return finish_npy(read_npy_data(src, l, what), l);
}

at::Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MN_CHECK(in, "cannot open ", path, ": no such file or not readable");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  FileSource src(in, 0, size, path);
  const NpyLayout l = read_npy_header(src, size, path);
  return finish_npy(read_npy_data(src, l, path), l);
}

NpzReader::NpzReader(const std::string& path) : path_(path), file_(path, std::ios::binary) {
  MN_CHECK(file_, "cannot open ", path, ": no such file or not readable");
  file_.seekg(0, std::ios::end);
  file_size_ = static_cast<uint64_t>(file_.tellg());
  read_central_directory();
}

void NpzReader::read_central_directory() {
  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  const uint64_t tail = std::min<uint64_t>(file_size_, 22 + 65535);
  MN_CHECK(file_size_ >= 22, path_, ": too small to be an .npz archive (", file_size_, " bytes)");
  std::vector<uint8_t> buf(tail);
  file_.seekg(static_cast<std::streamoff>(file_size_ - tail));
  file_.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(tail));
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail) - 22; i >= 0; --i) {
    if (le32(&buf[static_cast<size_t>(i)]) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  MN_CHECK(eocd >= 0, path_, ": not a zip/.npz archive or truncated (no end-of-central-directory record)");
  const uint8_t* e = &buf[static_cast<size_t>(eocd)];
  uint64_t n_entries = le16(e + 10);
  uint64_t cd_size = le32(e + 12);
  uint64_t cd_offset = le32(e + 16);
  if (n_entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    // Zip64: the locator sits just before the classic record and points at the zip64 record.
    MN_CHECK(eocd >= 20 && le32(e - 20) == 0x07064b50, path_, ": zip64 archive without a zip64 locator");
    const uint64_t rec = le64(e - 20 + 8);
    MN_CHECK(rec + 56 <= file_size_, path_, ": corrupt zip64 locator");
    uint8_t z[56];
    file_.seekg(static_cast<std::streamoff>(rec));
    file_.read(reinterpret_cast<char*>(z), 56);
    MN_CHECK(file_ && le32(z) == 0x06064b50, path_, ": corrupt zip64 end-of-central-directory record");
    n_entries = le64(z + 32);
    cd_size = le64(z + 40);
    cd_offset = le64(z + 48);
  }
  MN_CHECK(cd_offset + cd_size <= file_size_, path_,
           ": central directory lies past the end of the file (truncated)");
  std::vector<uint8_t> cd(cd_size);
  file_.seekg(static_cast<std::streamoff>(cd_offset));
  file_.read(reinterpret_cast<char*>(cd.data()), static_cast<std::streamsize>(cd_size));
  MN_CHECK(file_, path_, ": cannot read the central directory");

  size_t p = 0;
  for (uint64_t i = 0; i < n_entries; ++i) {
    MN_CHECK(p + 46 <= cd.size() && le32(&cd[p]) == 0x02014b50, path_, ": corrupt central directory entry ",
             i);
    Entry ent;
    ent.method = le16(&cd[p + 10]);
    ent.crc = le32(&cd[p + 16]);
    ent.compressed = le32(&cd[p + 20]);
    ent.uncompressed = le32(&cd[p + 24]);
    const uint16_t name_len = le16(&cd[p + 28]);
    const uint16_t extra_len = le16(&cd[p + 30]);
    const uint16_t comment_len = le16(&cd[p + 32]);
    ent.local_offset = le32(&cd[p + 42]);
    MN_CHECK(p + 46 + name_len + extra_len + comment_len <= cd.size(), path_,
             ": corrupt central directory entry ", i);
    ent.name.assign(reinterpret_cast<const char*>(&cd[p + 46]), name_len);
    // Zip64 extra field: the 64-bit values appear only for the fields saturated at 0xFFFFFFFF.
    size_t x = p + 46 + name_len;
    const size_t x_end = x + extra_len;
    while (x + 4 <= x_end) {
      const uint16_t id = le16(&cd[x]);
      const uint16_t len = le16(&cd[x + 2]);
      if (id == 0x0001) {
        size_t q = x + 4;
        auto take = [&](uint64_t& field) {
          if (field == 0xFFFFFFFF && q + 8 <= x + 4 + len) {
            field = le64(&cd[q]);
            q += 8;
          }
        };
        take(ent.uncompressed);
        take(ent.compressed);
        take(ent.local_offset);
      }
      x += 4 + len;
    }
    entries_.push_back(std::move(ent));
    p += 46 + name_len + extra_len + comment_len;
  }
}

std::vector<std::string> NpzReader::keys() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) {
    const bool npy = e.name.size() > 4 && e.name.compare(e.name.size() - 4, 4, ".npy") == 0;
    out.push_back(npy ? e.name.substr(0, e.name.size() - 4) : e.name);
  }
  return out;
}

bool NpzReader::contains(const std::string& key) const {
  for (const auto& k : keys())
    if (k == key) return true;
  return false;
}

const NpzReader::Entry& NpzReader::entry(const std::string& key) const {
  for (const auto& e : entries_)
    if (e.name == key + ".npy" || e.name == key) return e;
  MN_CHECK(false, path_, ": no array '", core::escape_bytes(key),
           "' in the archive (it has: ", core::escape_bytes(core::join(keys(), ", ")), ")");
  return entries_.front();
}

std::unique_ptr<ByteSource> NpzReader::open(const Entry& ent, const std::string& what) {
  uint8_t local[30];
  MN_CHECK(ent.local_offset + 30 <= file_size_, what,
           ": entry lies past the end of the file (truncated archive)");
  file_.clear();
  file_.seekg(static_cast<std::streamoff>(ent.local_offset));
  file_.read(reinterpret_cast<char*>(local), 30);
  MN_CHECK(file_ && le32(local) == 0x04034b50, what, ": corrupt local header");
  const uint64_t data_offset = ent.local_offset + 30 + le16(local + 26) + le16(local + 28);
  MN_CHECK(data_offset + ent.compressed <= file_size_, what, ": entry data runs past the end of the file (",
           file_size_, " bytes; truncated archive)");
  // The entry's bytes go straight to their destination: stored ones read from the file, deflate ones
  // inflated in bounded chunks, never more than the declared size.
  if (ent.method == 0) {
    MN_CHECK(ent.compressed == ent.uncompressed, what, ": stored entry with mismatched sizes");
    return std::make_unique<FileSource>(file_, data_offset, ent.compressed, what);
  }
  MN_CHECK(ent.method == 8, what, ": unsupported zip compression method ", ent.method,
           " (only stored and deflate)");
  return std::make_unique<InflateSource>(file_, data_offset, ent.compressed, ent.uncompressed, what);
}

void NpzReader::finish(ByteSource& src, const Entry& ent, const std::string& what) {
  if (auto* inflating = dynamic_cast<InflateSource*>(&src)) inflating->finish();
  MN_CHECK(src.crc() == ent.crc, what, ": CRC-32 mismatch (corrupt archive)");
}

at::Tensor NpzReader::read(const std::string& key) {
  const Entry& ent = entry(key);
  const std::string what = path_ + ":" + ent.name;
  const std::unique_ptr<ByteSource> src = open(ent, what);
  const NpyLayout l = read_npy_header(*src, ent.uncompressed, what);
  at::Tensor t = read_npy_data(*src, l, what);
  finish(*src, ent, what);
  return finish_npy(std::move(t), l);
}

std::string NpzReader::read_member(const Entry& ent) {
  const std::string what = path_ + ":" + ent.name;
  const std::unique_ptr<ByteSource> src = open(ent, what);
  std::string bytes(ent.uncompressed, '\0');
  src->read(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
  finish(*src, ent, what);
  return bytes;
}

namespace {
// The numpy dtype string of a tensor type the reader accepts back.
std::string descr_of(at::ScalarType type) {
  switch (type) {
    case at::kBool:
      return "|b1";
    case at::kByte:
      return "|u1";
    case at::kChar:
      return "|i1";
    case at::kShort:
      return "<i2";
    case at::kInt:
      return "<i4";
    case at::kLong:
      return "<i8";
    case at::kFloat:
      return "<f4";
    case at::kDouble:
      return "<f8";
    default:
      MN_CHECK(false, "npy: cannot write dtype ", type);
  }
  return "";
}
}  // namespace

std::string npy_bytes(const at::Tensor& t, const std::string& descr_override) {
  const at::Tensor c = t.cpu().contiguous();
  const std::string descr = descr_override.empty() ? descr_of(c.scalar_type()) : descr_override;
  std::string shape = "(";
  for (int64_t i = 0; i < c.dim(); ++i) {
    shape += std::to_string(c.size(i));
    shape += c.dim() == 1 ? "," : (i + 1 < c.dim() ? ", " : "");
  }
  shape += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending in \n
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  return out;
}

void save_npy(const std::string& path, const at::Tensor& t) {
  core::write_file_atomic(path, npy_bytes(t));
}

}  // namespace mednet::data
