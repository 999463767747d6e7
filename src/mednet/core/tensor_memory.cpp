#include "mednet/core/tensor_memory.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <c10/core/CPUAllocator.h>

#include "mednet/core/error.h"

namespace mednet::core {

namespace {

// Forwards to the allocator it replaced. A block's context is its data pointer (raw_allocate callers need
// that), so the block's size and the inner allocation live in a table keyed by it.
class CountingAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    c10::DataPtr inner = base->allocate(n);
    void* data = inner.get();
    if (n == 0 || data == nullptr) return inner;  // nothing to count
    const c10::Device device = inner.device();
    {
      const std::lock_guard<std::mutex> lock(mutex);
      blocks.emplace(data, Block{std::move(inner), n});
    }
    const int64_t now_bytes = now.fetch_add(static_cast<int64_t>(n)) + static_cast<int64_t>(n);
    int64_t seen = peak.load();
    while (now_bytes > seen && !peak.compare_exchange_weak(seen, now_bytes)) {
    }
    return {data, data, &release, device};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  // PyTorch 2's Allocator asks for this; LibTorch 1.13's does not know it.
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  c10::Allocator* base = nullptr;
  mutable std::atomic<int64_t> now{0}, peak{0};
  std::atomic<bool> in_use{false};

 private:
  struct Block {
    c10::DataPtr inner;
    size_t bytes = 0;
  };
  static void release(void* data);
  mutable std::mutex mutex;
  mutable std::unordered_map<void*, Block> blocks;
};

CountingAllocator& counting() {
  static CountingAllocator* a = new CountingAllocator;  // never destroyed: it outlives every block it made
  return *a;
}

void CountingAllocator::release(void* data) {
  CountingAllocator& a = counting();
  Block b;
  {
    const std::lock_guard<std::mutex> lock(a.mutex);
    auto it = a.blocks.find(data);
    if (it == a.blocks.end()) return;
    b = std::move(it->second);
    a.blocks.erase(it);
  }
  a.now.fetch_sub(static_cast<int64_t>(b.bytes));
}  // b.inner frees the memory here

// SetCPUAllocator only replaces an allocator of the same or a lower priority.
constexpr uint8_t kPriority = 100;

}  // namespace

TensorMemoryCounter::TensorMemoryCounter() {
  CountingAllocator& a = counting();
  MN_CHECK(!a.in_use.exchange(true), "one TensorMemoryCounter at a time");
  a.base = c10::GetCPUAllocator();
  a.peak = a.now.load();
  c10::SetCPUAllocator(&a, kPriority);
}

TensorMemoryCounter::~TensorMemoryCounter() {
  CountingAllocator& a = counting();
  c10::SetCPUAllocator(a.base, kPriority);
  a.in_use = false;
}

int64_t TensorMemoryCounter::now() const {
  return counting().now.load();
}

int64_t TensorMemoryCounter::peak() const {
  return counting().peak.load();
}

void TensorMemoryCounter::reset_peak() {
  counting().peak = counting().now.load();
}

}  // namespace mednet::core
