#include "mednet/data/image_file.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "mednet/build_config.h"
#include "mednet/core/error.h"
#include "mednet/core/fs.h"

#if MEDNET_HAVE_PNG
#include <png.h>
#endif
#if MEDNET_HAVE_JPEG
#include <jpeglib.h>
#endif

namespace mednet::data {

#if MEDNET_HAVE_PNG
at::Tensor read_png(const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  const std::string bytes = core::read_file(path);
  MN_CHECK(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()), path,
           ": not a readable PNG (", image.message, ")");
  const bool colour = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
  image.format = colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;  // alpha is composited on black
  const int64_t channels = colour ? 3 : 1;
  MN_CHECK(image.width > 0 && image.height > 0 && image.width <= 16384 && image.height <= 16384, path,
           ": a PNG of ", image.width, "x", image.height, " pixels is outside 1..16384 per side");
  at::Tensor hwc = torch::empty({image.height, image.width, channels}, torch::kUInt8);
  png_color black{0, 0, 0};
  const bool ok = png_image_finish_read(&image, &black, hwc.data_ptr<uint8_t>(), 0, nullptr);
  const std::string message = image.message;
  png_image_free(&image);
  MN_CHECK(ok, path, ": damaged PNG (", message, ")");
  return hwc.permute({2, 0, 1}).contiguous();
}

namespace {
std::string encode_png_named(const at::Tensor& chw_in, const std::string& path) {
  MN_CHECK(
      chw_in.dim() == 3 && (chw_in.size(0) == 1 || chw_in.size(0) == 3) && chw_in.scalar_type() == at::kByte,
      "write_png ", path, ": needs uint8 [1 or 3, H, W], got ", chw_in.sizes());
  const at::Tensor hwc = chw_in.permute({1, 2, 0}).contiguous();
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(hwc.size(1));
  image.height = static_cast<png_uint_32>(hwc.size(0));
  image.format = hwc.size(2) == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  MN_CHECK(png_image_write_to_memory(&image, nullptr, &size, 0, hwc.data_ptr<uint8_t>(), 0, nullptr), path,
           ": ", image.message);
  std::string bytes(size, '\0');
  MN_CHECK(png_image_write_to_memory(&image, bytes.data(), &size, 0, hwc.data_ptr<uint8_t>(), 0, nullptr),
           path, ": ", image.message);
  bytes.resize(size);
  return bytes;
}
}  // namespace

std::string encode_png(const at::Tensor& chw) {
  return encode_png_named(chw, "(in memory)");
}

void write_png(const std::string& path, const at::Tensor& chw) {
  core::write_file_atomic(path, encode_png_named(chw, path));
}
#else
at::Tensor read_png(const std::string& path) {
  MN_CHECK(false, path, ": this build has no PNG support (configure with libpng-dev)");
  return {};
}
void write_png(const std::string& path, const at::Tensor&) {
  MN_CHECK(false, path, ": this build has no PNG support (configure with libpng-dev)");
}
std::string encode_png(const at::Tensor&) {
  MN_CHECK(false, "this build has no PNG support (configure with libpng-dev)");
  return {};
}
#endif

#if MEDNET_HAVE_JPEG
namespace {

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_jpeg_error(j_common_ptr info) {
  auto* e = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, e->message);
  std::longjmp(e->jump, 1);
}

void quiet(j_common_ptr, int) {}

// The decoder in a plain function: libjpeg reports errors by longjmp, so nothing with a destructor
// lives in this frame; pixels go to the caller's vector. Returns false with message set on error.
bool decode_jpeg_pixels(const std::string& bytes, std::vector<uint8_t>* pixels, int64_t* dims,
                        JpegError* err) {
  jpeg_decompress_struct info{};
  info.err = jpeg_std_error(&err->mgr);
  err->mgr.error_exit = on_jpeg_error;
  err->mgr.emit_message = quiet;  // warnings (a truncated file, say) are counted and checked after
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  info.out_color_space = info.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);
  dims[0] = info.output_height;
  dims[1] = info.output_width;
  dims[2] = info.output_components;
  if (dims[0] < 1 || dims[1] < 1 || dims[0] > 16384 || dims[1] > 16384) {
    std::snprintf(err->message, sizeof err->message, "%lldx%lld pixels is outside 1..16384 per side",
                  static_cast<long long>(dims[1]), static_cast<long long>(dims[0]));
    jpeg_destroy_decompress(&info);
    return false;
  }
  pixels->resize(static_cast<size_t>(dims[0] * dims[1] * dims[2]));
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = pixels->data() + static_cast<int64_t>(info.output_scanline) * dims[1] * dims[2];
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  if (err->mgr.num_warnings != 0) {
    std::snprintf(err->message, sizeof err->message, "damaged or truncated: %ld decoder warnings",
                  err->mgr.num_warnings);
    return false;
  }
  return true;
}

// The encoder, in a plain function for the same reason; rows are [H, W, C] bytes.
bool encode_jpeg_pixels(const uint8_t* rows, int64_t h, int64_t w, int64_t c, int quality,
                        unsigned char** out, unsigned long* out_size, JpegError* err) {
  jpeg_compress_struct info{};
  info.err = jpeg_std_error(&err->mgr);
  err->mgr.error_exit = on_jpeg_error;
  if (setjmp(err->jump)) {
    jpeg_destroy_compress(&info);
    return false;
  }
  jpeg_create_compress(&info);
  jpeg_mem_dest(&info, out, out_size);
  info.image_width = static_cast<JDIMENSION>(w);
  info.image_height = static_cast<JDIMENSION>(h);
  info.input_components = static_cast<int>(c);
  info.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(rows) + static_cast<int64_t>(info.next_scanline) * w * c;
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  return true;
}

}  // namespace

at::Tensor decode_jpeg(const std::string& bytes, const std::string& name) {
  std::vector<uint8_t> pixels;
  int64_t dims[3] = {0, 0, 0};
  JpegError err{};
  MN_CHECK(decode_jpeg_pixels(bytes, &pixels, dims, &err), name, ": not a readable JPEG (", err.message, ")");
  // A copy that owns its bytes: for one channel the permuted view is already contiguous, and contiguous()
  // would hand back a view of `pixels`, freed on return.
  return torch::from_blob(pixels.data(), {dims[0], dims[1], dims[2]}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone(at::MemoryFormat::Contiguous);
}

at::Tensor read_jpeg(const std::string& path) {
  return decode_jpeg(core::read_file(path), path);
}

std::string encode_jpeg(const at::Tensor& chw, int quality) {
  MN_CHECK(chw.dim() == 3 && (chw.size(0) == 1 || chw.size(0) == 3) && chw.scalar_type() == torch::kUInt8,
           "encode_jpeg: expected uint8 [1 or 3, H, W], got ", chw.sizes());
  MN_CHECK(quality >= 1 && quality <= 100, "encode_jpeg: quality ", quality, " is outside 1..100");
  const at::Tensor hwc = chw.permute({1, 2, 0}).contiguous();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  JpegError err{};
  const bool ok = encode_jpeg_pixels(hwc.data_ptr<uint8_t>(), chw.size(1), chw.size(2), chw.size(0), quality,
                                     &out, &size, &err);
  std::string bytes = ok ? std::string(reinterpret_cast<const char*>(out), size) : std::string();
  std::free(out);
  MN_CHECK(ok, "encode_jpeg: ", err.message);
  return bytes;
}
#else
at::Tensor decode_jpeg(const std::string&, const std::string& name) {
  MN_CHECK(false, name, ": this build has no JPEG support (configure with libjpeg-dev)");
  return {};
}
at::Tensor read_jpeg(const std::string& path) {
  return decode_jpeg({}, path);
}
std::string encode_jpeg(const at::Tensor&, int) {
  MN_CHECK(false, "this build has no JPEG support (configure with libjpeg-dev)");
  return {};
}
#endif

}  // namespace mednet::data
