#pragma once
// Picture files as uint8 tensors [C, H, W] (C = 1 for gray, 3 for colour): PNG (libpng; 16-bit
// scaled to 8, alpha composited on black and dropped, palettes expanded), with its writer, and JPEG
// (libjpeg, read only). A damaged or truncated file is an error naming it.
#include <string>

#include <ATen/core/Tensor.h>

namespace mednet::data {

at::Tensor read_png(const std::string& path);
/// chw: uint8 [1, H, W] or [3, H, W].
void write_png(const std::string& path, const at::Tensor& chw);
/// The PNG file write_png writes, as bytes.
std::string encode_png(const at::Tensor& chw);
at::Tensor read_jpeg(const std::string& path);

}  // namespace mednet::data
