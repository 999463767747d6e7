#pragma once
// Process-wide settings: threads, device, seeding, allocator behaviour, interrupt flag.
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace mednet::core {

/// Sets LibTorch's intra-op threads; n <= 0 means every core on the CPU and 2 for work on a GPU (the
/// host only launches kernels there, and several runs can share the machine). Returns the count in force.
int set_threads(int n, const c10::Device& device = c10::Device(c10::kCPU));

/// Resolves "auto" | "cpu" | "cuda" (or "cuda:N") to a device; "cuda" without CUDA is an error.
c10::Device resolve_device(const std::string& name);

/// Seeds LibTorch's generators (CPU and CUDA) and makes CPU kernels deterministic where possible.
void seed_everything(uint64_t seed);

/// A host tensor on the device without making the host wait for the device's queue: on CUDA it is
/// staged in pinned memory and copied asynchronously (a plain copy from pageable memory waits for
/// every kernel queued before it); on the CPU the tensor itself.
at::Tensor upload(const at::Tensor& host, const c10::Device& device);

/// The per-process choices for fast training on a CUDA device: cuDNN autotuning of the fixed-shape
/// steps (not bitwise reproducible; lever "cudnn-benchmark"). No effect on the CPU.
void configure_for_device(const c10::Device& device);

/// Whether a speed lever is on: all are, unless named in MEDNET_GPU_LEVERS_OFF (a comma list of
/// resident, defer-loss, foreach-adam, cudnn-benchmark, async-upload, async-checkpoint and channels-last),
/// which benchmarks use to measure what each one gives (bench/gpu_levers.sh, bench/compare.sh).
bool gpu_lever(const std::string& name);

/// x in the layout convolutions run fastest in (lever "channels-last"): channels-last for a 5-D tensor
/// (NDHWC) and for a 4-D one on the CPU (NHWC) with at least 8 channels (dimension 1), else x itself.
/// The values are the same either way; only the strides differ.
at::Tensor conv_layout(const at::Tensor& x);

/// Bytes of memory this process can still take: the smaller of the system's MemAvailable and what
/// its cgroup's memory.max leaves; 0 when neither can be read.
uint64_t available_memory();

/// Keeps freed memory in the process: these VMs are slow to touch fresh pages, and training frees and
/// reallocates the same large buffers every step.
void keep_freed_memory();
/// The opposite policy, for `mednet serve`: few malloc arenas, large blocks mapped, the heap trimmed.
void bound_server_memory();

/// The process's resident memory now, in bytes (/proc/self/statm); 0 when unknown.
int64_t resident_bytes();
/// The machine's physical memory in bytes; 0 when unknown.
int64_t physical_memory_bytes();

/// Installs a SIGINT/SIGTERM handler that only raises a flag; long loops poll interrupted().
void install_interrupt_handler();
bool interrupted();
void clear_interrupt();
/// Raises the flag as a signal would (tests, and programmatic stops).
void request_interrupt();

}  // namespace mednet::core
