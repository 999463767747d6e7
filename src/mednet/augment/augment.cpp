#include "mednet/augment/augment.h"

#include <array>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/augment/corruption_registry.h"
#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"

namespace mednet::augment {

using nlohmann::json;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Keys each type accepts besides "type" and "p".
const std::set<std::string>& keys_of(const std::string& type) {
  static const std::map<std::string, std::set<std::string>> keys{
      {"rotate", {"degrees"}},   {"flip", {"axes"}},
      {"scale", {"min", "max"}}, {"translate", {"fraction"}},
      {"brightness", {"delta"}}, {"contrast", {"delta"}},
      {"noise", {"std"}},        {"corrupt", {"set", "severity"}}};
  auto it = keys.find(type);
  MN_CHECK_USAGE(it != keys.end(), "unknown augmentation '", type,
                 "'; valid: ", core::join(transform_types(), ", "));
  return it->second;
}

template <typename T>
void take(const json& j, const char* key, T& field) {
  core::take(j, key, field, "augmentation key");
}

using Matrix = std::array<std::array<double, 4>, 3>;  // rows of [A | t], up to 3 spatial dims

Matrix identity() {
  Matrix m{};
  for (int i = 0; i < 3; ++i) m[i][i] = 1;
  return m;
}

// a * b for affine maps (the 4th column is the translation).
Matrix compose(const Matrix& a, const Matrix& b) {
  Matrix c{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) {
      double s = j == 3 ? a[i][3] : 0;
      for (int k = 0; k < 3; ++k) s += a[i][k] * b[k][j];
      c[i][j] = s;
    }
  }
  return c;
}

Matrix rotation(int axis_a, int axis_b, double radians) {
  Matrix m = identity();
  const double c = std::cos(radians), s = std::sin(radians);
  m[axis_a][axis_a] = c;
  m[axis_a][axis_b] = -s;
  m[axis_b][axis_a] = s;
  m[axis_b][axis_b] = c;
  return m;
}

bool is_identity(const Matrix& m) {
  const Matrix e = identity();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      if (m[i][j] != e[i][j]) return false;
  return true;
}

}  // namespace

const std::vector<CorruptionSpec>& corruption_list(const TransformSpec& t, int spatial_dims) {
  if (spatial_dims == 3) {
    MN_CHECK_USAGE(t.set.empty() || t.set == "ct-mri",
                   "corrupt: 3D images take the CT/MRI artifacts (\"set\": "
                   "\"ct-mri\"), got \"",
                   t.set, "\"");
    return volume_artifacts();
  }
  const auto& list = medmnistc_corruptions(t.set);
  MN_CHECK_USAGE(!list.empty(),
                 "corrupt: \"set\" must name a 2D MedMNIST dataset whose MedMNIST-C corruptions "
                 "to draw (for example \"retinamnist\"), got \"",
                 t.set, "\"");
  return list;
}

std::vector<std::string> transform_types() {
  return {"rotate", "flip", "scale", "translate", "brightness", "contrast", "noise", "corrupt"};
}

json to_json(const TransformSpec& t) {
  json j{{"type", t.type}, {"p", t.p}};
  if (t.type == "rotate") j["degrees"] = t.degrees;
  if (t.type == "flip") j["axes"] = t.axes;
  if (t.type == "scale") {
    j["min"] = t.min;
    j["max"] = t.max;
  }
  if (t.type == "translate") j["fraction"] = t.fraction;
  if (t.type == "brightness" || t.type == "contrast") j["delta"] = t.delta;
  if (t.type == "noise") j["std"] = t.std;
  if (t.type == "corrupt") {
    j["set"] = t.set;
    j["severity"] = t.severity;
  }
  return j;
}

TransformSpec transform_from_json(const json& j) {
  MN_CHECK_USAGE(j.is_object() && j.contains("type") && j.at("type").is_string(),
                 "each augmentation must be an object with a \"type\" (", core::join(transform_types(), ", "),
                 "), got ", j.dump());
  TransformSpec t;
  t.type = j.at("type").get<std::string>();
  std::set<std::string> known = keys_of(t.type);
  known.insert("type");
  known.insert("p");
  core::reject_unknown_keys(j, known, "augmentation '" + t.type + "'");
  take(j, "p", t.p);
  take(j, "degrees", t.degrees);
  take(j, "axes", t.axes);
  take(j, "min", t.min);
  take(j, "max", t.max);
  take(j, "fraction", t.fraction);
  take(j, "delta", t.delta);
  take(j, "std", t.std);
  take(j, "set", t.set);
  take(j, "severity", t.severity);
  MN_CHECK_USAGE(t.p >= 0 && t.p <= 1, "augmentation '", t.type, "': p must be in [0, 1], got ", t.p);
  MN_CHECK_USAGE(t.degrees >= 0 && t.degrees <= 180, "rotate: degrees must be in [0, 180], got ", t.degrees);
  MN_CHECK_USAGE(t.type != "flip" || !t.axes.empty(), "flip: \"axes\" must name at least one axis");
  MN_CHECK_USAGE(t.min > 0 && t.max >= t.min, "scale: need 0 < min <= max, got ", t.min, " and ", t.max);
  MN_CHECK_USAGE(t.fraction >= 0 && t.fraction <= 0.5, "translate: fraction must be in [0, 0.5], got ",
                 t.fraction);
  MN_CHECK_USAGE(t.delta >= 0 && t.delta <= 1, "augmentation '", t.type, "': delta must be in [0, 1], got ",
                 t.delta);
  MN_CHECK_USAGE(t.std >= 0 && t.std <= 1, "noise: std must be in [0, 1], got ", t.std);
  MN_CHECK_USAGE(t.severity >= 1 && t.severity <= 5, "corrupt: severity must be in 1..5, got ", t.severity);
  return t;
}

void validate(const std::vector<TransformSpec>& transforms, int spatial_dims) {
  for (const auto& t : transforms) {
    keys_of(t.type);
    if (t.type == "corrupt") corruption_list(t, spatial_dims);
    for (int a : t.axes) {
      MN_CHECK_USAGE(a >= 0 && a < spatial_dims, "flip: axis ", a, " does not exist in ", spatial_dims,
                     "D images (valid: 0..", spatial_dims - 1, ")");
    }
  }
}

at::Tensor apply(const std::vector<TransformSpec>& transforms, const at::Tensor& images, uint64_t seed) {
  if (transforms.empty()) return images;
  const int64_t d = images.dim() - 2;
  MN_CHECK(d == 2 || d == 3, "augment: expected a [N, C, H, W] or [N, C, D, H, W] batch, got ", images.dim(),
           " dimensions");
  MN_CHECK(images.is_floating_point(), "augment: expected a float batch in [0, 1]");
  validate(transforms, static_cast<int>(d));
  const int64_t n = images.size(0);

  // Parameters come from one stream in a fixed order (every draw is made whether or not the
  // transform fires), so a sample's augmentation does not depend on what fired before it.
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * u01(rng); };

  struct Corruption {
    const CorruptionSpec* spec = nullptr;
    int severity = 0;
    uint64_t seed = 0;
  };
  std::vector<Corruption> corrupted(static_cast<size_t>(n));
  std::vector<Matrix> geometry(static_cast<size_t>(n), identity());
  std::vector<double> add(static_cast<size_t>(n), 0), mul(static_cast<size_t>(n), 1),
      noise(static_cast<size_t>(n), 0);
  bool any_intensity = false, any_noise = false;  // which kinds fired at all
  // Grid coordinates run (x, y[, z]) = (last spatial axis, ..., first): image axis a is grid row d-1-a.
  auto row = [&](int axis) { return static_cast<int>(d) - 1 - axis; };
  // The corruptions mednet computes, per corrupt transform (empty for the others).
  std::vector<std::vector<const CorruptionSpec*>> usable(transforms.size());
  for (size_t k = 0; k < transforms.size(); ++k)
    if (transforms[k].type == "corrupt")
      for (const auto& c : corruption_list(transforms[k], static_cast<int>(d)))
        if (c.implemented) usable[k].push_back(&c);
  for (int64_t i = 0; i < n; ++i) {
    Matrix& g = geometry[static_cast<size_t>(i)];
    for (size_t k = 0; k < transforms.size(); ++k) {
      const TransformSpec& t = transforms[k];
      if (t.type == "flip") {
        for (int a : t.axes) {
          if (u01(rng) < t.p) {
            Matrix f = identity();
            f[row(a)][row(a)] = -1;
            g = compose(g, f);
          }
        }
        continue;
      }
      const bool fire = u01(rng) < t.p;
      if (t.type == "rotate") {
        std::array<double, 3> angles{};
        for (int k = 0; k < (d == 2 ? 1 : 3); ++k) angles[k] = uniform(-t.degrees, t.degrees) * kPi / 180;
        if (!fire) continue;
        if (d == 2) {
          g = compose(g, rotation(0, 1, angles[0]));
        } else {
          g = compose(g, compose(rotation(0, 1, angles[0]),
                                 compose(rotation(0, 2, angles[1]), rotation(1, 2, angles[2]))));
        }
      } else if (t.type == "scale") {
        const double s = uniform(t.min, t.max);
        if (!fire) continue;
        Matrix m = identity();
        for (int k = 0; k < d; ++k) m[k][k] = 1 / s;  // output samples the input on a finer grid
        g = compose(g, m);
      } else if (t.type == "translate") {
        std::array<double, 3> shift{};
        for (int k = 0; k < d; ++k) shift[k] = uniform(-t.fraction, t.fraction) * 2;  // [-1, 1] grid units
        if (!fire) continue;
        Matrix m = identity();
        for (int k = 0; k < d; ++k) m[k][3] = -shift[k];
        g = compose(m, g);
      } else if (t.type == "brightness") {
        const double v = uniform(-t.delta, t.delta);
        if (!fire) continue;
        add[static_cast<size_t>(i)] += v;
        any_intensity = true;
      } else if (t.type == "contrast") {
        const double v = uniform(1 - t.delta, 1 + t.delta);
        if (!fire) continue;
        mul[static_cast<size_t>(i)] *= v;
        any_intensity = true;
      } else if (t.type == "noise") {
        if (!fire) continue;
        noise[static_cast<size_t>(i)] = t.std;
        any_noise = any_noise || t.std > 0;
      } else if (t.type == "corrupt") {
        const std::vector<const CorruptionSpec*>& from = usable[k];
        const auto which =
            std::min(from.size() - 1, static_cast<size_t>(u01(rng) * static_cast<double>(from.size())));
        const int severity = std::min(t.severity, 1 + static_cast<int>(u01(rng) * t.severity));
        const uint64_t draw_seed = rng();
        if (!fire) continue;
        corrupted[static_cast<size_t>(i)] = {from[which], severity, draw_seed};
      }
    }
  }

  at::Tensor out = images;
  std::vector<int64_t> moved;
  for (int64_t i = 0; i < n; ++i)
    if (!is_identity(geometry[static_cast<size_t>(i)])) moved.push_back(i);
  if (!moved.empty()) {
    const int64_t m = static_cast<int64_t>(moved.size());
    at::Tensor theta = torch::empty({m, d, d + 1}, torch::kDouble);
    auto th = theta.accessor<double, 3>();
    for (int64_t k = 0; k < m; ++k) {
      const Matrix& g = geometry[static_cast<size_t>(moved[static_cast<size_t>(k)])];
      for (int64_t r = 0; r < d; ++r) {
        for (int64_t c = 0; c < d; ++c) th[k][r][c] = g[r][c];
        th[k][r][d] = g[r][3];
      }
    }
    const at::Tensor idx = core::upload(torch::tensor(moved, torch::kLong), images.device());
    const at::Tensor sel = images.index_select(0, idx);
    theta = core::upload(theta.to(images.scalar_type()), images.device());
    const at::Tensor grid = at::affine_grid_generator(theta, sel.sizes(), /*align_corners=*/false);
    const at::Tensor warped =
        at::grid_sampler(sel, grid, /*bilinear*/ 0, /*zeros*/ 0, /*align_corners=*/false);
    out = images.index_copy(0, idx, warped);
  }
  std::vector<int64_t> shaded;
  for (int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<size_t>(i);
    if (add[k] != 0 || mul[k] != 1 || noise[k] > 0) shaded.push_back(i);
  }
  if (!shaded.empty()) {
    const auto pick = [&](const std::vector<double>& v) {
      std::vector<double> col;
      for (int64_t i : shaded) col.push_back(v[static_cast<size_t>(i)]);
      std::vector<int64_t> shape(static_cast<size_t>(out.dim()), 1);
      shape[0] = static_cast<int64_t>(col.size());
      return core::upload(torch::tensor(col, torch::kDouble).view(shape).to(out.scalar_type()), out.device());
    };
    const at::Tensor idx = core::upload(torch::tensor(shaded, torch::kLong), out.device());
    at::Tensor sel = out.index_select(0, idx);
    if (any_intensity) {
      // Contrast scales around each image's own mean, then brightness shifts.
      std::vector<int64_t> reduce;
      for (int64_t k = 1; k < sel.dim(); ++k) reduce.push_back(k);
      const at::Tensor mean = sel.mean(reduce, /*keepdim=*/true);
      sel = (sel - mean) * pick(mul) + mean + pick(add);
    }
    if (any_noise) {
      // Drawn for the whole batch, so a sample's noise does not depend on which others are noisy.
      at::Generator gen = at::detail::createCPUGenerator(seed ^ 0x9e3779b97f4a7c15ULL);
      const at::Tensor z = at::randn(out.sizes(), gen, torch::TensorOptions().dtype(out.scalar_type()));
      sel = sel +
            core::upload(z.index_select(0, torch::tensor(shaded, torch::kLong)), out.device()) * pick(noise);
    }
    out = out.index_copy(0, idx, sel.clamp(0, 1));
  }
  std::vector<int64_t> hit;
  std::vector<at::Tensor> pictures;
  for (int64_t i = 0; i < n; ++i) {
    const Corruption& c = corrupted[static_cast<size_t>(i)];
    if (!c.spec) continue;
    const at::Tensor u8 =
        (out[i].detach().to(torch::kCPU).to(torch::kDouble).clamp(0, 1) * 255).round().to(torch::kUInt8);
    hit.push_back(i);
    pictures.push_back(corrupt(*c.spec, c.severity, u8, c.seed).to(out.scalar_type()) / 255.0);
  }
  if (!hit.empty())
    out = out.index_copy(0, core::upload(torch::tensor(hit, torch::kLong), out.device()),
                         core::upload(torch::stack(pictures), out.device()));
  return out;
}

}  // namespace mednet::augment
