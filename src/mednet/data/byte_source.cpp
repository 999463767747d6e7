#include "mednet/data/byte_source.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"

namespace mednet::data {

namespace {
constexpr uint64_t kChunk = uint64_t{1} << 30;  // zlib and iostreams count in 32-bit units
constexpr size_t kInputBuffer = size_t{1} << 20;
}  // namespace

void ByteSource::add_crc(const uint8_t* p, uint64_t n) {
  crc_ = core::crc32_update(static_cast<uint32_t>(crc_), p, n);
}

MemorySource::MemorySource(const uint8_t* bytes, uint64_t size, std::string what)
    : bytes_(bytes), size_(size), what_(std::move(what)) {}

void MemorySource::read(uint8_t* dst, uint64_t n) {
  MN_CHECK(n <= remaining(), what_, ": ends after ", size_, " bytes (truncated)");
  if (n > 0) std::memcpy(dst, bytes_ + pos_, n);
  add_crc(dst, n);
  pos_ += n;
}

FileSource::FileSource(std::ifstream& file, uint64_t offset, uint64_t size, std::string what)
    : file_(file), left_(size), what_(std::move(what)) {
  file_.clear();
  file_.seekg(static_cast<std::streamoff>(offset));
  MN_CHECK(file_, what_, ": cannot seek to byte ", offset);
}

void FileSource::read(uint8_t* dst, uint64_t n) {
  MN_CHECK(n <= left_, what_, ": ends ", n - left_, " bytes early (truncated)");
  for (uint64_t off = 0; off < n; off += kChunk) {
    const uint64_t len = std::min(n - off, kChunk);
    file_.read(reinterpret_cast<char*>(dst + off), static_cast<std::streamsize>(len));
    MN_CHECK(file_, what_, ": read failed (truncated file?)");
  }
  add_crc(dst, n);
  left_ -= n;
}

InflateSource::InflateSource(std::ifstream& file, uint64_t offset, uint64_t compressed, uint64_t size,
                             std::string what)
    : in_(file, offset, compressed, what), out_left_(size), what_(std::move(what)) {
  MN_CHECK(inflateInit2(&zs_, -MAX_WBITS) == Z_OK, what_, ": zlib init failed");
}

InflateSource::~InflateSource() {
  inflateEnd(&zs_);
}

void InflateSource::fail(const char* why) const {
  MN_CHECK(false, what_, ": corrupt or truncated deflate data (zlib: ", why, ")");
  std::abort();  // not reached
}

void InflateSource::refill() {
  if (in_.remaining() == 0) fail("unexpected end");
  buf_.resize(static_cast<size_t>(std::min<uint64_t>(in_.remaining(), kInputBuffer)));
  in_.read(buf_.data(), buf_.size());
  zs_.next_in = buf_.data();
  zs_.avail_in = static_cast<uInt>(buf_.size());
}

void InflateSource::read(uint8_t* dst, uint64_t n) {
  if (n > out_left_ || (ended_ && n > 0)) fail("size mismatch");
  for (uint64_t off = 0; off < n; off += kChunk) {
    const uint64_t len = std::min(n - off, kChunk);
    zs_.next_out = dst + off;
    zs_.avail_out = static_cast<uInt>(len);
    while (zs_.avail_out > 0) {
      if (zs_.avail_in == 0) refill();
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        ended_ = true;
        if (zs_.avail_out > 0) fail("size mismatch");  // the stream ends before the declared size
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) fail(rc == Z_DATA_ERROR ? "data error" : "unexpected end");
      if (rc == Z_BUF_ERROR && zs_.avail_in > 0) fail("data error");  // no progress possible
    }
    add_crc(dst + off, len);
  }
  out_left_ -= n;
}

void InflateSource::finish() {
  if (out_left_ > 0) fail("size mismatch");
  // The declared size is reached: the stream must end here, without another byte.
  uint8_t extra = 0;
  while (!ended_) {
    zs_.next_out = &extra;
    zs_.avail_out = 1;
    if (zs_.avail_in == 0 && in_.remaining() > 0) refill();
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    if (zs_.avail_out == 0) fail("size mismatch");  // more data than declared
    if (rc == Z_STREAM_END)
      ended_ = true;
    else if (rc == Z_DATA_ERROR || (rc == Z_BUF_ERROR && zs_.avail_in > 0))
      fail("data error");
    else if (zs_.avail_in == 0 && in_.remaining() == 0)
      fail("unexpected end");
  }
}

}  // namespace mednet::data
