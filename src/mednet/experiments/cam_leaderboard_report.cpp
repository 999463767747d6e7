// The study report's leaderboards of Experiment 2C: for each entry the gallery file ranks, every method
// on the same samples as a table, a forest plot of insertion minus deletion with its interval, the
// picture of all maps side by side, and conclusions written from the numbers.
#include <cmath>
#include <filesystem>

#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/data/catalog.h"
#include "mednet/experiments/stage_sections.h"
#include "mednet/metrics/bootstrap.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Ranked {
  std::string method;
  double value;
  metrics::Interval ci;
};

Ranked ranked(const json& row) {
  const json& v = row.at("insertion_minus_deletion");
  return {row.value("method", "?"), core::number_at(v, "mean"),
          metrics::Interval{core::number_at(v, "ci_low"), core::number_at(v, "ci_high")}};
}

std::string with_interval(const json& v, int digits = 3) {
  return metrics::format_with_interval(
      core::number_at(v, "mean"),
      metrics::Interval{core::number_at(v, "ci_low"), core::number_at(v, "ci_high")}, digits);
}

}  // namespace

void report_cam_leaderboards(ReportDoc& doc, const StageSpec& s, const std::string& out,
                             const json& gallery) {
  const std::string dir = out + "/" + s.name;
  const auto entries =
      gallery.value("leaderboard", json::object()).value("entries", std::vector<std::string>{});
  struct Top {
    std::string entry, model, method;
    int dims;
  };
  std::vector<Top> tops;
  for (const auto& entry : entries) {
    const std::string file = dir + "/" + entry + "/leaderboard.json";
    doc.heading(3, "Leaderboard: " + entry);
    if (!fs::exists(file)) {
      doc.gap(s.name + ": " + entry + " has no leaderboard (" + file + " is missing)");
      continue;
    }
    try {
      const json b = core::read_json_file(file, "leaderboard.json", true);
      const json& rows = b.at("methods");
      if (rows.empty()) {
        doc.gap(s.name + ": " + file + " ranks no method");
        continue;
      }
      // The entry's model and dataset from the first method's study.
      const std::string first = rows.at(0).value("folder", "");
      const json cam = core::read_json_file(dir + "/" + entry + "/" + first + "/cam.json", "cam.json", true);
      const std::string model = cam.value("model", "?"), flag = cam.value("dataset", "?");
      std::string dataset = flag;
      int dims = 2;
      try {
        const data::DatasetInfo& info = data::find_dataset(flag);
        dataset = info.display_name;
        dims = info.spatial_dims();
      } catch (const std::exception&) {
        // a dataset the catalog does not know: its flag, as written
      }
      doc.text(model + " on " + dataset + ": " + std::to_string(b.value("samples", 0)) + " " +
               b.value("split", std::string("test")) +
               " samples, the same for every method. Ranked by the "
               "insertion area (restored on a blurred copy) minus the deletion area (blanked to " +
               b.value("deletion_fill", std::string("black")) +
               "), each over 0 to 50% of the positions, with 95% bootstrap intervals over the samples.");
      Table t{{"rank", "method", "family", "layer", "insertion - deletion", "deletion area", "insertion area",
               "deletion / random", "ROAD", "randomisation (rank corr.)", "seconds per sample"},
              {},
              {}};
      std::vector<ForestRow> forest;
      for (const auto& r : rows) {
        t.add({std::to_string(r.value("rank", 0)), r.value("method", "?"), r.value("family", ""),
               r.value("layer", ""), with_interval(r.at("insertion_minus_deletion")),
               with_interval(r.at("deletion_area")), with_interval(r.at("insertion_area")),
               core::format_fixed(core::number_at(r, "deletion_ratio_to_random")),
               r.contains("road_combined") ? with_interval(r.at("road_combined"), 4) : std::string("n/a"),
               with_interval(r.at("randomisation_rank_correlation")),
               core::format_fixed(core::number_at(r, "seconds_per_sample"), 3)});
        const Ranked k = ranked(r);
        forest.push_back({k.method, k.value, k.ci, NAN});
      }
      doc.table(t);
      doc.chart(forest_chart(entry + ": insertion minus deletion area per method, with its 95% interval",
                             "insertion area - deletion area (higher: more faithful)",
                             "mean over the samples", "", forest),
                "", forest_height(forest.size()));
      const std::string grid = dir + "/" + entry + "/methods_grid.png";
      if (fs::exists(grid))
        doc.image(grid, s.name + "/" + entry + "/methods_grid.png",
                  entry + ": every method on the same samples");
      // Conclusions from the numbers: the leader, whether the next method's interval overlaps it, the last.
      const Ranked a = ranked(rows.at(0));
      std::string text = entry + " (" + model + ", " + dataset + "): " + a.method +
                         " ranks first by insertion minus deletion, " +
                         metrics::format_with_interval(a.value, a.ci) + " over " +
                         std::to_string(b.value("samples", 0)) + " samples";
      if (rows.size() > 1) {
        const Ranked c = ranked(rows.at(1));
        const bool overlap = !(c.ci.hi < a.ci.lo || a.ci.hi < c.ci.lo);
        text += "; the second, " + c.method + ", has " + metrics::format_with_interval(c.value, c.ci) +
                (overlap ? ": the intervals overlap, so these samples do not separate the two"
                         : ": the intervals do not overlap");
        const Ranked z = ranked(rows.at(rows.size() - 1));
        text += "; last is " + z.method + " at " + metrics::format_with_interval(z.value, z.ci);
      }
      int better = 0;
      for (const auto& r : rows)
        if (ranked(r).ci.lo > 0) ++better;
      text += ". " + std::to_string(better) + " of " + std::to_string(rows.size()) +
              " methods have an interval above 0 (restoring their top positions brings the prediction back "
              "sooner than blanking them takes it away).";
      doc.conclusion(text);
      tops.push_back({entry, model, a.method, dims});
    } catch (const std::exception& ex) {
      doc.gap(s.name + ": " + file + " is damaged: " + ex.what());
    }
  }
  // Whether the most faithful method is the same for the 2D and the 3D model.
  for (const auto& x : tops)
    for (const auto& y : tops)
      if (x.dims == 3 && y.dims == 2)
        doc.conclusion("The most faithful method by this rule (the point estimates) is " + x.method +
                       " for the 3D model (" + x.model + ", " + x.entry + ") and " + y.method +
                       " for the 2D model (" + y.model + ", " + y.entry + "): " +
                       (x.method == y.method ? "the same method in 2D and 3D."
                                             : "the ranking differs between 2D and 3D, so a method chosen "
                                               "on 2D pictures should not be assumed faithful for volumes."));
}

}  // namespace mednet::experiments
