#pragma once
// A distributed job's process group: PyTorch's c10d (Gloo on CPU, NCCL on CUDA builds that have it)
// reached through a TCPStore at MASTER_ADDR:MASTER_PORT. Every collective either completes or ends
// with an error naming this rank and the timeout: a worker that died or cannot be reached never
// leaves the others waiting forever.
#include <chrono>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "mednet/dist/env.h"

namespace mednet::dist {

/// True when this build has c10d with Gloo (the headers were found at configure time).
bool available();

struct GroupOptions {
  std::string backend = "auto";  ///< auto (nccl on CUDA when built in, else gloo) | gloo | nccl
  std::chrono::seconds timeout{300};
};

class Group {
 public:
  /// Joins the job described by env; waits up to the timeout for every rank.
  static std::shared_ptr<Group> connect(const DistEnv& env, const GroupOptions& options,
                                        const c10::Device& device);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const;
  int size() const;
  bool is_main() const { return rank() == 0; }
  const std::string& backend() const;
  std::chrono::seconds timeout() const;

  /// In place, summed over ranks.
  void allreduce_sum(at::Tensor& t);
  /// In place, root's values on every rank.
  void broadcast(at::Tensor& t, int root = 0);
  /// root's bytes on every rank (any length).
  void broadcast_bytes(std::string& bytes, int root = 0);
  /// Every rank's rows ([n_r, ...], n_r may differ) concatenated in rank order, on every rank.
  at::Tensor gather_rows(const at::Tensor& local);
  void barrier();

  /// An allreduce (sum) running in the background; wait() blocks until it is done.
  class Pending {
   public:
    Pending();
    ~Pending();
    Pending(Pending&&) noexcept;
    Pending& operator=(Pending&&) noexcept;
    void wait();
    bool valid() const;

   private:
    friend class Group;
    struct Work;
    std::unique_ptr<Work> work_;
  };
  Pending allreduce_sum_async(at::Tensor& t);

 private:
  struct Impl;
  explicit Group(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mednet::dist
