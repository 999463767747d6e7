#include "mednet/data/npy.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <regex>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/strings.h"

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
  MN_CHECK(descr.size() >= 3, what, ": unsupported dtype '", descr, "'");
  const char order = descr[0];
  MN_CHECK(order == '<' || order == '|' || order == '=', what, ": big-endian dtype '", descr,
           "' is not supported (re-save the array in little-endian order)");
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
  MN_CHECK(false, what, ": unsupported dtype '", descr, "' (supported: u1 i1 b1 i2 i4 i8 u2 u4 u8 f4 f8)");
  return {};
}

}  // namespace

at::Tensor parse_npy(const uint8_t* bytes, size_t size, const std::string& what) {
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  MN_CHECK(size >= 10 && std::memcmp(bytes, kMagic, 6) == 0, what, ": not a .npy array (bad magic)");
  const int major = bytes[6];
  size_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_len = le16(bytes + 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    MN_CHECK(size >= 12, what, ": truncated .npy header");
    header_len = le32(bytes + 8);
    header_start = 12;
  } else {
    MN_CHECK(false, what, ": unsupported .npy format version ", major);
  }
  MN_CHECK(header_start + header_len <= size, what, ": truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(bytes + header_start), header_len);

  std::smatch m;
  static const std::regex kDescr(R"('descr'\s*:\s*'([^']*)')");
  static const std::regex kFortran(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex kShape(R"('shape'\s*:\s*\(([^)]*)\))");
  MN_CHECK(std::regex_search(header, m, kDescr), what, ": .npy header has no 'descr': ", header);
  const DTypeInfo dt = dtype_from_descr(m[1].str(), what);
  MN_CHECK(std::regex_search(header, m, kFortran), what, ": .npy header has no 'fortran_order'");
  const bool fortran = m[1].str() == "True";
  MN_CHECK(std::regex_search(header, m, kShape), what, ": .npy header has no 'shape'");
  std::vector<int64_t> shape;
  const std::string dims = m[1].str();
  static const std::regex kInt(R"(\d+)");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), kInt); it != std::sregex_iterator(); ++it) {
    shape.push_back(std::stoll(it->str()));
  }
  uint64_t count = 1;
  for (int64_t d : shape) {
    MN_CHECK(d >= 0 && (d == 0 || count <= std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)),
             what, ": impossible shape in .npy header");
    count *= static_cast<uint64_t>(d);
  }
  const size_t data_start = header_start + header_len;
  const uint64_t need = count * dt.itemsize;
  MN_CHECK(size - data_start == need, what, ": array data is ", size - data_start,
           " bytes, but shape and dtype need ", need, " (truncated or corrupt .npy)");

  std::vector<int64_t> alloc_shape = shape;
  if (fortran) std::reverse(alloc_shape.begin(), alloc_shape.end());
  at::Tensor t = torch::empty(alloc_shape, torch::TensorOptions().dtype(dt.stored));
  if (need > 0) std::memcpy(t.data_ptr(), bytes + data_start, need);
  if (fortran && shape.size() > 1) {
    std::vector<int64_t> perm(shape.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
    t = t.permute(perm).contiguous();
  }
  if (dt.is_unsigned_wide) {
    // Reinterpret the signed bits as unsigned while widening.
    const int bits = static_cast<int>(dt.itemsize * 8);
    at::Tensor wide = t.to(dt.result);
    if (bits < 64) wide = torch::where(wide < 0, wide + (int64_t{1} << bits), wide);
    t = wide;
  }
  return t;
}

at::Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MN_CHECK(in, "cannot open ", path, ": no such file or not readable");
  std::vector<uint8_t> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_npy(buf.data(), buf.size(), path);
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
  MN_CHECK(false, path_, ": no array '", key, "' in the archive (it has: ", core::join(keys(), ", "), ")");
  return entries_.front();
}

at::Tensor NpzReader::read(const std::string& key) {
  const Entry& ent = entry(key);
  const std::string what = path_ + ":" + ent.name;
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
  std::vector<uint8_t> raw(ent.compressed);
  file_.seekg(static_cast<std::streamoff>(data_offset));
  file_.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
  MN_CHECK(file_, what, ": read failed");

  std::vector<uint8_t> out;
  if (ent.method == 0) {
    MN_CHECK(ent.compressed == ent.uncompressed, what, ": stored entry with mismatched sizes");
    out = std::move(raw);
  } else if (ent.method == 8) {
    out.resize(ent.uncompressed);
    z_stream zs{};
    MN_CHECK(inflateInit2(&zs, -MAX_WBITS) == Z_OK, what, ": zlib init failed");
    zs.next_in = raw.data();
    uint64_t in_left = raw.size(), out_left = out.size();
    zs.next_out = out.data();
    int rc = Z_OK;
    // zlib counts in 32-bit units: feed large entries in chunks.
    while (rc == Z_OK) {
      const uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
      const uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
      zs.avail_in = in_chunk;
      zs.avail_out = out_chunk;
      rc = inflate(&zs, Z_NO_FLUSH);
      in_left -= in_chunk - zs.avail_in;
      out_left -= out_chunk - zs.avail_out;
      if (rc == Z_OK && zs.avail_in == 0 && in_left == 0) break;
      if (rc == Z_BUF_ERROR && out_left > 0 && in_left > 0) rc = Z_OK;
    }
    inflateEnd(&zs);
    MN_CHECK(rc == Z_STREAM_END && out_left == 0, what, ": corrupt or truncated deflate data (zlib: ",
             rc == Z_DATA_ERROR ? "data error" : (rc == Z_STREAM_END ? "size mismatch" : "unexpected end"),
             ")");
  } else {
    MN_CHECK(false, what, ": unsupported zip compression method ", ent.method, " (only stored and deflate)");
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (uint64_t off = 0; off < out.size(); off += 1u << 30) {
    crc = crc32(crc, out.data() + off, static_cast<uInt>(std::min<uint64_t>(out.size() - off, 1u << 30)));
  }
  MN_CHECK(crc == ent.crc, what, ": CRC-32 mismatch (corrupt archive)");
  return parse_npy(out.data(), out.size(), what);
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
