#include "mednet/core/runtime.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <string>
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

int set_threads(int n, const c10::Device& device) {
  if (n <= 0) n = device.is_cuda() ? 2 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return at::get_num_threads();
}

bool gpu_lever(const std::string& name) {
  const char* off = std::getenv("MEDNET_GPU_LEVERS_OFF");
  return !off || (std::string(",") + off + ",").find("," + name + ",") == std::string::npos;
}

at::Tensor conv_layout(const at::Tensor& x) {
  if (!x.defined() || !gpu_lever("channels-last")) return x;
  // Measured (bench/gpu_levers.sh, bench/compare.sh): faster on the CPU in 2-D and 3-D, and on an H200
  // in 3-D; slower there for the 2-D CNN, so 2-D on a GPU stays as it is.
  // Fewer than 8 channels stay as they are: oneDNN's channels-last convolutions on such maps corrupted
  // the heap on an AVX2 CPU (a ResNet-18 of width 4 in training). Pictures (1 or 3 channels) stay too;
  // the first convolution with 8 or more outputs then sets the layout of the maps after it.
  if (x.dim() >= 4 && x.size(1) < 8) return x;
  if (x.dim() == 4 && !x.is_cuda()) return x.contiguous(at::MemoryFormat::ChannelsLast);
  if (x.dim() == 5) return x.contiguous(at::MemoryFormat::ChannelsLast3d);
  return x;
}

at::Tensor upload(const at::Tensor& host, const c10::Device& device) {
  if (host.device() == device) return host;
  if (!device.is_cuda() || !host.device().is_cpu() || !gpu_lever("async-upload")) return host.to(device);
  return host.pin_memory().to(device, /*non_blocking=*/true);
}

void configure_for_device(const c10::Device& device) {
  if (!device.is_cuda()) return;
  const bool benchmark = gpu_lever("cudnn-benchmark");
  at::globalContext().setBenchmarkCuDNN(benchmark);
  at::globalContext().setDeterministicCuDNN(!benchmark);
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

uint64_t available_memory() {
  uint64_t best = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit) {
    if (key == "MemAvailable:") {
      best = kb * 1024;
      break;
    }
  }
  // cgroup v2: the limit (or "max") less the group's anonymous memory (its page cache can be
  // reclaimed, so it does not count as taken).
  std::ifstream max_file("/sys/fs/cgroup/memory.max"), stat_file("/sys/fs/cgroup/memory.stat");
  std::string max_text;
  if (max_file >> max_text && !max_text.empty() &&
      max_text.find_first_not_of("0123456789") == std::string::npos && max_text.size() < 20) {
    uint64_t anon = 0, value = 0;
    while (stat_file >> key >> value) {
      if (key == "anon") {
        anon = value;
        break;
      }
    }
    const uint64_t limit = std::stoull(max_text);
    const uint64_t left = limit > anon ? limit - anon : 0;
    best = best == 0 ? left : std::min(best, left);
  }
  return best;
}

void keep_freed_memory() {
  // Large blocks come from the heap instead of fresh mmaps, and the heap is never trimmed.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, -1);
  mallopt(M_TOP_PAD, 64 << 20);
}

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  const long page = sysconf(_SC_PAGESIZE);
  return statm >> size >> resident && page > 0 ? resident * page : 0;
}

int64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
}

void bound_server_memory() {
  // A long-running server: a few arenas shared by its many connection threads, large blocks mapped and
  // returned, the heap trimmed, so that resident memory follows the load instead of its high-water mark.
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  mallopt(M_TOP_PAD, 1 << 20);
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
