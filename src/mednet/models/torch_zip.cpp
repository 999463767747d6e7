#include "mednet/models/torch_zip.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/unpickler.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/npy.h"

namespace mednet::models {

namespace {

// LibTorch's C++ unpickler turns every collections.OrderedDict into None (it only expects one as the
// unused backward-hooks argument of a tensor), but torch.save(model.state_dict()) pickles an
// OrderedDict with a _metadata attribute. This pass rewrites the pickle so that OrderedDict() is a
// plain dict and attribute state (BUILD) is dropped; everything else is copied as it is.
// The globals a state dict's pickle names, as PyTorch's weights_only unpickler allows them: the
// tensor and parameter rebuilders, the typed storages, OrderedDict, and the type tag LibTorch's own
// pickler puts on typed dicts. Anything else is refused before the unpickler sees it.
bool allowed_global(const std::string& module, const std::string& name) {
  static const std::set<std::string> storages = {
      "FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
      "IntStorage",   "ShortStorage",  "CharStorage", "ByteStorage",     "BoolStorage"};
  if (module == "collections") return name == "OrderedDict";
  if (module == "torch._utils") return name == "_rebuild_tensor_v2" || name == "_rebuild_parameter";
  if (module == "torch") return storages.count(name) > 0;
  if (module == "torch.jit._pickle") return name == "restore_type_tag";
  return false;
}

// Bytes a tensor reads from its storage's start: its last element's end.
uint64_t extent_bytes(const at::Tensor& t) {
  if (t.numel() == 0) return 0;
  uint64_t last = static_cast<uint64_t>(t.storage_offset());
  for (int64_t d = 0; d < t.dim(); ++d) last += static_cast<uint64_t>((t.size(d) - 1) * t.stride(d));
  return (last + 1) * t.element_size();
}

// LibTorch's reader allocates each record at the size the zip directory declares: a claim the file cannot
// back (a stored record larger than the file, a deflate record past deflate's 1032:1 ratio) or more than
// the memory available is refused before anything is read.
void check_record_claims(const std::string& path) {
  const data::NpzReader zip(path);
  const uint64_t available = core::available_memory();
  for (const auto& e : zip.entries()) {
    const bool fits = e.method == 0
                          ? e.uncompressed <= zip.file_size() && e.compressed == e.uncompressed
                          : e.compressed <= zip.file_size() && e.uncompressed / 1032 <= e.compressed;
    MN_CHECK(fits, path, ": record '", e.name, "' claims ", e.uncompressed, " bytes (", e.compressed,
             " stored) in a ", zip.file_size(), "-byte file: the file is damaged");
    MN_CHECK(available == 0 || e.uncompressed <= available, path, ": record '", e.name, "' needs ",
             e.uncompressed, " bytes, more than the ", available, " bytes of memory available");
  }
}

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
  std::set<uint32_t> stored_slots;          // every memo slot a BINPUT has filled
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
        MN_CHECK(allowed_global(module, name), path, ": data.pkl names ", module, ".", name,
                 ", which a state dict does not need; it is not read (only tensors, storages and "
                 "OrderedDict are)");
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
        // The unpickler sizes its memo to the largest slot: a pickle numbers its slots from 0, so a
        // slot past the pickle's own size is damage (a 4-byte slot could ask for 64 GB).
        if (le(i, n) >= size) fail("stores into a memo slot past its own size");
        stored_slots.insert(le(i, n));
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
        // LibTorch's unpickler ends the process on a slot it never stored (a throw inside noexcept code).
        if (!stored_slots.count(slot)) fail("reads a memo slot nothing was stored in");
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
  check_record_claims(path);
  c10::IValue v;
  std::map<const void*, uint64_t> record_bytes;
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
    // Each storage record's size, by where its bytes are: every tensor must lie within its record.
    auto record = [&](const std::string& name) {
      auto [ptr, bytes] = reader.getRecord("data/" + name);
      record_bytes[ptr.get()] = bytes;
      return std::move(ptr);
    };
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
    const at::Tensor& t = item.value().toTensor();
    const auto rec = record_bytes.find(t.storage().data());
    MN_CHECK(
        rec != record_bytes.end() && extent_bytes(t) <= rec->second && t.storage().nbytes() <= rec->second,
        path, ": tensor '", item.key().toStringRef(), "' (", t.sizes(), ", ", t.scalar_type(),
        ") needs more bytes than its storage record holds (",
        rec == record_bytes.end() ? uint64_t{0} : rec->second, "): the file is damaged");
    out.emplace_back(item.key().toStringRef(), t.to(at::kFloat));
  }
  return out;
}

}  // namespace mednet::models
