#pragma once
// Process-wide settings: threads, device, seeding, allocator behaviour, interrupt flag.
#include <cstdint>
#include <string>

#include <c10/core/Device.h>

namespace mednet::core {

/// Sets LibTorch's intra-op threads; n <= 0 means every core. Returns the count in force.
int set_threads(int n);

/// Resolves "auto" | "cpu" | "cuda" (or "cuda:N") to a device; "cuda" without CUDA is an error.
c10::Device resolve_device(const std::string& name);

/// Seeds LibTorch's generators (CPU and CUDA) and makes CPU kernels deterministic where possible.
void seed_everything(uint64_t seed);

/// Keeps freed memory in the process: these VMs are slow to touch fresh pages, and training frees and
/// reallocates the same large buffers every step.
void keep_freed_memory();

/// Installs a SIGINT/SIGTERM handler that only raises a flag; long loops poll interrupted().
void install_interrupt_handler();
bool interrupted();
void clear_interrupt();
/// Raises the flag as a signal would (tests, and programmatic stops).
void request_interrupt();

}  // namespace mednet::core
