#include "mednet/models/weights.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/unpickler.h>
#include <torch/serialize.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/train/checkpoint.h"

namespace mednet::models {

namespace {

std::string read_bytes(const std::string& path) {
  MN_CHECK_USAGE(std::filesystem::is_regular_file(path), "weights file ", path, " does not exist");
  std::ifstream in(path, std::ios::binary);
  MN_CHECK(in, "cannot open ", path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string shape_str(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

namespace {

const std::map<std::string, std::pair<at::ScalarType, size_t>>& safetensors_dtypes() {
  static const std::map<std::string, std::pair<at::ScalarType, size_t>> dtypes = {
      {"F32", {at::kFloat, 4}},  {"F16", {at::kHalf, 2}}, {"BF16", {at::kBFloat16, 2}},
      {"F64", {at::kDouble, 8}}, {"I8", {at::kChar, 1}},  {"U8", {at::kByte, 1}},
      {"I32", {at::kInt, 4}},    {"I64", {at::kLong, 8}}};
  return dtypes;
}

}  // namespace

TensorFile read_safetensors_file(const std::string& path) {
  const std::string bytes = read_bytes(path);
  MN_CHECK(bytes.size() >= 8, path, " is not a safetensors file: ", bytes.size(), " bytes");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
  MN_CHECK(header_len <= bytes.size() - 8, path, " is truncated or not a safetensors file (header of ",
           header_len, " bytes in a ", bytes.size(), "-byte file)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, header_len));
  } catch (const nlohmann::json::exception& e) {
    MN_CHECK(false, path, " has an unreadable safetensors header: ", e.what());
  }
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
      MN_CHECK(it != dtypes.end(), path, ": tensor '", item.key(), "' has dtype ", dtype,
               " (F32, F16, BF16, F64, I8, U8, I32 and I64 are read)");
      const auto shape = e.at("shape").get<std::vector<int64_t>>();
      const auto offsets = e.at("data_offsets").get<std::vector<uint64_t>>();
      MN_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1], path, ": tensor '", item.key(),
               "' has bad data_offsets");
      int64_t numel = 1;
      for (int64_t d : shape) numel *= d;
      MN_CHECK(offsets[1] - offsets[0] == static_cast<uint64_t>(numel) * it->second.second, path,
               ": tensor '", item.key(), "' has ", offsets[1] - offsets[0], " bytes for shape ",
               shape_str(shape));
      MN_CHECK(offsets[1] <= data_len, path, " is truncated: tensor '", item.key(), "' ends at byte ",
               data_start + offsets[1], " of a ", bytes.size(), "-byte file");
      at::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(it->second.first));
      std::memcpy(t.data_ptr(), bytes.data() + data_start + offsets[0], offsets[1] - offsets[0]);
      entries.emplace_back(offsets[0], item.key(), t);
    } catch (const nlohmann::json::exception& ex) {
      MN_CHECK(false, path, ": bad safetensors entry '", item.key(), "': ", ex.what());
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  for (auto& [offset, name, t] : entries) file.tensors.emplace_back(name, t);
  return file;
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

void write_safetensors(const std::string& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    const at::Tensor c = t.contiguous().cpu();
    std::string dtype;
    for (const auto& [n, d] : safetensors_dtypes())
      if (d.first == c.scalar_type()) dtype = n;
    MN_CHECK(!dtype.empty(), "cannot write tensor '", name, "' of dtype ", c.scalar_type(),
             " as safetensors");
    const size_t bytes = static_cast<size_t>(c.numel()) * c.element_size();
    header[name] = {
        {"dtype", dtype}, {"shape", c.sizes().vec()}, {"data_offsets", {data.size(), data.size() + bytes}}};
    data.append(static_cast<const char*>(c.data_ptr()), bytes);
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  const std::string h = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(h.size()) >> (8 * i)) & 0xff);
  out += h;
  out += data;
  train::write_file_atomic(path, out);
}

namespace {

// LibTorch's C++ unpickler turns every collections.OrderedDict into None (it only expects one as the
// unused backward-hooks argument of a tensor), but torch.save(model.state_dict()) pickles an
// OrderedDict with a _metadata attribute. This pass rewrites the pickle so that OrderedDict() is a
// plain dict and attribute state (BUILD) is dropped; everything else is copied as it is.
std::string plain_dict_pickle(const char* data, size_t size, const std::string& path) {
  // The C++ unpickler also lacks SETITEM (one key-value pair, which Python writes for dicts of one
  // item) and POP, so a model of the stack keeps where each item's bytes start: SETITEM becomes MARK
  // (put before the key) ... SETITEMS, and BUILD's state is cut out of the stream.
  struct Item {
    size_t start;
    bool mark;
  };
  std::vector<Item> stack;
  std::string out;
  out.reserve(size);
  size_t i = 0;
  std::vector<uint32_t> ordered_dict_memo;  // memo slots holding the OrderedDict class
  bool pending_class = false;               // OrderedDict is "on the stack" (emitted as nothing)
  auto fail = [&](const char* why) { MN_CHECK(false, path, ": data.pkl ", why); };
  auto need = [&](size_t n) {
    if (i + n > size) fail("is truncated");
  };
  auto le = [&](size_t at, int bytes) {
    uint32_t v = 0;
    for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(data[at + k]);
    return v;
  };
  auto pop = [&](size_t n) {
    if (stack.size() < n) fail("pops an empty stack");
    const size_t start = stack[stack.size() - n].start;
    for (const Item* it = &stack[stack.size() - n]; it != stack.data() + stack.size(); ++it)
      if (it->mark) fail("has a MARK where an item was expected");
    stack.resize(stack.size() - n);
    return start;
  };
  auto pop_to_mark = [&]() {
    while (!stack.empty() && !stack.back().mark) stack.pop_back();
    if (stack.empty()) fail("has no MARK to pop to");
    const size_t start = stack.back().start;
    stack.pop_back();
    return start;
  };
  // Copies an opcode with an argument of n bytes and pushes its value.
  auto push_copy = [&](size_t at, size_t n) {
    need(n);
    i += n;
    stack.push_back({out.size(), false});
    out.append(data + at, i - at);
  };
  while (i < size) {
    const unsigned char op = static_cast<unsigned char>(data[i]);
    const size_t at = i++;
    switch (op) {
      case 0x80:  // PROTO
        need(1);
        ++i;
        out.append(data + at, 2);
        break;
      case 'c': {  // GLOBAL module\nname\n
        const char* end = data + size;
        const char* a = std::find(data + i, end, '\n');
        const char* b = a == end ? end : std::find(a + 1, end, '\n');
        if (b == end) fail("has a bad GLOBAL");
        const std::string module(data + i, a), name(a + 1, b);
        i = static_cast<size_t>(b - data) + 1;
        if (module == "collections" && name == "OrderedDict") {
          pending_class = true;
        } else {
          stack.push_back({out.size(), false});
          out.append(data + at, i - at);
        }
        break;
      }
      case 'q':    // BINPUT
      case 'r': {  // LONG_BINPUT
        const int n = op == 'q' ? 1 : 4;
        need(n);
        if (pending_class) {
          ordered_dict_memo.push_back(le(i, n));
        } else {
          out.append(data + at, 1 + n);
        }
        i += n;
        break;
      }
      case 'h':    // BINGET
      case 'j': {  // LONG_BINGET
        const int n = op == 'h' ? 1 : 4;
        need(n);
        const uint32_t slot = le(i, n);
        if (std::find(ordered_dict_memo.begin(), ordered_dict_memo.end(), slot) != ordered_dict_memo.end()) {
          pending_class = true;
          i += n;
        } else {
          push_copy(at, n);
        }
        break;
      }
      case ')':  // EMPTY_TUPLE
        if (!pending_class) {
          stack.push_back({out.size(), false});
          out += ')';
        }
        break;
      case 'R':               // REDUCE
        if (pending_class) {  // OrderedDict() -> {}
          stack.push_back({out.size(), false});
          out += '}';
          pending_class = false;
        } else {
          stack.push_back({pop(2), false});
          out += 'R';
        }
        break;
      case 'b':  // BUILD: drop the attribute state (_metadata) by erasing its bytes; keep the object
        out.resize(pop(1));
        break;
      case 's': {  // SETITEM -> MARK before the key, then SETITEMS
        const size_t key_start = pop(2);
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(key_start), '(');
        out += 'u';
        break;
      }
      case 'K':  // BININT1
        push_copy(at, 1);
        break;
      case 'M':  // BININT2
        push_copy(at, 2);
        break;
      case 'J':  // BININT
        push_copy(at, 4);
        break;
      case 'G':  // BINFLOAT
        push_copy(at, 8);
        break;
      case 'U':     // SHORT_BINSTRING
      case 'C':     // SHORT_BINBYTES
      case 0x8a: {  // LONG1
        need(1);
        push_copy(at, 1 + static_cast<unsigned char>(data[i]));
        break;
      }
      case 'X':    // BINUNICODE
      case 'T':    // BINSTRING
      case 'B': {  // BINBYTES
        need(4);
        push_copy(at, 4 + static_cast<size_t>(le(i, 4)));
        break;
      }
      case '}':   // EMPTY_DICT
      case ']':   // EMPTY_LIST
      case 'N':   // NONE
      case 0x88:  // NEWTRUE
      case 0x89:  // NEWFALSE
        stack.push_back({out.size(), false});
        out += static_cast<char>(op);
        break;
      case '(':  // MARK
        stack.push_back({out.size(), true});
        out += '(';
        break;
      case 't':  // TUPLE
        stack.push_back({pop_to_mark(), false});
        out += 't';
        break;
      case 0x85:  // TUPLE1
      case 0x86:  // TUPLE2
      case 0x87:  // TUPLE3
        stack.push_back({pop(static_cast<size_t>(op - 0x84)), false});
        out += static_cast<char>(op);
        break;
      case 'u':  // SETITEMS
      case 'e':  // APPENDS
        pop_to_mark();
        out += static_cast<char>(op);
        break;
      case 'a':  // APPEND
      case '0':  // POP
        pop(1);
        out += static_cast<char>(op);
        break;
      case 'Q':  // BINPERSID
        stack.push_back({pop(1), false});
        out += 'Q';
        break;
      case 0x81:  // NEWOBJ
        stack.push_back({pop(2), false});
        out += static_cast<char>(op);
        break;
      case '.':  // STOP
        out += '.';
        return out;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        MN_CHECK(false, path, ": data.pkl uses pickle opcode ", hex, ", which this reader does not handle");
      }
    }
    if (pending_class && op != 'c' && op != 'q' && op != 'r' && op != 'h' && op != 'j' && op != ')')
      fail("uses OrderedDict in an unexpected way");
  }
  fail("ends without STOP");
  return out;
}

}  // namespace

StateDict read_torch_zip(const std::string& path) {
  MN_CHECK_USAGE(std::filesystem::is_regular_file(path), "weights file ", path, " does not exist");
  c10::IValue v;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    const auto [pkl, pkl_size] = reader.getRecord("data.pkl");
    const std::string pickle = plain_dict_pickle(static_cast<const char*>(pkl.get()), pkl_size, path);
    size_t pos = 0;
    auto read = [&](char* buf, size_t n) {
      const size_t k = std::min(n, pickle.size() - pos);
      std::memcpy(buf, pickle.data() + pos, k);
      pos += k;
      return k;
    };
    auto record = [&](const std::string& name) { return std::get<0>(reader.getRecord("data/" + name)); };
    torch::jit::Unpickler unpickler(read, nullptr, nullptr, record, c10::Device(c10::kCPU));
    unpickler.set_version(reader.version());
    v = unpickler.parse_ivalue();
  } catch (const c10::Error& e) {
    MN_CHECK(false, path,
             " is not a readable torch.save file (zip format) or is truncated: ", e.what_without_backtrace());
  }
  MN_CHECK(v.isGenericDict(), path, " holds a ", v.tagKind(), ", not a state dict (name -> tensor)");
  StateDict out;
  for (const auto& item : v.toGenericDict()) {
    MN_CHECK(item.key().isString(), path, ": a state dict key is not a string");
    if (!item.value().isTensor()) continue;
    out.emplace_back(item.key().toStringRef(), item.value().toTensor().to(at::kFloat));
  }
  return out;
}

StateDict read_state_dict(const std::string& path) {
  // Only the magic number: the reader chosen reads the (possibly 500 MB) file itself.
  MN_CHECK_USAGE(std::filesystem::is_regular_file(path), "weights file ", path, " does not exist");
  char magic[4] = {0, 0, 0, 0};
  std::ifstream(path, std::ios::binary).read(magic, 4);
  if (std::string(magic, 4) == std::string("PK\x03\x04", 4)) return read_torch_zip(path);
  return read_safetensors(path);
}

StateDict state_dict(const torch::nn::Module& model) {
  StateDict out;
  for (const auto& p : model.named_parameters()) out.emplace_back(p.key(), p.value().detach().cpu());
  for (const auto& b : model.named_buffers()) out.emplace_back(b.key(), b.value().detach().cpu());
  return out;
}

LoadReport load_weights(torch::nn::Module& model, const StateDict& weights, const std::string& head_prefix,
                        bool load_head, const std::string& source) {
  std::map<std::string, at::Tensor> file(weights.begin(), weights.end());
  std::vector<std::pair<std::string, at::Tensor>> targets;
  for (const auto& p : model.named_parameters()) targets.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers()) targets.emplace_back(b.key(), b.value());

  LoadReport report;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // checked first, copied after
  for (const auto& [name, target] : targets) {
    const bool head = name.rfind(head_prefix, 0) == 0;
    const auto it = file.find(name);
    if (head) {
      if (load_head && it != file.end() && it->second.sizes() == target.sizes()) {
        copies.emplace_back(target, it->second);
        report.loaded.push_back(name);
      } else {
        report.kept.push_back(name);
      }
      continue;
    }
    MN_CHECK(it != file.end(), "key '", name, "' is missing from ", source, " (it has ", weights.size(),
             " tensors; is it the right architecture?)");
    MN_CHECK(it->second.sizes() == target.sizes(), "key '", name, "' has shape ",
             shape_str(it->second.sizes()), " in ", source, ", the model expects ",
             shape_str(target.sizes()));
    copies.emplace_back(target, it->second);
    report.loaded.push_back(name);
  }
  std::map<std::string, bool> known;
  for (const auto& t : targets) known[t.first] = true;
  for (const auto& w : weights)
    if (!known.count(w.first)) report.ignored.push_back(w.first);

  torch::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(value.to(target.device(), target.scalar_type()));
  return report;
}

}  // namespace mednet::models
