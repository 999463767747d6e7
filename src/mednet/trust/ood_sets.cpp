#include "mednet/trust/ood_sets.h"

#include <filesystem>

#include <ATen/ATen.h>

#include "mednet/core/error.h"
#include "mednet/data/dataset.h"
#include "mednet/data/npy.h"
#include "mednet/data/user_input.h"

namespace mednet::trust {

namespace fs = std::filesystem;

namespace {

std::vector<int64_t> run_shape(const data::DatasetInfo& info, int size, int64_t n) {
  std::vector<int64_t> shape = {n, info.channels};
  for (int d = 0; d < info.spatial_dims(); ++d) shape.push_back(size);
  return shape;
}

// Another dataset's images [N, C, ...] brought to the run's: dimensionality first, then data::conform.
at::Tensor convert(const at::Tensor& images, const data::DatasetInfo& from, const data::DatasetInfo& to,
                   int size, std::string* how) {
  at::Tensor x = images;
  if (from.volumetric && !to.volumetric) {
    x = x.select(2, x.size(2) / 2);
    *how = "middle slices";
  } else if (!from.volumetric && to.volumetric) {
    x = x.unsqueeze(2).expand({x.size(0), x.size(1), x.size(2), x.size(2), x.size(3)});
    *how = "each picture repeated along depth";
  }
  std::vector<at::Tensor> rows;
  std::vector<std::string> steps;
  for (int64_t i = 0; i < x.size(0); ++i) {
    data::Conformed c = data::conform(x[i].contiguous(), to, size);
    if (i == 0) steps = c.steps;
    rows.push_back(c.image);
  }
  for (const auto& s : steps) *how += (how->empty() ? "" : "; ") + s;
  if (how->empty()) *how = "as stored";
  return at::stack(rows);
}

}  // namespace

std::vector<OodSet> ood_sets(const data::DatasetInfo& info, int size, const std::string& data_folder,
                             const OodSetOptions& o, const std::function<void(const std::string&)>& skipped) {
  MN_CHECK(o.synthetic >= 1 && o.per_file >= 1, "out-of-distribution sets need at least one image each");
  std::vector<OodSet> sets;
  const at::Generator gen = at::detail::createCPUGenerator(o.seed);
  sets.push_back({"uniform noise", "generated, seed " + std::to_string(o.seed),
                  at::randint(0, 256, run_shape(info, size, o.synthetic), gen, at::kByte)});
  const at::Tensor levels = at::linspace(0, 255, o.synthetic, at::kDouble).round().to(at::kByte);
  std::vector<int64_t> view(static_cast<size_t>(info.spatial_dims() + 2), 1);
  view[0] = o.synthetic;
  sets.push_back({"blank", "generated, one intensity each from 0 to 255",
                  levels.reshape(view).expand(run_shape(info, size, o.synthetic)).contiguous()});
  for (const data::DatasetInfo& other : data::catalog()) {
    if (other.flag == info.flag) continue;
    for (int s : other.sizes()) {
      const fs::path path = fs::path(data_folder) / other.file_name(s);
      std::error_code ec;
      if (!fs::is_regular_file(path, ec)) continue;
      try {
        if (o.check_md5) data::verify_md5(path.string(), other.file(s).md5);
        data::NpzReader npz(path.string());
        const data::SplitData test = data::read_split(npz, other, s, data::Split::Test);
        std::string how;
        const at::Tensor images =
            convert(test.images.narrow(0, 0, std::min(o.per_file, test.size())), other, info, size, &how);
        sets.push_back(
            {other.display_name + (s == 28 ? "" : " " + std::to_string(s)),
             other.file_name(s) + " test split, " + std::to_string(images.size(0)) + " images: " + how,
             images});
      } catch (const std::exception& e) {
        if (skipped) skipped(path.string() + ": " + e.what());
      }
    }
  }
  return sets;
}

}  // namespace mednet::trust
