// mednet augment: show what augmentation does, originals beside their augmented versions.
#include <iostream>

#include <torch/torch.h>

#include "commands.h"
#include "common_flags.h"
#include "mednet/augment/augment.h"
#include "mednet/core/error.h"
#include "mednet/data/dataset.h"
#include "mednet/experiments/experiment_spec.h"
#include "mednet/report/image_grid.h"
#include "mednet/report/plot.h"

namespace mednet::app {

namespace {

// Used when neither a config nor an arm names transforms: a typical set for the dataset's dimensions.
std::vector<augment::TransformSpec> default_transforms(int dims) {
  nlohmann::json flip{
      {"type", "flip"}, {"p", 0.5}, {"axes", dims == 2 ? std::vector<int>{1} : std::vector<int>{0, 1, 2}}};
  std::vector<augment::TransformSpec> t;
  for (const auto& j : {flip, nlohmann::json{{"type", "rotate"}, {"degrees", 15}, {"p", 0.5}},
                        nlohmann::json{{"type", "scale"}, {"min", 0.9}, {"max", 1.1}, {"p", 0.5}},
                        nlohmann::json{{"type", "translate"}, {"fraction", 0.1}, {"p", 0.5}},
                        nlohmann::json{{"type", "brightness"}, {"delta", 0.1}, {"p", 0.5}},
                        nlohmann::json{{"type", "contrast"}, {"delta", 0.1}, {"p", 0.5}}}) {
    t.push_back(augment::transform_from_json(j));
  }
  return t;
}

}  // namespace

void add_augment(CLI::App& app) {
  auto* cmd = app.add_subcommand("augment", "Write a grid of images beside their augmented versions");
  static std::string dataset, config, arm, out;
  static CommonFlags data_flags;
  static int size = 28, n = 16, scale = 4;
  static int64_t seed = 0;
  cmd->add_option("--dataset", dataset, "Dataset flag (default: the config's)");
  cmd->add_option("--config", config,
                  "Train config or experiment file whose \"augment\" list to show (default: a typical set)");
  cmd->add_option("--arm", arm, "With an experiment file: the arm whose transforms to show");
  cmd->add_option("--size", size, "Image size");
  add_data_flags(*cmd, data_flags, "$MEDMNIST_ROOT, then ~/.medmnist");
  cmd->add_option("--n", n, "Number of training images")->check(CLI::Range(1, 256));
  cmd->add_option("--seed", seed, "Seed of the augmentation draw");
  cmd->add_option("--scale", scale, "Enlargement of each image (nearest neighbour)")
      ->check(CLI::Range(1, 16));
  cmd->add_option("--out", out, "PNG file to write")->required();
  cmd->callback([cmd] {
    std::vector<augment::TransformSpec> transforms;
    std::string source = "a typical set";
    if (!config.empty()) {
      run::TrainConfig c;
      if (experiments::is_experiment_file(config)) {
        const experiments::ExperimentSpec e = experiments::load_experiment(config);
        const experiments::ArmSpec* chosen = nullptr;
        if (!arm.empty()) {
          chosen = &experiments::find_arm(e, arm);
        } else {
          for (const auto& a : e.arms)
            if (!chosen && !experiments::arm_config(e, a, 0).augment.empty()) chosen = &a;
          MN_CHECK_USAGE(chosen, config, " has no arm with augmentation");
        }
        c = experiments::arm_config(e, *chosen, 0);
        source = config + ", arm " + chosen->name;
      } else {
        MN_CHECK_USAGE(arm.empty(), "--arm needs an experiment file with arms");
        c = run::load_config(config);
        source = config;
      }
      transforms = c.augment;
      MN_CHECK_USAGE(!transforms.empty(), source, " has no \"augment\" list");
      if (dataset.empty()) dataset = c.dataset;
      if (cmd->count("--size") == 0) size = c.size;
    }
    MN_CHECK_USAGE(!dataset.empty(), "--dataset FLAG or --config FILE is required");
    MN_CHECK_USAGE(report::plots_available(), "this build has no image output (built without cairo)");
    const auto& info = data::find_dataset(dataset);
    if (transforms.empty()) transforms = default_transforms(info.spatial_dims());
    augment::validate(transforms, info.spatial_dims());
    const data::MedMnist d = data::open_medmnist(info, size, data_flags.root, nullptr, !data_flags.skip_md5);
    const int64_t count = std::min<int64_t>(n, d.train.size());
    const at::Tensor images = d.train.images.narrow(0, 0, count);
    const at::Tensor unit = data::to_unit(images);
    const at::Tensor aug = augment::apply(transforms, unit, static_cast<uint64_t>(seed))
                               .mul(255.0f)
                               .round()
                               .clamp(0, 255)
                               .to(torch::kByte);

    std::vector<report::Tile> tiles;
    for (int64_t i = 0; i < count; ++i) {
      const std::string label =
          "#" + std::to_string(i) + " label " + std::to_string(d.train.labels[i].argmax().item<int64_t>());
      if (info.volumetric) {
        const char* axes[] = {"axial", "coronal", "sagittal"};
        const auto a = report::middle_slices(images[i]), b = report::middle_slices(aug[i]);
        for (int k = 0; k < 3; ++k) tiles.push_back({a[k], label + " | original " + axes[k]});
        for (int k = 0; k < 3; ++k) tiles.push_back({b[k], "augmented " + std::string(axes[k])});
      } else {
        tiles.push_back({images[i], label + " | original"});
        tiles.push_back({aug[i], "augmented"});
      }
    }
    std::string names;
    for (const auto& t : transforms) names += (names.empty() ? "" : ", ") + t.type;
    const int cols = info.volumetric ? 6 : 8;
    report::save_image_grid(tiles, cols, scale,
                            info.display_name + " training images: original | augmented (" + names + ")",
                            out);
    std::cout << "wrote " << out << ": " << count << " " << info.display_name
              << (info.volumetric ? " volumes (middle slice per axis)" : " images")
              << " beside their augmented versions; transforms from " << source << ", seed " << seed << "\n";
  });
}

}  // namespace mednet::app
