#include "mednet/trust/robustness_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include <torch/torch.h>

#include "mednet/augment/corruption_registry.h"
#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/metrics/calibration.h"
#include "mednet/metrics/metrics.h"
#include "mednet/metrics/per_class.h"
#include "mednet/report/image_grid.h"
#include "mednet/report/plot.h"
#include "mednet/run/open_run.h"
#include "mednet/trust/scoring_nets.h"

namespace mednet::trust {

using nlohmann::json;

namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The seed of picture n under corruption ci at a severity: independent of the order the work is done in.
uint64_t picture_seed(uint64_t base, size_t ci, int severity, int64_t n) {
  return splitmix(splitmix(splitmix(base) ^ (ci * 16 + static_cast<uint64_t>(severity))) ^
                  static_cast<uint64_t>(n));
}

at::Tensor corrupted_split(const augment::CorruptionSpec& c, size_t ci, int severity,
                           const at::Tensor& images, uint64_t seed) {
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(images.size(0)));
  for (int64_t n = 0; n < images.size(0); ++n)
    out.push_back(augment::corrupt(c, severity, images[n], picture_seed(seed, ci, severity, n)));
  return torch::stack(out);
}

constexpr uint32_t kPalette[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2,
                                 0x7f7f7f, 0xbcbd22, 0x17becf, 0x393b79, 0x637939, 0x8c6d31};

void save_plot(const RobustnessResult& r, const std::string& path) {
  report::Panel auc, acc;
  auc.title = "AUC";
  acc.title = "ACC";
  auc.xlabel = acc.xlabel = "severity (0 = clean)";
  auc.ylabel = "test AUC";
  acc.ylabel = "test ACC";
  size_t i = 0;
  for (const CorruptionSummary& s : r.corruptions) {
    std::vector<double> x{0}, ya{r.clean_auc}, yc{r.clean_acc};
    for (const RobustnessCell& c : r.cells)
      if (c.corruption == s.corruption) {
        x.push_back(c.severity);
        ya.push_back(c.auc);
        yc.push_back(c.acc);
      }
    const uint32_t rgb = kPalette[i++ % std::size(kPalette)];
    auc.series.push_back(report::line_series(s.corruption, x, ya, rgb, i > 7));
    acc.series.push_back(report::line_series("", x, yc, rgb, i > 7));
  }
  report::save_png({auc, acc},
                   r.dataset + " " + r.model + ": test scores under " +
                       (r.volumes ? "CT/MRI artifacts" : "MedMNIST-C corruptions"),
                   path);
}

// A picture as it is; a volume as its middle slice across the depth axis.
at::Tensor shown(const at::Tensor& x) {
  return x.dim() == 4 ? x.select(1, x.size(1) / 2).contiguous() : x;
}

// Two test pictures (the first, and the first of another class) clean and at each severity, a row per
// corruption.
void save_grid(const std::vector<augment::CorruptionSpec>& list, const at::Tensor& images,
               const at::Tensor& labels, uint64_t seed, const std::string& title, const std::string& path) {
  std::vector<int64_t> picks{0};
  const at::Tensor y = labels.reshape({labels.size(0), -1}).select(1, 0);
  for (int64_t n = 1; n < images.size(0); ++n)
    if (y[n].item<int64_t>() != y[0].item<int64_t>()) {
      picks.push_back(n);
      break;
    }
  std::vector<report::Tile> tiles;
  size_t ci = 0;
  for (const augment::CorruptionSpec& c : list) {
    if (!c.implemented) {
      ++ci;
      continue;
    }
    for (int64_t n : picks) {
      tiles.push_back({shown(images[n]), c.name});
      for (int s = 1; s <= 5; ++s)
        tiles.push_back({shown(augment::corrupt(c, s, images[n], picture_seed(seed, ci, s, n))),
                         "severity " + std::to_string(s)});
    }
    ++ci;
  }
  const int side = static_cast<int>(images.size(-1));
  report::save_image_grid(tiles, static_cast<int>(6 * picks.size()), std::max(1, 112 / side), title, path);
}

json to_json(const RobustnessResult& r, const std::vector<augment::CorruptionSpec>& list, int side,
             bool volumes, const RobustnessOptions& o, const std::string& run_dir) {
  json params = json::object();
  for (const auto& c : list) {
    if (!c.implemented) continue;
    json sev = json::array();
    for (int s = 1; s <= 5; ++s)
      sev.push_back({{volumes ? "at_28" : "at_224", c.severities[static_cast<size_t>(s - 1)]},
                     {"used", augment::parameters_at(c, s, side)}});
    params[c.name] = {{"kind", c.kind}, {"severities", sev}};
  }
  json cells = json::array();
  for (const auto& c : r.cells)
    cells.push_back({{"corruption", c.corruption},
                     {"severity", c.severity},
                     {"auc", c.auc},
                     {"acc", c.acc},
                     {"ece", c.ece},
                     {"balanced_error", c.balanced_error}});
  json per = json::array();
  for (const auto& s : r.corruptions)
    per.push_back({{"corruption", s.corruption},
                   {"mean_auc", s.mean_auc},
                   {"auc_drop", s.auc_drop},
                   {"mean_acc", s.mean_acc},
                   {"acc_drop", s.acc_drop},
                   {"balanced_error", s.balanced_error},
                   {"relative_balanced_error", s.relative_balanced_error}});
  json columns = json::array();
  for (const auto& c : r.columns) {
    json drops = json::object();
    for (size_t i = 0; i < r.corruptions.size(); ++i)
      drops[r.corruptions[i].corruption] = core::finite_or_null(c.auc_drop[i]);
    columns.push_back({{"name", c.name},
                       {"clean_auc", core::finite_or_null(c.clean_auc)},
                       {"mean_auc_drop", core::finite_or_null(c.mean_auc_drop)},
                       {"auc_drop", drops}});
  }
  return {
      {"run", run_dir},
      {"column_noun", r.column_noun},
      {"per_column", columns},
      {"dataset", r.dataset},
      {"model", r.model},
      {"split", "test"},
      {"volumes", volumes},
      {"images", r.images},
      {"seed", o.seed},
      {"source", volumes ? "TorchIO's artifact definitions (Perez-Garcia et al. 2021), severities by mednet"
                         : "MedMNIST-C (Di Salvo et al. 2024), medmnistc-api corruptions/registry.py"},
      {"scale_rule", augment::scale_rule(volumes)},
      {"side", side},
      {"clean",
       {{"auc", r.clean_auc},
        {"acc", r.clean_acc},
        {"ece", r.clean_ece},
        {"balanced_error", r.clean_balanced_error}}},
      {"mean_auc_drop", r.mean_auc_drop},
      {"mean_acc_drop", r.mean_acc_drop},
      {"mean_balanced_error", r.mean_balanced_error},
      {"corruptions", per},
      {"cells", cells},
      {"parameters", params},
      {"skipped", r.skipped},
      {"seconds", r.seconds}};
}

// Each column's drop per corruption from the cells, in the order of r.corruptions.
std::vector<ColumnRobustness> column_drops(const RobustnessResult& r, const RobustnessCell& clean,
                                           const std::vector<std::string>& names) {
  std::vector<ColumnRobustness> out;
  for (size_t k = 0; k < clean.column_auc.size(); ++k) {
    ColumnRobustness c{k < names.size() ? names[k] : std::to_string(k), clean.column_auc[k], {}, 0};
    for (const auto& s : r.corruptions) {
      double mean = 0;
      for (const auto& cell : r.cells)
        if (cell.corruption == s.corruption) mean += cell.column_auc.at(k) / 5;
      c.auc_drop.push_back(c.clean_auc - mean);
      c.mean_auc_drop += c.auc_drop.back() / static_cast<double>(r.corruptions.size());
    }
    out.push_back(c);
  }
  return out;
}

// The per-column table and which column loses the most, for tasks with more than one column.
void column_markdown(std::ostringstream& md, const RobustnessResult& r) {
  if (r.columns.empty() || r.corruptions.empty()) return;
  const auto f3 = [](double v) { return std::isfinite(v) ? core::format_fixed(v, 3) : std::string("n/a"); };
  md << "\nPer " << r.column_noun << " (one against the rest, as the AUC averages them):\n\n| "
     << r.column_noun << " | clean AUC | mean AUC drop | worst corruption (its drop) |\n|---|---|---|---|\n";
  const ColumnRobustness* most = nullptr;
  const ColumnRobustness* least = nullptr;
  for (const auto& c : r.columns) {
    size_t worst = 0;
    for (size_t i = 1; i < c.auc_drop.size(); ++i)
      if (c.auc_drop[i] > c.auc_drop[worst]) worst = i;
    md << "| " << c.name << " | " << f3(c.clean_auc) << " | " << f3(c.mean_auc_drop) << " | "
       << r.corruptions[worst].corruption << " (" << f3(c.auc_drop[worst]) << ") |\n";
    if (!std::isfinite(c.mean_auc_drop)) continue;
    if (!most || c.mean_auc_drop > most->mean_auc_drop) most = &c;
    if (!least || c.mean_auc_drop < least->mean_auc_drop) least = &c;
  }
  if (most && least && most != least)
    md << "\nThe " << r.column_noun << " " << most->name << " loses the most AUC under corruption ("
       << f3(most->mean_auc_drop) << " on average), " << least->name << " the least ("
       << f3(least->mean_auc_drop) << ").\n";
}

std::string to_markdown(const RobustnessResult& r) {
  std::ostringstream md;
  md << "# Robustness of " << r.model << " on " << r.dataset << " (test split, " << r.images << " images)\n\n"
     << "Clean: AUC " << core::format_fixed(r.clean_auc, 3) << ", ACC " << core::format_fixed(r.clean_acc, 3)
     << ", ECE " << core::format_fixed(r.clean_ece, 3) << ", balanced error "
     << core::format_fixed(r.clean_balanced_error, 3) << ". Under "
     << (r.volumes ? "CT/MRI artifacts" : "MedMNIST-C's corruptions")
     << " (mean of 5 severities, then of the corruptions) the AUC drops by "
     << core::format_fixed(r.mean_auc_drop, 3) << " and the ACC by " << core::format_fixed(r.mean_acc_drop, 3)
     << "; the mean balanced error is " << core::format_fixed(r.mean_balanced_error, 3) << ".\n\n"
     << "| corruption | AUC s1 | s2 | s3 | s4 | s5 | mean AUC | AUC drop | ACC drop | BE | BE - clean BE |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& s : r.corruptions) {
    md << "| " << s.corruption;
    for (const auto& c : r.cells)
      if (c.corruption == s.corruption) md << " | " << core::format_fixed(c.auc, 3);
    md << " | " << core::format_fixed(s.mean_auc, 3) << " | " << core::format_fixed(s.auc_drop, 3) << " | "
       << core::format_fixed(s.acc_drop, 3) << " | " << core::format_fixed(s.balanced_error, 3) << " | "
       << core::format_fixed(s.relative_balanced_error, 3) << " |\n";
  }
  if (!r.corruptions.empty()) {
    const auto worst = std::max_element(r.corruptions.begin(), r.corruptions.end(),
                                        [](const auto& a, const auto& b) { return a.auc_drop < b.auc_drop; });
    const auto mildest =
        std::min_element(r.corruptions.begin(), r.corruptions.end(),
                         [](const auto& a, const auto& b) { return a.auc_drop < b.auc_drop; });
    md << "\n"
       << worst->corruption << " costs the most AUC (" << core::format_fixed(worst->auc_drop, 3)
       << " on average over its "
       << "severities), " << mildest->corruption << " the least (" << core::format_fixed(mildest->auc_drop, 3)
       << ").\n";
  }
  column_markdown(md, r);
  if (!r.skipped.empty()) {
    md << "\nNot computed by mednet (MedMNIST-C defines them for this dataset):";
    for (const auto& s : r.skipped) md << " " << s;
    md << ".\n";
  }
  return md.str();
}

}  // namespace

RobustnessResult robustness_run(const std::string& run_dir, const std::string& out_dir,
                                const RobustnessOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  run::OpenRunOptions ro;
  ro.root = o.root;
  ro.check_md5 = o.check_md5;
  const bool ensemble = is_ensemble_folder(run_dir);
  std::vector<ScoringNet> nets;
  if (ensemble)
    nets = open_ensemble_members(run_dir, ro);
  else
    nets.push_back(open_scoring_run(run_dir, ro));
  const run::OpenRun& r = *nets.front().run;
  const data::DatasetInfo& info = *r.info;
  const std::vector<augment::CorruptionSpec>& list =
      info.volumetric ? augment::volume_artifacts() : augment::medmnistc_corruptions(info.flag);
  MN_CHECK_USAGE(!list.empty(), "MedMNIST-C defines no corruptions for ", info.display_name, " (", run_dir,
                 ")");
  MN_CHECK_USAGE(o.max_images >= 0, "--max-images must be >= 0");
  const core::FolderLock lock = core::FolderLock::acquire(out_dir);

  at::Tensor images = r.data.test.images, labels = r.data.test.labels;
  if (o.max_images > 0 && o.max_images < images.size(0)) {
    images = images.slice(0, 0, o.max_images);
    labels = labels.slice(0, 0, o.max_images);
  }
  const data::Task task = info.task;
  const auto score = [&](const at::Tensor& x, RobustnessCell* cell) {
    const at::Tensor p = mean_probabilities(nets, x, c10::kCPU, r.config.eval_batch_size);
    const metrics::Scores s = metrics::evaluate(task, labels, p);
    cell->auc = s.auc;
    cell->acc = s.acc;
    cell->ece = metrics::calibration_scores(task, labels, p).ece;
    cell->balanced_error = metrics::balanced_error(task, labels, p);
    if (task != data::Task::BinaryClass) cell->column_auc = metrics::per_class_auc(task, labels, p);
  };

  RobustnessResult res;
  res.dataset = info.display_name;
  res.volumes = info.volumetric;
  res.model = r.config.model.name;
  if (ensemble) {
    const bool one_model = std::all_of(nets.begin(), nets.end(), [&](const ScoringNet& n) {
      return n.run->config.model.name == r.config.model.name;
    });
    res.model = "ensemble of " + std::to_string(nets.size()) + (one_model ? " " + res.model : " runs");
  }
  res.images = images.size(0);
  RobustnessCell clean;
  score(images, &clean);
  res.clean_auc = clean.auc;
  res.clean_acc = clean.acc;
  res.clean_ece = clean.ece;
  res.clean_balanced_error = clean.balanced_error;
  int64_t total = 0, done = 0;
  for (const auto& c : list) total += c.implemented ? 5 : 0;
  for (size_t ci = 0; ci < list.size(); ++ci) {
    const augment::CorruptionSpec& c = list[ci];
    if (!c.implemented) {
      res.skipped.push_back(c.name);
      continue;
    }
    CorruptionSummary sum{c.name};
    for (int s = 1; s <= 5; ++s) {
      RobustnessCell cell{c.name, s};
      score(corrupted_split(c, ci, s, images, o.seed), &cell);
      sum.mean_auc += cell.auc / 5;
      sum.mean_acc += cell.acc / 5;
      sum.balanced_error += cell.balanced_error / 5;
      res.cells.push_back(cell);
      if (o.progress) o.progress(++done, total);
    }
    sum.auc_drop = res.clean_auc - sum.mean_auc;
    sum.acc_drop = res.clean_acc - sum.mean_acc;
    sum.relative_balanced_error = sum.balanced_error - res.clean_balanced_error;
    res.mean_auc_drop += sum.auc_drop;
    res.mean_acc_drop += sum.acc_drop;
    res.mean_balanced_error += sum.balanced_error;
    res.corruptions.push_back(sum);
  }
  const auto n = static_cast<double>(res.corruptions.size());
  res.mean_auc_drop /= n;
  res.mean_acc_drop /= n;
  res.mean_balanced_error /= n;
  res.column_noun = data::output_noun(task);
  res.columns = column_drops(res, clean, info.labels);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const int side = static_cast<int>(images.size(-1));
  res.summary = to_json(res, list, side, info.volumetric, o, run_dir);
  res.markdown = to_markdown(res);
  core::write_file_atomic(out_dir + "/robustness.json", res.summary.dump(2) + "\n");
  core::write_file_atomic(out_dir + "/robustness.md", res.markdown);
  if (report::plots_available()) {
    save_plot(res, out_dir + "/robustness_auc.png");
    save_grid(list, images, labels, o.seed,
              res.dataset +
                  (info.volumetric ? ": CT/MRI artifacts (middle slices)" : ": MedMNIST-C corruptions") +
                  ", severities 1 to 5",
              out_dir + "/corruptions.png");
  }
  return res;
}

}  // namespace mednet::trust
