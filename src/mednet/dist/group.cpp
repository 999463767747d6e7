#include "mednet/dist/group.h"

#include <algorithm>
#include <cstdlib>
#include <functional>

#include <torch/torch.h>

#include "mednet/build_config.h"
#include "mednet/core/error.h"

#if MEDNET_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace mednet::dist {

#if MEDNET_HAVE_GLOO

namespace {
// c10d::ProcessGroup::Work in LibTorch 1.13, c10d::Work in 2.x: whatever allreduce returns.
using WorkPtr =
    decltype(std::declval<c10d::ProcessGroup&>().allreduce(std::declval<std::vector<at::Tensor>&>()));
}  // namespace

struct Group::Impl {
  int rank = 0, size = 1;
  std::string backend;
  std::chrono::seconds timeout{300};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;

  /// Runs a collective; any failure becomes one error naming this rank and the likely cause.
  void run(const char* what, const std::function<void()>& f) const {
    try {
      f();
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
      MN_CHECK(false, "rank ", rank, " of ", size, ": ", what, " failed: another worker of the job died or ",
               "could not be reached within ", timeout.count(), " s (--dist-timeout) (", msg.substr(0, 300),
               ")");
    }
  }
};

struct Group::Pending::Work {
  WorkPtr work;
  const Group::Impl* impl = nullptr;
};

Group::Pending::Pending() = default;
Group::Pending::~Pending() = default;
Group::Pending::Pending(Pending&&) noexcept = default;
Group::Pending& Group::Pending::operator=(Pending&&) noexcept = default;
bool Group::Pending::valid() const {
  return work_ != nullptr;
}
void Group::Pending::wait() {
  if (!work_) return;
  work_->impl->run("an all-reduce of gradients", [&] { work_->work->wait(); });
  work_.reset();
}

bool available() {
  return true;
}

std::shared_ptr<Group> Group::connect(const DistEnv& env, const GroupOptions& o, const c10::Device& device) {
  auto impl = std::make_unique<Impl>();
  impl->rank = env.rank;
  impl->size = env.world_size;
  impl->timeout = o.timeout;
  std::string backend = o.backend;
  if (backend == "auto") backend = device.is_cuda() ? "nccl" : "gloo";
#ifndef USE_C10D_NCCL
  if (backend == "nccl" && o.backend == "auto") backend = "gloo";
#endif
  MN_CHECK_USAGE(backend == "gloo" || backend == "nccl", "--dist-backend must be auto, gloo or nccl, got '",
                 o.backend, "'");
  impl->backend = backend;
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env.master_port);
    so.isServer = env.rank == 0;
    so.numWorkers = env.world_size;
    so.waitWorkers = true;
    so.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    MN_CHECK(false, "rank ", env.rank, " of ", env.world_size, ": cannot reach the job's master at ",
             env.master_addr, ":", env.master_port, " (MASTER_ADDR, MASTER_PORT) within ", o.timeout.count(),
             " s: ", std::string(e.what()).substr(0, 300));
  }
  impl->run("joining the process group", [&] {
    if (backend == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create();
      opts->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      const bool loopback = env.master_addr.rfind("127.", 0) == 0 || env.master_addr == "localhost";
      if (ifname != nullptr && *ifname != '\0') {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (loopback) {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, opts);
    } else {
#ifdef USE_C10D_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
      impl->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, env.rank, env.world_size, opts);
#else
      MN_CHECK_USAGE(false, "--dist-backend nccl: this LibTorch has no NCCL (use gloo)");
#endif
    }
  });
  return std::shared_ptr<Group>(new Group(std::move(impl)));
}

Group::Group(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Group::~Group() = default;

int Group::rank() const {
  return impl_->rank;
}
int Group::size() const {
  return impl_->size;
}
const std::string& Group::backend() const {
  return impl_->backend;
}
std::chrono::seconds Group::timeout() const {
  return impl_->timeout;
}

void Group::allreduce_sum(at::Tensor& t) {
  impl_->run("an all-reduce", [&] {
    std::vector<at::Tensor> v{t};
    impl_->pg->allreduce(v)->wait();
  });
}

Group::Pending Group::allreduce_sum_async(at::Tensor& t) {
  Pending p;
  p.work_ = std::make_unique<Pending::Work>();
  p.work_->impl = impl_.get();
  impl_->run("starting an all-reduce", [&] {
    std::vector<at::Tensor> v{t};
    p.work_->work = impl_->pg->allreduce(v);
  });
  return p;
}

void Group::broadcast(at::Tensor& t, int root) {
  impl_->run("a broadcast", [&] {
    std::vector<at::Tensor> v{t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    impl_->pg->broadcast(v, o)->wait();
  });
}

void Group::broadcast_bytes(std::string& bytes, int root) {
  at::Tensor n = torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong);
  broadcast(n, root);
  const int64_t len = n.item<int64_t>();
  at::Tensor buf = torch::empty({std::max<int64_t>(len, 1)}, torch::kUInt8);
  if (rank() == root && len > 0) std::memcpy(buf.data_ptr(), bytes.data(), static_cast<size_t>(len));
  broadcast(buf, root);
  bytes.assign(static_cast<const char*>(buf.data_ptr()), static_cast<size_t>(len));
}

at::Tensor Group::gather_rows(const at::Tensor& local) {
  const at::Tensor x = local.contiguous();
  std::vector<at::Tensor> counts_out(static_cast<size_t>(size()));
  for (auto& c : counts_out) c = torch::zeros({1}, torch::kLong);
  std::vector<std::vector<at::Tensor>> cout{counts_out};
  std::vector<at::Tensor> cin{torch::tensor({x.size(0)}, torch::kLong)};
  impl_->run("gathering row counts", [&] { impl_->pg->allgather(cout, cin)->wait(); });
  int64_t most = 0;
  for (const auto& c : cout[0]) most = std::max(most, c.item<int64_t>());
  std::vector<int64_t> shape = x.sizes().vec();
  shape[0] = most;
  at::Tensor padded = torch::zeros(shape, x.options());
  if (x.size(0) > 0) padded.narrow(0, 0, x.size(0)).copy_(x);
  std::vector<at::Tensor> parts(static_cast<size_t>(size()));
  for (auto& p : parts) p = torch::empty(shape, x.options());
  std::vector<std::vector<at::Tensor>> out{parts};
  std::vector<at::Tensor> in{padded};
  impl_->run("gathering rows", [&] { impl_->pg->allgather(out, in)->wait(); });
  std::vector<at::Tensor> rows;
  for (size_t r = 0; r < out[0].size(); ++r)
    rows.push_back(out[0][r].narrow(0, 0, cout[0][r].item<int64_t>()));
  return torch::cat(rows);
}

void Group::barrier() {
  impl_->run("a barrier", [&] { impl_->pg->barrier()->wait(); });
}

#else

struct Group::Impl {};
struct Group::Pending::Work {};
Group::Pending::Pending() = default;
Group::Pending::~Pending() = default;
Group::Pending::Pending(Pending&&) noexcept = default;
Group::Pending& Group::Pending::operator=(Pending&&) noexcept = default;
bool Group::Pending::valid() const {
  return false;
}
void Group::Pending::wait() {}

bool available() {
  return false;
}

std::shared_ptr<Group> Group::connect(const DistEnv&, const GroupOptions&, const c10::Device&) {
  MN_CHECK(false,
           "this mednet was built without distributed training (LibTorch's c10d Gloo headers or "
           "libgloo-dev were not found when it was configured)");
  return nullptr;
}
Group::Group(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Group::~Group() = default;
int Group::rank() const {
  return 0;
}
int Group::size() const {
  return 1;
}
const std::string& Group::backend() const {
  static const std::string none = "none";
  return none;
}
std::chrono::seconds Group::timeout() const {
  return std::chrono::seconds(0);
}
void Group::allreduce_sum(at::Tensor&) {}
Group::Pending Group::allreduce_sum_async(at::Tensor&) {
  return {};
}
void Group::broadcast(at::Tensor&, int) {}
void Group::broadcast_bytes(std::string&, int) {}
at::Tensor Group::gather_rows(const at::Tensor& local) {
  return local;
}
void Group::barrier() {}

#endif

}  // namespace mednet::dist
