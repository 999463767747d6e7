// The 3D half of corruption_registry.h: TorchIO's artifacts at five severities and their random draws.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "mednet/augment/artifacts_3d.h"
#include "mednet/augment/corruption_registry.h"
#include "mednet/core/error.h"

namespace mednet::augment {
namespace {

CorruptionSpec artifact(std::string name, std::string kind, std::vector<std::vector<double>> p) {
  return {std::move(name), std::move(kind), std::move(p), true};
}

struct Draws {
  explicit Draws(uint64_t seed) : gen(at::detail::createCPUGenerator(seed)) {}
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * at::rand({1}, gen, torch::kDouble).item<double>();
  }
  int axis() { return std::min(2, static_cast<int>(uniform(0, 3))); }
  at::Generator gen;
};

}  // namespace

const std::vector<CorruptionSpec>& volume_artifacts() {
  static const std::vector<CorruptionSpec> list{
      artifact("gaussian_noise", "volume_noise", {{0.025}, {0.05}, {0.1}, {0.15}, {0.2}}),
      artifact("gaussian_blur", "volume_blur", {{0.4}, {0.6}, {0.8}, {1.0}, {1.5}}),
      artifact("bias_field", "volume_bias_field", {{0.1}, {0.2}, {0.3}, {0.4}, {0.5}}),
      artifact("ghosting", "volume_ghosting", {{4, 0.3}, {4, 0.5}, {6, 0.7}, {8, 0.85}, {10, 1.0}}),
      artifact("motion", "volume_motion", {{2, 0.5, 1}, {4, 1, 2}, {6, 1.5, 2}, {8, 2, 3}, {10, 3, 4}}),
      artifact("spike", "volume_spike", {{1, 0.05}, {1, 0.1}, {2, 0.15}, {2, 0.25}, {3, 0.35}}),
      artifact("anisotropy", "volume_anisotropy", {{1.5}, {2}, {3}, {4}, {5}}),
      artifact("gamma", "volume_gamma", {{0.1}, {0.2}, {0.3}, {0.4}, {0.5}})};
  return list;
}

at::Tensor corrupt_volume(const CorruptionSpec& c, int severity, const at::Tensor& unit, uint64_t seed,
                          std::vector<double>* drawn) {
  const std::vector<double> p = parameters_at(c, severity, static_cast<int>(unit.size(-1)));
  Draws d(seed);
  std::vector<double> record;
  at::Tensor out;
  if (c.kind == "volume_noise") {
    out = volume_noise(unit, p[0], seed);
  } else if (c.kind == "volume_blur") {
    out = volume_blur(unit, p[0]);
  } else if (c.kind == "volume_bias_field") {
    for (int i = 0; i < 20; ++i) record.push_back(d.uniform(-p[0], p[0]));  // order 3: 20 coefficients
    out = volume_bias_field(unit, record, 3);
  } else if (c.kind == "volume_ghosting") {
    const int axis = d.axis();
    record = {static_cast<double>(axis)};
    out = volume_ghosting(unit, static_cast<int>(p[0]), axis, p[1]);
  } else if (c.kind == "volume_motion") {
    const int n = static_cast<int>(p[2]), axis = d.axis();
    const double step = 1.0 / (n + 1);
    std::vector<RigidMotion> motions(static_cast<size_t>(n));
    record = {static_cast<double>(axis)};
    for (int i = 0; i < n; ++i) {
      RigidMotion& m = motions[static_cast<size_t>(i)];
      for (double& v : m.degrees) record.push_back(v = d.uniform(-p[0], p[0]));
      for (double& v : m.translation) record.push_back(v = d.uniform(-p[1], p[1]));
      record.push_back(m.time = step * (i + 1) + d.uniform(-0.3 * step, 0.3 * step));
    }
    out = volume_motion(unit, motions, axis);
  } else if (c.kind == "volume_spike") {
    std::vector<std::array<double, 3>> positions(static_cast<size_t>(p[0]));
    for (auto& pos : positions)
      for (double& v : pos) record.push_back(v = d.uniform(0, 1));
    out = volume_spike(unit, positions, p[1]);
  } else if (c.kind == "volume_anisotropy") {
    const int axis = d.axis();
    record = {static_cast<double>(axis)};
    out = volume_anisotropy(unit, axis, p[0]);
  } else if (c.kind == "volume_gamma") {
    const double g = std::exp(d.uniform(0, 1) < 0.5 ? -p[0] : p[0]);
    record = {g};
    out = volume_gamma(unit, g);
  } else {
    MN_CHECK(false, c.name, ": not a 3D artifact (kind '", c.kind, "')");
  }
  if (drawn) *drawn = record;
  return out;
}

}  // namespace mednet::augment
