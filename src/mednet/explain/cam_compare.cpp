#include "mednet/explain/cam_compare.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/explain/methods.h"
#include "mednet/metrics/bootstrap.h"
#include "mednet/report/heatmap.h"
#include "mednet/report/image_grid.h"
#include "mednet/report/plot.h"

namespace mednet::explain {

using nlohmann::json;

namespace {

// The mean of per-sample values and its percentile bootstrap interval (the same resamples for every
// method, so the intervals are comparable); non-finite values are left out.
struct Mean {
  double value = std::nan("");
  metrics::Interval ci;
};

Mean bootstrap_mean(const std::vector<double>& values, const metrics::BootstrapOptions& o) {
  Mean m;
  auto mean_of = [&](const std::vector<int64_t>* rows) {
    double sum = 0;
    int64_t n = 0;
    const size_t count = rows ? rows->size() : values.size();
    for (size_t i = 0; i < count; ++i) {
      const double v = values[rows ? static_cast<size_t>((*rows)[i]) : i];
      if (std::isfinite(v)) {
        sum += v;
        ++n;
      }
    }
    return n > 0 ? sum / static_cast<double>(n) : std::nan("");
  };
  m.value = mean_of(nullptr);
  std::vector<double> means;
  for (const auto& rows : metrics::resample_indices(static_cast<int64_t>(values.size()), o)) {
    const double v = mean_of(&rows);
    if (std::isfinite(v)) means.push_back(v);
  }
  m.ci.lo = metrics::quantile(means, (1 - o.level) / 2);
  m.ci.hi = metrics::quantile(means, (1 + o.level) / 2);
  return m;
}

json to_json(const Mean& m) {
  return {{"mean", core::finite_or_null(m.value)},
          {"ci_low", core::finite_or_null(m.ci.lo)},
          {"ci_high", core::finite_or_null(m.ci.hi)}};
}

std::vector<double> per_sample(const json& samples, const char* key) {
  std::vector<double> out;
  for (const auto& s : samples) out.push_back(core::number_at(s, key));
  return out;
}

// Every method on the same samples, side by side: a row per sample (up to 4), the image then each
// method's overlay; in 3D the axial plane through each map's own peak (the image column: the middle plane).
void save_methods_grid(const std::vector<std::pair<std::string, CamStudyResult>>& studies,
                       const std::string& path) {
  const CamStudyResult& first = studies.front().second;
  const at::Tensor& images = first.images;
  const int64_t rows = std::min<int64_t>(4, images.size(0)), size = images.size(2);
  const int64_t scale = std::max<int64_t>(1, 84 / size), shown = size * scale;
  const bool volume = images.dim() == 5;
  std::vector<report::Tile> tiles;
  for (int64_t k = 0; k < rows; ++k) {
    const at::Tensor img = volume ? images[k].select(1, size / 2) : images[k];
    tiles.push_back(
        {report::enlarge_nearest(img, scale),
         "#" +
             std::to_string(first.summary.at("samples")[static_cast<size_t>(k)].at("index").get<int64_t>()) +
             (volume ? " z " + std::to_string(size / 2) : "")});
    for (const auto& [method, study] : studies) {
      const at::Tensor map = study.maps[k];
      if (!volume) {
        tiles.push_back({report::blend(report::enlarge_nearest(img, scale),
                                       report::colorize(report::enlarge_smooth(map, shown))),
                         method});
        continue;
      }
      const int64_t z = report::peak_voxel(map)[0];
      const at::Tensor plane = report::enlarge_nearest(images[k].select(1, z), scale);
      const at::Tensor heat = report::colorize(
          report::enlarge_smooth(map, shown).select(0, std::min(shown - 1, z * scale + scale / 2)));
      tiles.push_back({report::blend(plane, heat), method + " | z " + std::to_string(z)});
    }
  }
  report::save_image_grid(tiles, static_cast<int>(studies.size()) + 1, 1,
                          first.display_name + ": every method on the same samples" +
                              (volume ? " (axial planes through each map's peak)" : ""),
                          path);
}

}  // namespace

std::string compare_cam_methods(const CamStudyOptions& options, const std::vector<std::string>& methods,
                                const std::function<void(const std::string&)>& log) {
  for (const auto& m : methods) find_cam_method(m);                      // every name checked before any work
  const core::FolderLock lock = core::FolderLock::acquire(options.out);  // one writer of the comparison
  struct Row {
    std::string method, paper, family, layer;
    Mean score, deletion, insertion, road, randomisation;
    double deletion_ratio, seconds_per_sample;
  };
  const metrics::BootstrapOptions boot{1000, static_cast<uint64_t>(options.seed), 0.95};
  std::vector<Row> rows;
  std::vector<std::pair<std::string, CamStudyResult>> studies;
  int64_t samples = 0;
  for (const auto& m : methods) {
    CamStudyOptions o = options;
    o.method = m;
    o.out = options.out + "/" + m;
    const CamStudyResult r = run_cam_study(o);
    const json& s = r.summary;
    const json& per = s.at("samples");
    samples = static_cast<int64_t>(per.size());
    const std::vector<double> del = per_sample(per, "deletion_area"), ins = per_sample(per, "insertion_area");
    std::vector<double> score;
    for (size_t i = 0; i < del.size(); ++i) score.push_back(ins[i] - del[i]);
    const CamMethod& entry = find_cam_method(m);
    const json& d = s.at("deletion");
    Row row{m,
            entry.paper,
            entry.family,
            s.at("layer").get<std::string>(),
            bootstrap_mean(score, boot),
            bootstrap_mean(del, boot),
            bootstrap_mean(ins, boot),
            bootstrap_mean(per_sample(per, "road"), boot),
            bootstrap_mean(per_sample(per, "rank_correlation_vs_random_init"), boot),
            core::number_at(d, "area_by_map") / core::number_at(d, "area_random"),
            core::number_at(s, "seconds") / static_cast<double>(std::max<int64_t>(1, samples))};
    rows.push_back(row);
    studies.emplace_back(m, r);
    if (log)
      log(m + ": insertion - deletion " + core::format_fixed(row.score.value) + ", deletion area " +
          core::format_fixed(row.deletion.value) + ", insertion area " +
          core::format_fixed(row.insertion.value) + ", ROAD " + core::format_fixed(row.road.value, 4) +
          ", randomisation correlation " + core::format_fixed(row.randomisation.value) + ", " +
          core::format_fixed(row.seconds_per_sample, 3) + " s per sample");
  }
  // The ordering rule: the insertion area minus the deletion area, per sample, averaged (higher first:
  // restoring what the map highlights brings the prediction back sooner and blanking it takes the
  // prediction away sooner); undefined values last.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    const bool fa = std::isfinite(a.score.value), fb = std::isfinite(b.score.value);
    return fa != fb ? fa : (fa && a.score.value > b.score.value);
  });
  auto cell = [](const Mean& m) { return metrics::format_with_interval(m.value, m.ci); };
  auto cell4 = [](const Mean& m) { return metrics::format_with_interval(m.value, m.ci, 4); };
  std::ostringstream md;
  md << "# Explanation methods on " << options.run << "\n\n"
     << samples << " " << options.split << " samples chosen " << options.select
     << ", the same for every method; 95% percentile bootstrap intervals over the samples (" << boot.resamples
     << " resamples, seed " << boot.seed << ").\n\n"
     << "Ordered by the insertion area minus the deletion area (higher first). Deletion: the most "
        "highlighted "
        "positions blanked to "
     << options.fill
     << " first, the area under the target probability over 0 to 50% blanked (lower: the map finds what the "
        "prediction depends on). Insertion: the same positions restored first on a blurred copy (higher is "
        "better). Deletion / random: the deletion area over that of blanking random positions (below 1: "
        "better than chance). ROAD (Rong et al. 2022): the 20/40/60/80% least relevant positions imputed "
        "from their "
        "neighbours minus the most relevant ones, the target probability's change halved and averaged "
        "(higher: "
        "better; imputation avoids the blanked patterns a model may react to). Randomisation: the mean "
        "Spearman correlation with the maps of the same "
        "architecture re-initialised (low: the map depends on what was learned; Adebayo et al. 2018).\n\n"
     << "| rank | method | family | layer | insertion - deletion | deletion area | insertion area | "
        "deletion / random | ROAD | randomisation | seconds per sample | paper |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  json order = json::array(), table = json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    order.push_back(r.method);
    md << "| " << i + 1 << " | " << r.method << " | " << r.family << " | " << r.layer << " | "
       << cell(r.score) << " | " << cell(r.deletion) << " | " << cell(r.insertion) << " | "
       << core::format_fixed(r.deletion_ratio) << " | " << cell4(r.road) << " | " << cell(r.randomisation)
       << " | " << core::format_fixed(r.seconds_per_sample, 3) << " | " << r.paper << " |\n";
    table.push_back({{"rank", i + 1},
                     {"method", r.method},
                     {"family", r.family},
                     {"layer", r.layer},
                     {"paper", r.paper},
                     {"folder", r.method},
                     {"insertion_minus_deletion", to_json(r.score)},
                     {"deletion_area", to_json(r.deletion)},
                     {"insertion_area", to_json(r.insertion)},
                     {"deletion_ratio_to_random", core::finite_or_null(r.deletion_ratio)},
                     {"road_combined", to_json(r.road)},
                     {"randomisation_rank_correlation", to_json(r.randomisation)},
                     {"seconds_per_sample", core::finite_or_null(r.seconds_per_sample)}});
  }
  if (report::plots_available() && !studies.empty()) {
    save_methods_grid(studies, options.out + "/methods_grid.png");
    md << "\n![every method on the same samples](methods_grid.png)\n";
  }
  core::write_file_atomic(options.out + "/leaderboard.md", md.str());
  const json summary{
      {"run", options.run},
      {"split", options.split},
      {"samples", samples},
      {"select", options.select},
      {"deletion_fill", options.fill},
      {"insertion_baseline", "blur"},
      {"rule", "mean over samples of insertion area - deletion area, descending"},
      {"bootstrap", {{"resamples", boot.resamples}, {"seed", boot.seed}, {"level", boot.level}}},
      {"order", order},
      {"methods", table}};
  core::write_file_atomic(options.out + "/leaderboard.json", summary.dump(2) + "\n");
  return md.str() + "\nwrote " + options.out + "/leaderboard.md and leaderboard.json\n";
}

}  // namespace mednet::explain
