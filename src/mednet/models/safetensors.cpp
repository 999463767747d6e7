#include "mednet/models/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <tuple>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"

namespace mednet::models {

namespace {

const std::map<std::string, std::pair<at::ScalarType, size_t>>& safetensors_dtypes() {
  static const std::map<std::string, std::pair<at::ScalarType, size_t>> dtypes = {
      {"F32", {at::kFloat, 4}},  {"F16", {at::kHalf, 2}}, {"BF16", {at::kBFloat16, 2}},
      {"F64", {at::kDouble, 8}}, {"I8", {at::kChar, 1}},  {"U8", {at::kByte, 1}},
      {"I32", {at::kInt, 4}},    {"I64", {at::kLong, 8}}};
  return dtypes;
}

}  // namespace

TensorFile parse_safetensors(const std::string& bytes, const std::string& path) {
  MN_CHECK(bytes.size() >= 8, path, " is not a safetensors file: ", bytes.size(), " bytes");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
  MN_CHECK(header_len <= bytes.size() - 8, path, " is truncated or not a safetensors file (header of ",
           header_len, " bytes in a ", bytes.size(), "-byte file)");
  const nlohmann::json header =
      core::parse_json(bytes.substr(8, header_len), path + " (its safetensors header)", /*damaged=*/true);
  MN_CHECK(header.is_object(), path, ": the safetensors header is not an object");
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_len = bytes.size() - data_start;
  const auto& dtypes = safetensors_dtypes();
  TensorFile file;
  // The header is a JSON object (unordered); keep the file's order by data offset.
  std::vector<std::tuple<uint64_t, std::string, at::Tensor>> entries;
  for (const auto& item : header.items()) {
    try {
      if (item.key() == "__metadata__") {
        for (const auto& m : item.value().items()) file.metadata[m.key()] = m.value().get<std::string>();
        continue;
      }
      const auto& e = item.value();
      const std::string dtype = e.at("dtype").get<std::string>();
      const auto it = dtypes.find(dtype);
      MN_CHECK(it != dtypes.end(), path, ": tensor '", core::escape_bytes(item.key()), "' has dtype ",
               core::escape_bytes(dtype), " (F32, F16, BF16, F64, I8, U8, I32 and I64 are read)");
      const auto shape = e.at("shape").get<std::vector<int64_t>>();
      const auto offsets = e.at("data_offsets").get<std::vector<uint64_t>>();
      MN_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1], path, ": tensor '",
               core::escape_bytes(item.key()), "' has bad data_offsets");
      uint64_t numel = 1;
      for (int64_t d : shape) {
        MN_CHECK(d >= 0 && (d == 0 || numel <= data_len / static_cast<uint64_t>(d)), path, ": tensor '",
                 core::escape_bytes(item.key()), "' has shape ", shape_string(shape),
                 " (larger than the file)");
        numel *= static_cast<uint64_t>(d);
      }
      MN_CHECK(offsets[1] - offsets[0] == numel * it->second.second, path, ": tensor '",
               core::escape_bytes(item.key()), "' has ", offsets[1] - offsets[0], " bytes for shape ",
               shape_string(shape));
      MN_CHECK(offsets[1] <= data_len, path, " is truncated: tensor '", core::escape_bytes(item.key()),
               "' ends at byte ", data_start + offsets[1], " of a ", bytes.size(), "-byte file");
      at::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(it->second.first));
      std::memcpy(t.data_ptr(), bytes.data() + data_start + offsets[0], offsets[1] - offsets[0]);
      entries.emplace_back(offsets[0], item.key(), t);
    } catch (const nlohmann::json::exception& ex) {
      MN_CHECK(false, path, ": bad safetensors entry '", core::escape_bytes(item.key()),
               "': ", core::escape_bytes(ex.what()));
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  for (auto& [offset, name, t] : entries) file.tensors.emplace_back(name, t);
  check_finite(file.tensors, path);
  return file;
}

TensorFile read_safetensors_file(const std::string& path) {
  MN_CHECK_USAGE(std::filesystem::is_regular_file(path), "weights file ", path, " does not exist");
  return parse_safetensors(core::read_file(path), path);
}

StateDict read_safetensors(const std::string& path) {
  TensorFile file = read_safetensors_file(path);
  for (auto& [name, t] : file.tensors) {
    MN_CHECK(t.is_floating_point(), path, ": tensor '", name, "' has dtype ", t.scalar_type(),
             " (only F32, F16, BF16 and F64 are read as weights)");
    t = t.to(at::kFloat);
  }
  return std::move(file.tensors);
}

void write_safetensors_to(const core::ByteSink& sink, const StateDict& tensors,
                          const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    MN_CHECK(name != "__metadata__", "cannot write a tensor named __metadata__ as safetensors");
    MN_CHECK(!header.contains(name), "cannot write tensor '", name, "' twice in one safetensors file");
    const at::Tensor c = t.contiguous().cpu();
    std::string dtype;
    for (const auto& [n, d] : safetensors_dtypes())
      if (d.first == c.scalar_type()) dtype = n;
    MN_CHECK(!dtype.empty(), "cannot write tensor '", name, "' of dtype ", c.scalar_type(),
             " as safetensors");
    const uint64_t bytes = static_cast<uint64_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", dtype}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(c);
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  const std::string h = header.dump();
  char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((static_cast<uint64_t>(h.size()) >> (8 * i)) & 0xff);
  sink(len, sizeof len);
  sink(h.data(), h.size());
  for (const at::Tensor& c : data) sink(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size());
}

void write_safetensors(const std::string& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata) {
  core::write_file_atomic(path,
                          [&](const core::ByteSink& sink) { write_safetensors_to(sink, tensors, metadata); });
}

}  // namespace mednet::models
