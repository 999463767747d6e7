#pragma once
// Sources of an array's bytes, read front to back straight into their destination: memory, a stretch
// of a file (a stored zip entry or a .npy file), or a deflate zip entry inflated in bounded chunks.
// None reads or produces more than the size it was given, so a damaged or hostile size field cannot
// make one allocate: the caller allocates the destination after checking the declared size.
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace mednet::data {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Fills dst with the next n bytes; fewer left is an error naming the source.
  virtual void read(uint8_t* dst, uint64_t n) = 0;
  /// Bytes not yet read.
  virtual uint64_t remaining() const = 0;
  /// CRC-32 of the bytes read so far.
  uint32_t crc() const { return static_cast<uint32_t>(crc_); }

 protected:
  void add_crc(const uint8_t* p, uint64_t n);

 private:
  uLong crc_ = crc32(0L, Z_NULL, 0);
};

class MemorySource : public ByteSource {
 public:
  MemorySource(const uint8_t* bytes, uint64_t size, std::string what);
  void read(uint8_t* dst, uint64_t n) override;
  uint64_t remaining() const override { return size_ - pos_; }

 private:
  const uint8_t* bytes_;
  uint64_t size_, pos_ = 0;
  std::string what_;
};

/// size bytes of an open file from offset (the caller has checked they lie inside the file).
class FileSource : public ByteSource {
 public:
  FileSource(std::ifstream& file, uint64_t offset, uint64_t size, std::string what);
  void read(uint8_t* dst, uint64_t n) override;
  uint64_t remaining() const override { return left_; }

 private:
  std::ifstream& file_;
  uint64_t left_;
  std::string what_;
};

/// A raw deflate stream of `compressed` bytes at offset that must inflate to exactly `size` bytes.
class InflateSource : public ByteSource {
 public:
  InflateSource(std::ifstream& file, uint64_t offset, uint64_t compressed, uint64_t size, std::string what);
  ~InflateSource() override;
  InflateSource(const InflateSource&) = delete;
  InflateSource& operator=(const InflateSource&) = delete;
  void read(uint8_t* dst, uint64_t n) override;
  uint64_t remaining() const override { return out_left_; }
  /// After the last byte: the stream must end exactly there.
  void finish();

 private:
  void refill();
  [[noreturn]] void fail(const char* why) const;
  FileSource in_;
  std::vector<uint8_t> buf_;
  z_stream zs_{};
  uint64_t out_left_;
  bool ended_ = false;
  std::string what_;
};

}  // namespace mednet::data
