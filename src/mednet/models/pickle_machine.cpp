#include "mednet/models/pickle_machine.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"

namespace mednet::models::pickle {

namespace {

// Containers nest at most this deep (a state dict's metadata is 3 deep): deeper is damage, and it
// bounds the recursion of freeing the values.
constexpr int kMaxDepth = 32;

const std::map<std::string, at::ScalarType>& storage_types() {
  static const std::map<std::string, at::ScalarType> types = {
      {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort}, {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},   {"torch.BoolStorage", at::kBool}};
  return types;
}

// LibTorch's own archives (torch::save of a module or an optimizer) hold objects of the class it names
// "__torch__.Module", mangled to "__torch__.___torch_mangle_N.Module" for each further one: plain
// holders of attributes, read as such (their TorchScript code is never read).
bool archive_class(const std::string& name) {
  const std::string mangle = "__torch__.___torch_mangle_", end = ".Module";
  if (name == "__torch__.Module") return true;
  if (name.size() <= mangle.size() + end.size() || name.compare(0, mangle.size(), mangle) != 0 ||
      name.compare(name.size() - end.size(), end.size(), end) != 0)
    return false;
  const std::string n = name.substr(mangle.size(), name.size() - mangle.size() - end.size());
  return n.size() <= 9 && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool allowed_global(const std::string& name) {
  return name == "collections.OrderedDict" || name == "torch._utils._rebuild_tensor_v2" ||
         name == "torch._utils._rebuild_parameter" || name == "torch.jit._pickle.restore_type_tag" ||
         storage_types().count(name) > 0 || archive_class(name);
}

class Unpickler {
 public:
  Unpickler(const char* data, size_t size, const StorageRecords& records, const std::string& what)
      : data_(data), size_(size), records_(records), what_(what) {}

  ValuePtr run() {
    while (pos_ < size_) {
      const unsigned char op = static_cast<unsigned char>(data_[pos_++]);
      if (op == '.') {  // STOP
        MN_CHECK(stack_.size() == 1 && marks_.empty(), what_, " ends with ", stack_.size(),
                 " values on its stack instead of one");
        return stack_.back();
      }
      step(op);
    }
    fail("ends without STOP");
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(
        detail::concat(what_, " ", why, " (at byte ", pos_, "): it is damaged or not a file of tensors"));
  }
  const char* take(size_t n) {
    if (n > size_ - pos_) fail("is truncated");
    const char* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t le(size_t n) {
    const char* p = take(n);
    uint64_t v = 0;
    for (size_t k = n; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(p[k]);
    return v;
  }
  ValuePtr make(Value::Kind k) { return std::make_shared<Value>(k); }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  ValuePtr pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("pops past a MARK or an empty stack");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) fail("has no MARK to pop to");
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  ValuePtr& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("reads past a MARK or an empty stack");
    return stack_.back();
  }
  // Puts child into parent: the child is sealed and the parent's depth checked.
  void adopt(Value& parent, const ValuePtr& child) {
    if (child.get() == &parent) fail("puts a container into itself");
    child->sealed = true;
    parent.depth = std::max(parent.depth, child->depth + 1);
    if (parent.depth > kMaxDepth) fail("nests containers deeper than " + std::to_string(kMaxDepth));
  }
  Value& mutable_container(Value::Kind kind) {
    Value& c = *top();
    if (c.kind != kind)
      fail(kind == Value::Kind::Dict ? "sets an item on something not a dict"
                                     : "appends to something not a list");
    if (c.sealed) fail("changes a container after it was used");
    return c;
  }
  ValuePtr tuple(std::vector<ValuePtr> items) {
    ValuePtr t = make(Value::Kind::Tuple);
    for (const auto& v : items) adopt(*t, v);
    t->items = std::move(items);
    return t;
  }
  int64_t integer(const ValuePtr& v, const char* name) {
    if (v->kind != Value::Kind::Int) fail(std::string("has a ") + name + " that is not an integer");
    return v->number;
  }
  std::vector<int64_t> integers(const ValuePtr& v, const char* name) {
    if (v->kind != Value::Kind::Tuple) fail(std::string("has a ") + name + " that is not a tuple");
    std::vector<int64_t> out;
    for (const auto& i : v->items) {
      out.push_back(integer(i, name));
      if (out.back() < 0) fail(std::string("has a negative ") + name);
    }
    return out;
  }

  void memo_put(uint64_t slot) {
    if (slot > size_) fail("stores into a memo slot past its own size");
    memo_[slot] = top();
  }
  void memo_get(uint64_t slot) {
    const auto it = memo_.find(slot);
    if (it == memo_.end()) fail("reads a memo slot nothing was stored in");
    push(it->second);
  }

  ValuePtr persistent_load(const ValuePtr& pid) {
    // ('storage', torch.FloatStorage, key, location, numel)
    if (pid->kind != Value::Kind::Tuple || pid->items.size() != 5 || pid->items[0]->text != "storage" ||
        pid->items[1]->kind != Value::Kind::Global || pid->items[2]->kind != Value::Kind::String)
      fail("has a persistent id that is not a storage");
    const auto type = storage_types().find(pid->items[1]->text);
    if (type == storage_types().end()) fail("names storage type " + pid->items[1]->text);
    const std::string& key = pid->items[2]->text;
    const int64_t numel = integer(pid->items[4], "storage size");
    std::shared_ptr<const std::string> bytes = records_(key);
    const uint64_t element = c10::elementSize(type->second);
    if (numel < 0 || static_cast<uint64_t>(numel) > bytes->size() / element)
      fail("declares storage '" + key + "' of " + std::to_string(numel) + " elements in a record of " +
           std::to_string(bytes->size()) + " bytes");
    ValuePtr s = make(Value::Kind::Storage);
    s->dtype = type->second;
    s->number = numel;
    s->bytes = std::move(bytes);
    return s;
  }

  // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]).
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args) {
    if (args.size() < 4 || args[0]->kind != Value::Kind::Storage) fail("rebuilds a tensor without a storage");
    const Value& storage = *args[0];
    const int64_t offset = integer(args[1], "storage offset");
    const std::vector<int64_t> sizes = integers(args[2], "tensor size"),
                               strides = integers(args[3], "stride");
    if (offset < 0 || sizes.size() != strides.size() || sizes.size() > 64) fail("has a bad tensor layout");
    ValuePtr t = make(Value::Kind::Tensor);
    if (std::find(sizes.begin(), sizes.end(), 0) != sizes.end()) {
      t->tensor = torch::empty(sizes, torch::TensorOptions().dtype(storage.dtype));
      return t;
    }
    // The tensor's elements, and the last one it reads (counted from the storage's start), lie inside
    // its storage. Each sum stays below 2^63 before a product below 2^126 is added: no overflow.
    const uint64_t n = static_cast<uint64_t>(storage.number);
    unsigned __int128 last = static_cast<uint64_t>(offset), numel = 1;
    for (size_t d = 0; d < sizes.size() && last < n && numel <= n; ++d) {
      numel *= static_cast<uint64_t>(sizes[d]);
      last += static_cast<unsigned __int128>(sizes[d] - 1) * static_cast<uint64_t>(strides[d]);
    }
    if (numel > n || last >= n) fail("has a tensor that reads past the end of its storage record");
    at::Tensor base = torch::from_blob(const_cast<char*>(storage.bytes->data()), {storage.number},
                                       torch::TensorOptions().dtype(storage.dtype));
    t->tensor = base.as_strided(sizes, strides, offset).clone(at::MemoryFormat::Contiguous);
    return t;
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    if (callable->kind != Value::Kind::Global || args->kind != Value::Kind::Tuple)
      fail("calls something that is not an allowed global");
    const std::string& f = callable->text;
    const auto& a = args->items;
    if (f == "collections.OrderedDict") {
      if (!a.empty()) fail("builds an OrderedDict from arguments");
      return make(Value::Kind::Dict);
    }
    if (f == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(a);
    if (f == "torch._utils._rebuild_parameter" || f == "torch.jit._pickle.restore_type_tag") {
      if (a.empty()) fail("calls " + f + " without arguments");
      if (f == "torch._utils._rebuild_parameter" && a[0]->kind != Value::Kind::Tensor)
        fail("rebuilds a parameter from something not a tensor");
      return a[0];
    }
    fail("calls " + f);
  }

  void step(unsigned char op) {
    switch (op) {
      case 0x80:  // PROTO
        if (static_cast<unsigned char>(*take(1)) > 5) fail("has an unknown pickle protocol");
        return;
      case 0x95:  // FRAME (protocol 4): a length hint
        take(8);
        return;
      case 'c': {  // GLOBAL module\nname\n
        const char* end = data_ + size_;
        const char* a = std::find(data_ + pos_, end, '\n');
        const char* b = a == end ? end : std::find(a + 1, end, '\n');
        if (b == end) fail("has a bad GLOBAL");
        ValuePtr g = make(Value::Kind::Global);
        g->text = std::string(data_ + pos_, a) + "." + std::string(a + 1, b);
        pos_ = static_cast<size_t>(b - data_) + 1;
        MN_CHECK(allowed_global(g->text), what_, " names ", core::escape_bytes(g->text),
                 ", which a state dict does not need; it is not read (only tensors, storages and "
                 "OrderedDict are)");
        push(g);
        return;
      }
      case 'q':
        return memo_put(le(1));  // BINPUT
      case 'r':
        return memo_put(le(4));  // LONG_BINPUT
      case 0x94:
        return memo_put(memo_.size());  // MEMOIZE
      case 'h':
        return memo_get(le(1));  // BINGET
      case 'j':
        return memo_get(le(4));  // LONG_BINGET
      case 'N':
        return push(make(Value::Kind::None));
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        ValuePtr b = make(Value::Kind::Bool);
        b->number = op == 0x88;
        return push(b);
      }
      case 'K':    // BININT1
      case 'M':    // BININT2
      case 'J': {  // BININT (signed)
        ValuePtr i = make(Value::Kind::Int);
        i->number = op == 'K'   ? static_cast<int64_t>(le(1))
                    : op == 'M' ? static_cast<int64_t>(le(2))
                                : static_cast<int64_t>(static_cast<int32_t>(le(4)));
        return push(i);
      }
      case 0x8a: {  // LONG1: n little-endian two's-complement bytes
        const size_t n = static_cast<unsigned char>(*take(1));
        if (n > 8) fail("has an integer wider than 64 bits");
        ValuePtr i = make(Value::Kind::Int);
        uint64_t v = n ? le(n) : 0;
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        i->number = static_cast<int64_t>(v);
        return push(i);
      }
      case 'G': {  // BINFLOAT, big-endian
        const char* p = take(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<unsigned char>(p[k]);
        ValuePtr f = make(Value::Kind::Float);
        std::memcpy(&f->real, &bits, 8);
        return push(f);
      }
      case 'X':     // BINUNICODE
      case 'T':     // BINSTRING
      case 'B':     // BINBYTES
      case 'U':     // SHORT_BINSTRING
      case 'C':     // SHORT_BINBYTES
      case 0x8c: {  // SHORT_BINUNICODE
        const size_t n = (op == 'U' || op == 'C' || op == 0x8c) ? le(1) : le(4);
        ValuePtr s = make(Value::Kind::String);
        s->text.assign(take(n), n);
        return push(s);
      }
      case ')':
        return push(make(Value::Kind::Tuple));  // EMPTY_TUPLE
      case ']':
        return push(make(Value::Kind::List));  // EMPTY_LIST
      case '}':
        return push(make(Value::Kind::Dict));  // EMPTY_DICT
      case '(':                                // MARK
        marks_.push_back(stack_.size());
        return;
      case 't':
        return push(tuple(pop_mark()));  // TUPLE
      case 0x85:                         // TUPLE1
      case 0x86:                         // TUPLE2
      case 0x87: {                       // TUPLE3
        std::vector<ValuePtr> items(static_cast<size_t>(op - 0x84));
        for (size_t k = items.size(); k-- > 0;) items[k] = pop();
        return push(tuple(std::move(items)));
      }
      case 'a': {  // APPEND
        ValuePtr v = pop();
        Value& list = mutable_container(Value::Kind::List);
        adopt(list, v);
        list.items.push_back(std::move(v));
        return;
      }
      case 'e': {  // APPENDS
        std::vector<ValuePtr> items = pop_mark();
        Value& list = mutable_container(Value::Kind::List);
        for (auto& v : items) {
          adopt(list, v);
          list.items.push_back(std::move(v));
        }
        return;
      }
      case 's': {  // SETITEM
        ValuePtr v = pop(), k = pop();
        Value& dict = mutable_container(Value::Kind::Dict);
        adopt(dict, k);
        adopt(dict, v);
        dict.entries.emplace_back(std::move(k), std::move(v));
        return;
      }
      case 'u': {  // SETITEMS
        std::vector<ValuePtr> items = pop_mark();
        if (items.size() % 2) fail("has a SETITEMS with a key but no value");
        Value& dict = mutable_container(Value::Kind::Dict);
        for (size_t k = 0; k < items.size(); k += 2) {
          adopt(dict, items[k]);
          adopt(dict, items[k + 1]);
          dict.entries.emplace_back(std::move(items[k]), std::move(items[k + 1]));
        }
        return;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls), for an archive's attribute holders only
        ValuePtr args = pop(), cls = pop();
        if (cls->kind != Value::Kind::Global || !archive_class(cls->text) ||
            args->kind != Value::Kind::Tuple || !args->items.empty())
          fail("creates an object that is not an archive's attribute holder");
        ValuePtr o = make(Value::Kind::Object);
        o->text = cls->text;
        return push(o);
      }
      case 'b': {  // BUILD: an object's attributes; an OrderedDict's (its _metadata) are not needed
        ValuePtr state = pop();
        Value& target = *top();
        if (target.kind == Value::Kind::Object) {
          if (target.sealed || target.built) fail("sets an object's attributes twice or after it was used");
          if (state->kind != Value::Kind::Dict) fail("sets an object's attributes from something not a dict");
          adopt(target, state);
          target.entries = state->entries;
          target.built = true;
          return;
        }
        if (target.kind != Value::Kind::Dict && target.kind != Value::Kind::Tensor)
          fail("sets attributes on something not a dict, tensor or object");
        return;
      }
      case 'R': {  // REDUCE
        ValuePtr args = pop(), callable = pop();
        return push(reduce(callable, args));
      }
      case 'Q':
        return push(persistent_load(pop()));  // BINPERSID
      case '0':                               // POP
        pop();
        return;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("uses pickle opcode ") + hex + ", which a state dict does not need");
      }
    }
  }

  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  const StorageRecords& records_;
  const std::string& what_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, ValuePtr> memo_;
};

}  // namespace

ValuePtr unpickle(const char* data, size_t size, const StorageRecords& records, const std::string& what) {
  return Unpickler(data, size, records, what).run();
}

}  // namespace mednet::models::pickle
