#include "mednet/explain/cam_study.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/progress.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/data/npy.h"
#include "mednet/engine/evaluate.h"
#include "mednet/explain/faithfulness.h"
#include "mednet/explain/methods.h"
#include "mednet/models/registry.h"
#include "mednet/report/heatmap.h"
#include "mednet/report/image_grid.h"
#include "mednet/report/plot.h"
#include "mednet/run/open_run.h"

namespace mednet::explain {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string fixed(double v, int digits = 3) {
  return core::format_fixed(v, digits);
}

// The class a sample is shown under: its label (the first positive one for multi-label).
int64_t true_class(const at::Tensor& labels_row, data::Task task) {
  if (task == data::Task::MultiLabel) return labels_row.argmax().item<int64_t>();
  return labels_row[0].item<int64_t>();
}

std::vector<int64_t> choose(const CamStudyOptions& f, const at::Tensor& truth, const at::Tensor& pred,
                            int classes) {
  const int64_t n = truth.size(0);
  std::vector<int64_t> picked;
  if (!f.indices.empty()) {
    for (int64_t i : f.indices) {
      MN_CHECK_USAGE(i >= 0 && i < n, "--indices: sample ", i, " is out of range: the ", f.split,
                     " split has ", n, " samples (0..", n - 1, ")");
      picked.push_back(i);
    }
    return picked;
  }
  if (f.select == "per-class") {
    // Round robin over the true classes, so that rare classes are shown too.
    std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(classes));
    for (int64_t i = 0; i < n; ++i) by_class[static_cast<size_t>(truth[i].item<int64_t>())].push_back(i);
    for (size_t round = 0; static_cast<int>(picked.size()) < f.samples; ++round) {
      bool any = false;
      for (const auto& members : by_class) {
        if (round < members.size() && static_cast<int>(picked.size()) < f.samples) {
          picked.push_back(members[round]);
          any = true;
        }
      }
      if (!any) break;
    }
    return picked;
  }
  for (int64_t i = 0; i < n && static_cast<int>(picked.size()) < f.samples; ++i) {
    const bool right = truth[i].item<int64_t>() == pred[i].item<int64_t>();
    if (f.select == "first" || (f.select == "correct" && right) || (f.select == "wrong" && !right))
      picked.push_back(i);
  }
  return picked;
}

// Share of each map's mass in the central half of every axis (a uniform map gives 0.5^dims).
std::vector<double> central_share(const at::Tensor& maps) {
  std::vector<double> out;
  for (int64_t i = 0; i < maps.size(0); ++i) {
    at::Tensor m = maps[i];
    at::Tensor c = m;
    for (int64_t d = 0; d < m.dim(); ++d) {
      const int64_t s = m.size(d);
      c = c.narrow(d, s / 4, s - 2 * (s / 4));
    }
    const double total = m.sum().item<double>();
    out.push_back(total > 0 ? c.sum().item<double>() / total : std::nan(""));
  }
  return out;
}

}  // namespace

CamStudyResult run_cam_study(const CamStudyOptions& f) {
  CamStudyResult result;
  std::ostringstream out;
  MN_CHECK_USAGE(f.samples >= 1, "--samples must be >= 1");
  const c10::Device device = core::resolve_device(f.device);
  run::OpenRunOptions open;
  open.root = f.root;
  open.check_md5 = f.check_md5;
  open.device = device;
  const run::OpenRun opened = run::open_run(f.run, open);
  const core::FolderLock lock = core::FolderLock::acquire(f.out);  // one writer of the output folder
  const run::TrainConfig& cfg = opened.config;
  const auto& info = *opened.info;
  const data::SplitData& split = opened.data.split(data::parse_split(f.split));
  models::Classifier model = opened.model;
  auto cam = explain::make_cam(f.method, *model, f.layer, f.attribution);
  std::unique_ptr<core::ProgressBar> bar;
  int64_t last_done = 0;
  if (f.progress) {
    cam->on_progress([&](int64_t done, int64_t total) {
      if (!bar) bar = std::make_unique<core::ProgressBar>(std::cerr, f.method, total, core::is_terminal(2));
      bar->step(done - last_done);
      last_done = done;
    });
  }

  // Predictions on the whole split, to choose samples.
  const engine::Evaluation ev = engine::evaluate_model(*model, split, info.task, device, cfg.eval_batch_size);
  const at::Tensor pred = ev.probs.argmax(1);
  at::Tensor truth = torch::empty({split.size()}, torch::kLong);
  for (int64_t i = 0; i < split.size(); ++i) truth[i] = true_class(split.labels[i], info.task);
  const std::vector<int64_t> picked = choose(f, truth, pred, info.num_outputs());
  MN_CHECK(!picked.empty(), "no ", f.select, " samples in the ", f.split, " split");
  const at::Tensor idx = torch::tensor(picked, torch::kLong);
  const at::Tensor images = split.images.index_select(0, idx);
  const at::Tensor x = data::to_network_input(images).to(device);

  // The class each map explains: the prediction, the true label, or one class for all.
  at::Tensor target;
  if (f.target == "true") {
    target = truth.index_select(0, idx);
  } else if (f.target != "predicted") {
    int64_t k = -1;
    try {
      size_t used = 0;
      k = std::stoll(f.target, &used);
      if (used != f.target.size()) k = -1;
    } catch (const std::exception&) {
      k = -1;
    }
    MN_CHECK_USAGE(k >= 0 && k < info.num_outputs(), "--target must be predicted, true or a class index 0..",
                   info.num_outputs() - 1, ", got '", f.target, "'");
    target = torch::full({idx.size(0)}, k, torch::kLong);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const explain::CamResult r = cam->compute(x, target);
  if (bar) bar->finish();
  cam->on_progress({});
  const double cam_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  fs::create_directories(f.out);
  data::save_npy(f.out + "/heatmaps.npy", r.maps);
  data::save_npy(f.out + "/indices.npy", idx);
  const int dims = info.spatial_dims();
  out << f.method << " on layer " << cam->layer() << " of " << cfg.model.name << " (" << f.run << "), "
      << picked.size() << " " << f.split << " samples (" << f.select << "), " << fixed(cam_seconds, 2)
      << " s\n";

  // Pictures.
  const int64_t size = images.size(2);
  const int64_t scale = std::max<int64_t>(1, f.display / size);
  const int64_t shown = size * scale;
  auto caption = [&](size_t k) {
    const int64_t i = picked[k];
    return "#" + std::to_string(i) + " true " + std::to_string(truth[i].item<int64_t>()) + " | pred " +
           std::to_string(pred[i].item<int64_t>()) + " p=" + fixed(ev.probs[i][pred[i]].item<double>(), 2);
  };
  std::vector<std::string> written{"heatmaps.npy", "indices.npy"};
  if (report::plots_available()) {
    std::vector<report::Tile> tiles;
    if (dims == 2) {
      for (size_t k = 0; k < picked.size(); ++k) {
        const at::Tensor img = report::enlarge_nearest(images[static_cast<int64_t>(k)], scale);
        const at::Tensor heat =
            report::colorize(report::enlarge_smooth(r.maps[static_cast<int64_t>(k)], shown));
        tiles.push_back({img, caption(k)});
        tiles.push_back({heat, f.method});
        tiles.push_back({report::blend(img, heat), "overlay"});
      }
      report::save_image_grid(tiles, 6, 1, info.display_name + ": " + f.method + " (" + cam->layer() + ")",
                              f.out + "/cam_grid.png");
      written.push_back("cam_grid.png");
    } else {
      // Three orthogonal planes through each map's peak, image and overlay.
      const char* names[] = {"axial", "coronal", "sagittal"};
      for (size_t k = 0; k < picked.size(); ++k) {
        const at::Tensor vol = images[static_cast<int64_t>(k)];  // [1, D, H, W]
        const at::Tensor big = report::enlarge_smooth(r.maps[static_cast<int64_t>(k)], shown);
        const std::array<int64_t, 3> p = report::peak_voxel(r.maps[static_cast<int64_t>(k)]);
        for (int a = 0; a < 3; ++a) {
          const at::Tensor img = report::enlarge_nearest(vol.select(a + 1, p[a]), scale);
          const at::Tensor heat =
              report::colorize(big.select(a, std::min(shown - 1, p[a] * scale + scale / 2)));
          tiles.push_back({report::blend(img, heat), (a == 0 ? caption(k) + " " : std::string(" | ")) +
                                                         names[a] + " " + std::to_string(p[a])});
        }
      }
      report::save_image_grid(
          tiles, 6, 1,
          info.display_name + ": " + f.method + " (" + cam->layer() + "), planes through the peak",
          f.out + "/cam_planes.png");
      written.push_back("cam_planes.png");
      // A montage of every second axial slice of the first samples.
      const size_t montages = std::min<size_t>(4, picked.size());
      for (size_t k = 0; k < montages; ++k) {
        std::vector<report::Tile> slices;
        const at::Tensor vol = images[static_cast<int64_t>(k)];
        const at::Tensor big = report::enlarge_smooth(r.maps[static_cast<int64_t>(k)], size * 4);
        for (int64_t z = 0; z < size; z += 2) {
          const at::Tensor img = report::enlarge_nearest(vol.select(1, z), 4);
          slices.push_back(
              {report::blend(img, report::colorize(big.select(0, z * 4 + 2))), "slice " + std::to_string(z)});
        }
        const std::string name = "cam_montage_" + std::to_string(picked[k]) + ".png";
        report::save_image_grid(slices, 7, 1, caption(k) + ": axial slices", f.out + "/" + name);
        written.push_back(name);
      }
    }
  }

  // Faithfulness (a): the same architecture with fresh weights.
  torch::manual_seed(static_cast<uint64_t>(f.seed) + 7919);
  models::Classifier fresh = models::make_model(cfg.model, data::input_shape(info, cfg.size));
  fresh->to(device);
  auto fresh_cam =
      explain::make_cam(f.method, *fresh, cam->layer() == "input" ? "" : cam->layer(), f.attribution);
  const explain::CamResult rr = fresh_cam->compute(x, r.target);
  const std::vector<double> rho = explain::rank_correlation_per_sample(r.maps, rr.maps);
  std::vector<double> finite;
  for (double v : rho)
    if (std::isfinite(v)) finite.push_back(v);
  double rho_mean = std::nan("");
  if (!finite.empty()) {
    rho_mean = 0;
    for (double v : finite) rho_mean += v / static_cast<double>(finite.size());
  }
  // (b) deletion, with each way of blanking (the chosen one is shown in full): black (intensity 0, the
  // absence of signal in these images), a blurred copy (keeps the coarse shape), the image's mean.
  const std::vector<double> fractions{0, 0.05, 0.1, 0.2, 0.3, 0.5};
  const std::vector<std::string> fills{"black", "blur", "mean"};
  std::map<std::string, explain::PixelCurve> by_fill;
  const at::Tensor blur = explain::blurred(x, explain::blur_width(x));
  for (const auto& fill : fills) {
    at::Tensor baseline;  // undefined: the image mean
    if (fill == "black") baseline = data::unit_to_network_input(torch::zeros({1}, x.options()));
    if (fill == "blur") baseline = blur;
    by_fill[fill] = explain::deletion_curve(*model, x, r.maps.to(device), r.target, fractions,
                                            static_cast<uint64_t>(f.seed), baseline);
  }
  const explain::PixelCurve& del = by_fill.at(f.fill);
  // (c) insertion from a blurred copy, as Petsiuk et al.
  const explain::PixelCurve ins = explain::insertion_curve(*model, x, r.maps.to(device), r.target, fractions,
                                                           static_cast<uint64_t>(f.seed), blur);
  // (d) ROAD: the most and least relevant positions imputed from their neighbours, not blanked.
  const std::vector<double> road_shares{0.2, 0.4, 0.6, 0.8};
  const explain::RoadScores road = explain::road(*model, x, r.maps.to(device), r.target, road_shares,
                                                 explain::kRoadNoise, static_cast<uint64_t>(f.seed));
  out << "\nfaithfulness\n"
      << "  model randomisation: Spearman correlation of the maps with those of a re-initialised "
      << cfg.model.name << ": mean " << (std::isfinite(rho_mean) ? fixed(rho_mean) : "n/a") << " over "
      << finite.size() << " samples ("
      << (rho_mean < 0.5 ? "< 0.5: the maps depend on the learned weights"
                         : ">= 0.5: the maps look alike without training")
      << ")\n"
      << "  deletion (blanked to " << f.fill << "): blanked share, target probability (by " << f.method
      << " / random)\n";
  for (size_t i = 0; i < fractions.size(); ++i) {
    out << "    " << std::setw(4) << static_cast<int>(fractions[i] * 100) << "%  " << fixed(del.by_map[i])
        << "  " << fixed(del.random[i]) << "\n";
  }
  out << "  area under the curve: " << f.method << " " << fixed(del.area_by_map, 4) << ", random "
      << fixed(del.area_random, 4) << " ("
      << (del.area_by_map < del.area_random ? "the highlighted pixels matter more than random ones"
                                            : "no faster than random")
      << ")\n";
  out << "  insertion (restored on a blurred copy): area " << f.method << " " << fixed(ins.area_by_map, 4)
      << ", random " << fixed(ins.area_random, 4) << " ("
      << (ins.area_by_map > ins.area_random ? "the highlighted pixels restore the prediction sooner"
                                            : "no sooner than random")
      << ")\n";
  out << "  ROAD (noisy linear imputation, 20/40/60/80%): least relevant first minus most relevant first, "
         "halved: "
      << fixed(road.combined, 4) << " (above 0: imputing what the map marks matters more)\n";
  json deletion_by_fill = json::object();
  for (const auto& fill : fills) {
    const auto& d = by_fill.at(fill);
    out << "    blanked to " << std::setw(5) << std::left << fill << std::right << ": " << f.method << " "
        << fixed(d.area_by_map, 4) << ", random " << fixed(d.area_random, 4)
        << (d.area_by_map < d.area_random ? "  (faster than random)" : "  (not faster)") << "\n";
    deletion_by_fill[fill] = {{"area_by_map", d.area_by_map},
                              {"area_random", d.area_random},
                              {"by_map", d.by_map},
                              {"random", d.random}};
  }
  if (report::plots_available()) {
    const report::Series a = report::line_series(f.method, fractions, del.by_map, 0xd62728, false);
    const report::Series b = report::line_series("random", fractions, del.random, 0x1f77b4, true);
    const report::Series c = report::line_series(f.method, fractions, ins.by_map, 0xd62728, false);
    const report::Series d = report::line_series("random", fractions, ins.random, 0x1f77b4, true);
    report::save_png({report::Panel{"Deletion (" + f.fill + ")",
                                    "share of positions blanked",
                                    "target probability",
                                    {a, b},
                                    NAN,
                                    ""},
                      report::Panel{"Insertion (on a blurred copy)",
                                    "share of positions restored",
                                    "target probability",
                                    {c, d},
                                    NAN,
                                    ""}},
                     info.display_name + ": " + cfg.model.name + ", " + f.method, f.out + "/deletion.png");
    written.push_back("deletion.png");
  }

  // Where the maps put their mass, per true class.
  const std::vector<double> share = central_share(r.maps);
  out << "\nshare of heatmap mass in the central half of each axis (a uniform map: "
      << fixed(std::pow(0.5, dims)) << ")\n";
  json per_class = json::array();
  for (int c = 0; c < info.num_outputs(); ++c) {
    std::vector<double> v;
    for (size_t k = 0; k < picked.size(); ++k)
      if (truth[picked[k]].item<int64_t>() == c && std::isfinite(share[k])) v.push_back(share[k]);
    if (v.empty()) continue;
    double m = 0;
    for (double s : v) m += s / static_cast<double>(v.size());
    out << "  class " << c << " (" << info.labels[static_cast<size_t>(c)] << "): " << fixed(m) << " over "
        << v.size() << " samples\n";
    per_class.push_back({{"class", c},
                         {"label", info.labels[static_cast<size_t>(c)]},
                         {"samples", v.size()},
                         {"central_share", m}});
  }

  json samples = json::array();
  for (size_t k = 0; k < picked.size(); ++k) {
    const int64_t i = picked[k];
    samples.push_back({{"index", i},
                       {"true", truth[i].item<int64_t>()},
                       {"pred", pred[i].item<int64_t>()},
                       {"target", r.target[static_cast<int64_t>(k)].item<int64_t>()},
                       {"prob", ev.probs[i][r.target[static_cast<int64_t>(k)]].item<double>()},
                       {"central_share", core::finite_or_null(share[k])},
                       {"deletion_area", del.sample_area_by_map[k]},
                       {"deletion_area_random", del.sample_area_random[k]},
                       {"insertion_area", ins.sample_area_by_map[k]},
                       {"insertion_area_random", ins.sample_area_random[k]},
                       {"road", road.sample_combined[k]},
                       {"rank_correlation_vs_random_init", core::finite_or_null(rho[k])}});
  }
  json summary{{"run", f.run},
               {"model", cfg.model.name},
               {"dataset", cfg.dataset},
               {"split", f.split},
               {"method", f.method},
               {"layer", cam->layer()},
               {"target", f.target},
               {"select", f.select},
               {"seconds", cam_seconds},
               {"randomisation_rank_correlation_mean", core::finite_or_null(rho_mean)},
               {"deletion_by_fill", deletion_by_fill},
               {"deletion",
                {{"fill", f.fill},
                 {"fractions", fractions},
                 {"by_map", del.by_map},
                 {"random", del.random},
                 {"area_by_map", del.area_by_map},
                 {"area_random", del.area_random}}},
               {"insertion",
                {{"baseline", "blur"},
                 {"fractions", fractions},
                 {"by_map", ins.by_map},
                 {"random", ins.random},
                 {"area_by_map", ins.area_by_map},
                 {"area_random", ins.area_random}}},
               {"road",
                {{"percents", road.percents},
                 {"morf", road.morf},
                 {"lerf", road.lerf},
                 {"combined", road.combined},
                 {"imputation", "noisy linear, noise " + core::format_fixed(explain::kRoadNoise, 2)}}},
               {"per_class", per_class},
               {"samples", samples}};
  core::write_file_atomic(f.out + "/cam.json", summary.dump(2) + "\n");
  written.push_back("cam.json");
  out << "\noutputs in " << f.out << ":";
  for (const auto& w : written) out << " " << w;
  result.images = images;
  result.maps = r.maps;
  result.display_name = info.display_name;
  result.summary = std::move(summary);
  result.text = out.str();
  result.written = std::move(written);
  return result;
}

}  // namespace mednet::explain
