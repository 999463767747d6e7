#include "support/fixtures.h"

#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <torch/torch.h>

#include "mednet/data/catalog.h"
#include "mednet/data/dataset.h"
#include "mednet/data/npy.h"
#include "mednet/experiments/experiment_spec.h"
#include "mednet/train/trainer.h"

namespace mednet::testing {

namespace {

void put16(std::string& s, uint32_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>((v >> 8) & 0xff));
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}
void put64(std::string& s, uint64_t v) {
  put32(s, static_cast<uint32_t>(v));
  put32(s, static_cast<uint32_t>(v >> 32));
}

std::string deflate_raw(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries,
               ZipMethod method, bool zip64) {
  std::string file, central;
  for (const auto& [name, data] : entries) {
    const std::string body = method == ZipMethod::Deflate ? deflate_raw(data) : data;
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const uint16_t m = method == ZipMethod::Deflate ? 8 : 0;
    const uint64_t offset = file.size();
    std::string extra;
    if (zip64) {
      put16(extra, 0x0001);
      put16(extra, 24);
      put64(extra, data.size());
      put64(extra, body.size());
      put64(extra, offset);
    }
    const uint32_t usize = zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(data.size());
    const uint32_t csize = zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(body.size());
    // local header
    put32(file, 0x04034b50);
    put16(file, zip64 ? 45 : 20);
    put16(file, 0);
    put16(file, m);
    put16(file, 0);
    put16(file, 0x21);
    put32(file, crc);
    put32(file, csize);
    put32(file, usize);
    put16(file, static_cast<uint32_t>(name.size()));
    put16(file, static_cast<uint32_t>(extra.size()));
    file += name + extra + body;
    // central directory entry
    put32(central, 0x02014b50);
    put16(central, 45);
    put16(central, zip64 ? 45 : 20);
    put16(central, 0);
    put16(central, m);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, crc);
    put32(central, csize);
    put32(central, usize);
    put16(central, static_cast<uint32_t>(name.size()));
    put16(central, static_cast<uint32_t>(extra.size()));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, 0);
    put32(central, zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(offset));
    central += name + extra;
  }
  const uint64_t cd_offset = file.size();
  file += central;
  put32(file, 0x06054b50);
  put16(file, 0);
  put16(file, 0);
  put16(file, static_cast<uint32_t>(entries.size()));
  put16(file, static_cast<uint32_t>(entries.size()));
  put32(file, static_cast<uint32_t>(central.size()));
  put32(file, static_cast<uint32_t>(cd_offset));
  put16(file, 0);
  std::ofstream out(path, std::ios::binary);
  out << file;
}

void write_patterned_npz(const std::string& path, const std::string& key, const std::vector<int64_t>& shape,
                         ZipMethod method) {
  std::string dims = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    dims += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
  dims += ")";
  std::string text = "{'descr': '|u1', 'fortran_order': False, 'shape': " + dims + ", }";
  text.append((64 - (10 + text.size() + 1) % 64) % 64, ' ');
  text += '\n';
  std::string header("\x93NUMPY\x01\x00", 8);
  put16(header, static_cast<uint32_t>(text.size()));
  header += text;
  uint64_t count = 1;
  for (int64_t d : shape) count *= static_cast<uint64_t>(d);
  const uint64_t total = header.size() + count;
  const std::string name = key + ".npy";
  const uint16_t m = method == ZipMethod::Deflate ? 8 : 0;

  std::ofstream out(path, std::ios::binary);
  std::string local;  // sizes and CRC are patched in once known
  put32(local, 0x04034b50);
  put16(local, 20);
  put16(local, 0);
  put16(local, m);
  put16(local, 0);
  put16(local, 0x21);
  put32(local, 0);
  put32(local, 0);
  put32(local, 0);
  put16(local, static_cast<uint32_t>(name.size()));
  put16(local, 0);
  out << local << name;
  z_stream zs{};
  deflateInit2(&zs, 1, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  uLong crc = crc32(0L, Z_NULL, 0);
  uint64_t written = 0;
  std::string piece, packed(1 << 21, '\0');
  auto emit = [&](const std::string& bytes, bool last) {
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
    if (m == 0) {
      out << bytes;
      written += bytes.size();
      return;
    }
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs.avail_in = static_cast<uInt>(bytes.size());
    do {
      zs.next_out = reinterpret_cast<Bytef*>(packed.data());
      zs.avail_out = static_cast<uInt>(packed.size());
      deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
      const size_t n = packed.size() - zs.avail_out;
      out.write(packed.data(), static_cast<std::streamsize>(n));
      written += n;
    } while (zs.avail_out == 0);
  };
  emit(header, count == 0);
  for (uint64_t off = 0; off < count; off += 1 << 20) {
    const uint64_t len = std::min<uint64_t>(count - off, 1 << 20);
    piece.resize(len);
    for (uint64_t i = 0; i < len; ++i) piece[i] = static_cast<char>((off + i) % 251);
    emit(piece, off + len == count);
  }
  deflateEnd(&zs);
  std::string sizes;
  put32(sizes, static_cast<uint32_t>(crc));
  put32(sizes, static_cast<uint32_t>(written));
  put32(sizes, static_cast<uint32_t>(total));
  std::string central;
  put32(central, 0x02014b50);
  put16(central, 20);
  put16(central, 20);
  put16(central, 0);
  put16(central, m);
  put16(central, 0);
  put16(central, 0x21);
  central += sizes;
  put16(central, static_cast<uint32_t>(name.size()));
  put16(central, 0);
  put16(central, 0);
  put16(central, 0);
  put16(central, 0);
  put32(central, 0);
  put32(central, 0);
  central += name;
  const uint64_t cd_offset = 30 + name.size() + written;
  out << central;
  std::string end;
  put32(end, 0x06054b50);
  put16(end, 0);
  put16(end, 0);
  put16(end, 1);
  put16(end, 1);
  put32(end, static_cast<uint32_t>(central.size()));
  put32(end, static_cast<uint32_t>(cd_offset));
  put16(end, 0);
  out << end;
  out.seekp(14);
  out << sizes;
}

void write_npz(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& arrays,
               ZipMethod method) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [name, t] : arrays) entries.emplace_back(name + ".npy", data::npy_bytes(t));
  write_zip(path, entries, method);
}

void write_fake_medmnist(const std::string& path, const std::string& flag, int64_t n_train, int64_t n_val,
                         int64_t n_test, uint64_t seed) {
  const auto& info = data::find_dataset(flag);
  torch::manual_seed(seed);
  std::vector<std::pair<std::string, at::Tensor>> arrays;
  const std::vector<std::pair<std::string, int64_t>> splits = {
      {"train", n_train}, {"val", n_val}, {"test", n_test}};
  for (const auto& [split, n] : splits) {
    std::vector<int64_t> shape{n};
    for (int d = 0; d < info.spatial_dims(); ++d) shape.push_back(28);
    if (!info.volumetric && info.channels > 1) shape.push_back(info.channels);
    // Each sample's brightness level decides its class (or, for multi-label, which label is on).
    // Classes take turns before shuffling, so every class (and every label) occurs in a split of at
    // least num_outputs samples and per-class AUCs are defined.
    at::Tensor level =
        torch::arange(n, torch::kLong).remainder(info.num_outputs()).index_select(0, torch::randperm(n));
    std::vector<int64_t> bshape{n};
    for (size_t i = 1; i < shape.size(); ++i) bshape.push_back(1);
    at::Tensor base = (level.to(torch::kFloat) * (200.0f / std::max(1, info.num_outputs() - 1))).view(bshape);
    at::Tensor images = (base + torch::randn(shape) * 25.0f).clamp(0, 255).to(torch::kByte);
    at::Tensor labels;
    if (info.task == data::Task::MultiLabel) {
      labels = torch::zeros({n, info.num_outputs()}, torch::kByte);
      labels.scatter_(1, level.view({n, 1}), 1);
    } else {
      labels = level.view({n, 1}).to(torch::kByte);
    }
    arrays.emplace_back(split + "_images", images);
    arrays.emplace_back(split + "_labels", labels);
  }
  write_npz(path, arrays);
}

namespace {
// The folders temp_dir made, removed when the test process ends (MEDNET_KEEP_TEST_DIRS=1 keeps them to
// look at): a suite run leaves nothing behind in the temp dir.
struct MadeTempDirs {
  std::vector<std::filesystem::path> dirs;
  ~MadeTempDirs() {
    if (std::getenv("MEDNET_KEEP_TEST_DIRS")) return;
    for (const auto& d : dirs) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  }
};
}  // namespace

std::string temp_dir(const std::string& tag) {
  static std::mt19937_64 rng(std::random_device{}());
  static MadeTempDirs made;
  auto dir = std::filesystem::temp_directory_path() /
             ("mednet_test_" + tag + "_" + std::to_string(rng() % 1000000007));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  made.dirs.push_back(dir);
  return dir.string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::pair<int, std::string> run_command(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, ""};
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors, bool half) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    const at::Tensor c = t.to(half ? at::kHalf : at::kFloat).contiguous().cpu();
    const size_t bytes = static_cast<size_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", half ? "F16" : "F32"},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {data.size(), data.size() + bytes}}};
    data.append(static_cast<const char*>(c.data_ptr()), bytes);
  }
  header["__metadata__"] = {{"format", "pt"}};
  const std::string h = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(h.size()) >> (8 * i)) & 0xff);
  std::ofstream(path, std::ios::binary) << out << h << data;
}

std::string python_state_dict_pickle() {
  using namespace std::string_literals;
  auto unicode = [](const std::string& s) {
    std::string out = "X";
    for (int k = 0; k < 4; ++k) out += static_cast<char>((s.size() >> (8 * k)) & 0xff);
    return out + s;
  };
  auto tensor = [&](char offset, char size, char stride) {
    return "ctorch._utils\n_rebuild_tensor_v2\n((" + unicode("storage") + "ctorch\nFloatStorage\n" +
           unicode("0") + unicode("cpu") + "K\x06tQK" + offset + "K" + size + "\x85K" + stride + "\x85\x89" +
           "ccollections\nOrderedDict\n)RtR";
  };
  std::string pkl =
      "\x80\x02"
      "ccollections\nOrderedDict\nq\x00)Rq\x01("s;
  pkl += unicode("b") + tensor(1, 2, 2) + unicode("a") + tensor(0, 6, 1) + unicode("n") + "K\x07";
  pkl += "u}" + unicode("_metadata") + "h\x00)R"s + unicode("") + "}" + unicode("version") + "K\x01sssb.";
  return pkl;
}

std::string tiny_trained_run(const std::string& root, const std::string& flag,
                             const std::function<void(run::TrainConfig&)>& adjust) {
  std::filesystem::create_directories(root);
  write_fake_medmnist(root + "/" + flag + ".npz", flag, 40, 10, 12);
  run::TrainConfig c;
  c.dataset = flag;
  c.root = root;
  c.epochs = 1;
  c.batch_size = 16;
  c.device = "cpu";
  c.model.name = "cnn";
  c.model.widths = {4};
  c.model.hidden = {4};
  if (adjust) adjust(c);
  const std::string dir = root + "/run";
  const data::MedMnist m = data::open_medmnist(data::find_dataset(flag), 28, root, nullptr, false);
  train::Trainer t(c, m, dir, c10::Device(c10::kCPU));
  train::TrainObserver quiet;
  t.run(quiet);
  return dir;
}

std::string real_retina_cnn_run(const std::string& root, int epochs, const std::string& tag) {
  const experiments::ExperimentSpec e =
      experiments::load_experiment(MEDNET_SOURCE_DIR "/experiments/exp2a_cnn2d_retina.json");
  run::TrainConfig c = experiments::arm_config(e, experiments::find_arm(e, "no-augmentation"), 0);
  c.epochs = epochs;
  c.patience = 0;
  c.device = "cpu";
  c.root = root;
  const std::string dir = temp_dir(tag);
  const data::MedMnist m = data::open_medmnist(data::find_dataset("retinamnist"), 28, root);
  train::Trainer t(c, m, dir, c10::Device(c10::kCPU));
  train::TrainObserver quiet;
  if (t.run(quiet).epochs_run != epochs)
    throw std::runtime_error("real_retina_cnn_run: the run stopped early");
  return dir;
}

void randomize_batch_norm(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& b : m.named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.2, 0.2);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
  }
  for (auto& p : m.named_parameters()) {
    if (p.key().find("bn") == std::string::npos && p.key().find("downsample.1") == std::string::npos)
      continue;
    if (p.key().find("weight") != std::string::npos) p.value().uniform_(0.3, 1.0);
    if (p.key().find("bias") != std::string::npos) p.value().uniform_(-0.2, 0.2);
  }
}

}  // namespace mednet::testing
