#pragma once
// The bytes LibTorch's CPU tensors hold, counted exactly while a TensorMemoryCounter lives: it puts a
// counting allocator in front of the CPU allocator and takes it away again. Tensors allocated meanwhile
// are counted until they are freed, even after the counter is gone. One counter at a time.
#include <cstdint>

namespace mednet::core {

class TensorMemoryCounter {
 public:
  TensorMemoryCounter();
  ~TensorMemoryCounter();
  TensorMemoryCounter(const TensorMemoryCounter&) = delete;
  TensorMemoryCounter& operator=(const TensorMemoryCounter&) = delete;

  /// Bytes allocated through a counter and not yet freed (differences of it are what count).
  int64_t now() const;
  /// The most `now()` has been since the counter began or since reset_peak.
  int64_t peak() const;
  void reset_peak();
};

}  // namespace mednet::core
