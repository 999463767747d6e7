#pragma once
// Picture files as uint8 tensors [C, H, W] (C = 1 for gray, 3 for colour): PNG (libpng; 16-bit
// scaled to 8, alpha composited on black and dropped, palettes expanded), with its writer, and JPEG
// (libjpeg), with its encoder. A damaged or truncated file is an error naming it.
#include <string>

#include <ATen/core/Tensor.h>

namespace mednet::data {

at::Tensor read_png(const std::string& path);
/// chw: uint8 [1, H, W] or [3, H, W].
void write_png(const std::string& path, const at::Tensor& chw);
/// The PNG file write_png writes, as bytes.
std::string encode_png(const at::Tensor& chw);
at::Tensor read_jpeg(const std::string& path);
/// A JPEG file's bytes as an image; name goes into the error message.
at::Tensor decode_jpeg(const std::string& bytes, const std::string& name);
/// chw (uint8 [1 or 3, H, W]) as baseline JPEG at quality 1..100 with libjpeg's defaults (4:2:0 chroma,
/// the integer DCT): the file PIL's Image.save(..., "JPEG", quality=q) writes.
std::string encode_jpeg(const at::Tensor& chw, int quality);

}  // namespace mednet::data
