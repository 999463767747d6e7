#include "mednet/core/runtime.h"

#include <malloc.h>

#include <atomic>
#include <csignal>
#include <thread>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include "mednet/core/error.h"

namespace mednet::core {

namespace {
std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int) {
  g_interrupted.store(true);
}
}  // namespace

int set_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return at::get_num_threads();
}

c10::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    MN_CHECK_USAGE(torch::cuda::is_available(), "--device ", name,
                   " asked for, but this build or machine has no CUDA device (use --device cpu or auto)");
    return c10::Device(name);
  }
  MN_CHECK_USAGE(false, "unknown device '", name, "': expected auto, cpu or cuda");
  return c10::Device(c10::kCPU);
}

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
}

void keep_freed_memory() {
  // Large blocks come from the heap instead of fresh mmaps, and the heap is never trimmed.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, -1);
  mallopt(M_TOP_PAD, 64 << 20);
}

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() {
  return g_interrupted.load();
}
void clear_interrupt() {
  g_interrupted.store(false);
}
void request_interrupt() {
  g_interrupted.store(true);
}

}  // namespace mednet::core
