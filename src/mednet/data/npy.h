#pragma once
// Reader for NumPy .npy arrays and .npz archives (zip, stored or deflate entries, zip64 included).
// Every malformed input is a mednet::Error naming the file and what is wrong; nothing crashes.
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mednet::data {

class ByteSource;

/// Parses the bytes of one .npy file into a CPU tensor (uint8, int8, int16, int32, int64, float32,
/// float64, bool; uint16/32/64 widen to the next signed type). `what` names the source in errors.
at::Tensor parse_npy(const uint8_t* bytes, size_t size, const std::string& what);

/// Reads a whole .npy file.
at::Tensor load_npy(const std::string& path);

/// The bytes of a .npy file (format 1.0, C order, little-endian) holding a CPU tensor of a dtype
/// parse_npy reads (bool, uint8, int8, int16, int32, int64, float32, float64). A non-empty descr is
/// written into the header instead of the tensor's own (the data bytes stay as they are), for files
/// whose dtype no tensor type names, such as "<u2".
std::string npy_bytes(const at::Tensor& t, const std::string& descr = "");
/// Writes npy_bytes(t) to path (through a temporary file, so a reader never sees half a file).
void save_npy(const std::string& path, const at::Tensor& t);

/// Random access to the arrays of an .npz archive. The central directory is read once; each read()
/// inflates one entry and checks its CRC-32.
class NpzReader {
 public:
  explicit NpzReader(const std::string& path);

  /// Array names without the ".npy" suffix, in archive order.
  std::vector<std::string> keys() const;
  bool contains(const std::string& key) const;
  /// Reads one array; a missing key is an error listing the keys present.
  at::Tensor read(const std::string& key);
  const std::string& path() const { return path_; }

  /// One member of the archive as its central directory declares it.
  struct Entry {
    std::string name;
    uint16_t method = 0;
    uint32_t crc = 0;
    uint64_t compressed = 0;
    uint64_t uncompressed = 0;
    uint64_t local_offset = 0;
  };
  /// Every member (any name), for readers of other zip formats that check the claims before reading.
  const std::vector<Entry>& entries() const { return entries_; }
  uint64_t file_size() const { return file_size_; }
  /// One member's bytes, CRC-checked. The caller checks its declared size first (it is allocated).
  std::string read_member(const Entry& entry);

 private:
  void read_central_directory();
  const Entry& entry(const std::string& key) const;
  std::unique_ptr<ByteSource> open(const Entry& entry, const std::string& what);
  static void finish(ByteSource& src, const Entry& entry, const std::string& what);

  std::string path_;
  std::ifstream file_;
  uint64_t file_size_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace mednet::data
