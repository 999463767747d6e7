// Large and lying .npz entries: a split is read straight into its tensor (peak memory about the array,
// not two or three copies), a size beyond the machine's memory is refused before anything is
// allocated, and a deflate stream that inflates past its declared size is stopped there.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/npy.h"
#include "support/fixtures.h"

using mednet::Error;
using mednet::data::NpzReader;
using mednet::testing::ZipMethod;

namespace {

// A /proc/self/status field in bytes (VmRSS, VmHWM); 0 when unreadable.
uint64_t status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == field + ":") {
      uint64_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

// Resets the peak resident size (VmHWM) to the current one; false where the kernel does not allow it.
bool reset_peak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

std::string read_error(const std::string& path, const std::string& key) {
  try {
    NpzReader(path).read(key);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Overwrites 8 little-endian bytes of a file at offset.
void patch64(const std::string& path, uint64_t offset, uint64_t value) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>((value >> (8 * i)) & 0xff));
}
void patch32(const std::string& path, uint64_t offset, uint32_t value) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  for (int i = 0; i < 4; ++i) f.put(static_cast<char>((value >> (8 * i)) & 0xff));
}

// Offset of the first central directory entry of a zip file.
uint64_t central_entry(const std::string& path) {
  const std::string bytes = mednet::testing::read_file(path);
  const size_t p = bytes.find(std::string("PK\x01\x02", 4));
  EXPECT_NE(p, std::string::npos);
  return p;
}

// A .npy of a uint8 vector whose header claims `claimed` elements and holds `held` bytes of data.
std::string npy_claiming(uint64_t claimed, size_t held) {
  std::string text =
      "{'descr': '|u1', 'fortran_order': False, 'shape': (" + std::to_string(claimed) + ",), }\n";
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(text.size() & 0xff);
  out += static_cast<char>(text.size() >> 8);
  return out + text + std::string(held, '\0');
}

}  // namespace

TEST(NpzMemory, AOneGibSplitIsReadStraightIntoItsTensor) {
  if (!reset_peak()) GTEST_SKIP() << "this kernel does not let a process reset its peak memory";
  const std::string dir = mednet::testing::temp_dir("npz_memory");
  const std::vector<int64_t> shape{456521, 28, 28, 3};  // 1.0737e9 bytes, RetinaMNIST's layout
  const double bytes = 456521.0 * 28 * 28 * 3;
  for (ZipMethod method : {ZipMethod::Stored, ZipMethod::Deflate}) {
    const std::string path = dir + "/big.npz";
    mednet::testing::write_patterned_npz(path, "train_images", shape, method);
    const uint64_t before = status_bytes("VmRSS");
    ASSERT_TRUE(reset_peak());
    uint64_t peak = 0;
    {
      const at::Tensor t = NpzReader(path).read("train_images");
      peak = status_bytes("VmHWM");
      ASSERT_EQ(t.sizes().vec(), shape);
      const at::Tensor flat = t.view({-1});
      for (int64_t i : {int64_t{0}, int64_t{250}, int64_t{251}, int64_t{123456789}, flat.numel() - 1})
        EXPECT_EQ(flat[i].item<int64_t>(), i % 251) << "byte " << i;
    }
    const double grew = static_cast<double>(peak) - static_cast<double>(before);
    const char* kind = method == ZipMethod::Stored ? "stored" : "deflate";
    std::printf("%s entry of %.0f bytes: peak resident memory grew by %.0f bytes (%.3fx the array)\n", kind,
                bytes, grew, grew / bytes);
    EXPECT_GE(grew, 0.9 * bytes) << kind << ": the array itself must have been resident";
    EXPECT_LE(grew, 1.2 * bytes) << kind << ": more than the array and small buffers";
    std::filesystem::remove(path);
  }
}

TEST(NpzMemory, ASizeBeyondTheMachinesMemoryIsRefusedBeforeAllocating) {
  const std::string dir = mednet::testing::temp_dir("npz_claim");
  const std::string path = dir + "/claim.npz";
  const uint64_t tib = uint64_t{1} << 40;
  const std::string npy = npy_claiming(tib, 16);
  mednet::testing::write_zip(path, {{"train_images.npy", npy}}, ZipMethod::Deflate, /*zip64=*/true);
  // The zip64 extra field of the central directory entry holds the uncompressed size first.
  const uint64_t header_bytes = npy.size() - 16;
  patch64(path, central_entry(path) + 46 + std::string("train_images.npy").size() + 4, header_bytes + tib);
  const std::string e = read_error(path, "train_images");
  EXPECT_NE(e.find("claim.npz:train_images.npy: the array needs 1024.00 GiB of memory, but only"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("available"), std::string::npos) << e;
}

TEST(NpzMemory, ADeflateStreamLongerThanItsDeclaredSizeIsStoppedThere) {
  const std::string dir = mednet::testing::temp_dir("npz_bomb");
  const std::string path = dir + "/bomb.npz";
  // 256 MB of zeros after a header that claims 1000 bytes: about 250 KB deflated.
  const std::string npy = npy_claiming(1000, size_t{256} << 20);
  mednet::testing::write_zip(path, {{"train_images.npy", npy}}, ZipMethod::Deflate);
  const uint64_t declared = npy.size() - (size_t{256} << 20) + 1000;
  patch32(path, central_entry(path) + 24, static_cast<uint32_t>(declared));
  const uint64_t before = status_bytes("VmRSS");
  const bool measured = reset_peak();
  const std::string e = read_error(path, "train_images");
  EXPECT_NE(e.find("bomb.npz:train_images.npy: corrupt or truncated deflate data (zlib: size mismatch)"),
            std::string::npos)
      << e;
  if (measured) {
    const uint64_t peak = status_bytes("VmHWM");
    EXPECT_LT(peak - std::min(peak, before), uint64_t{16} << 20)
        << "the reader inflated past the declared size";
  }
}
