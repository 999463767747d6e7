#include "mednet/explain/cam_compare.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/explain/cam.h"

namespace mednet::explain {

using nlohmann::json;

std::string compare_cam_methods(const CamStudyOptions& options, const std::vector<std::string>& methods,
                                const std::function<void(const std::string&)>& log) {
  const core::FolderLock lock = core::FolderLock::acquire(options.out);  // one writer of the comparison
  struct Row {
    std::string method, paper;
    double ratio, by_map, random, randomisation, seconds;
  };
  std::vector<Row> rows;
  json out = json::object();
  for (const auto& m : methods) {
    CamStudyOptions o = options;
    o.method = m;
    o.out = options.out + "/" + m;
    const CamStudyResult r = run_cam_study(o);
    const json& s = r.summary;
    const json& d = s.at("deletion");
    Row row{m,
            "",
            0,
            core::number_at(d, "area_by_map"),
            core::number_at(d, "area_random"),
            core::number_at(s, "randomisation_rank_correlation_mean"),
            core::number_at(s, "seconds")};
    row.ratio = row.by_map / row.random;
    for (const auto& c : cam_methods())
      if (m == c.name) row.paper = c.paper;
    rows.push_back(row);
    out[m] = {{"deletion_area_by_map", core::finite_or_null(row.by_map)},
              {"deletion_area_random", core::finite_or_null(row.random)},
              {"deletion_ratio", core::finite_or_null(row.ratio)},
              {"randomisation_rank_correlation_mean", core::finite_or_null(row.randomisation)},
              {"seconds", core::finite_or_null(row.seconds)},
              {"paper", row.paper},
              {"folder", m}};
    if (log)
      log(m + ": deletion area " + core::format_fixed(row.by_map) + " against " +
          core::format_fixed(row.random) + " for random positions, randomisation correlation " +
          core::format_fixed(row.randomisation) + ", " + core::format_fixed(row.seconds, 2) + " s");
  }
  // The ordering rule: the deletion area relative to random deletion, lower first (the map finds the
  // positions the prediction depends on); ties and undefined values after.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    const bool fa = std::isfinite(a.ratio), fb = std::isfinite(b.ratio);
    return fa != fb ? fa : (fa && a.ratio < b.ratio);
  });
  std::ostringstream md;
  md << "# CAM methods on " << options.run << "\n\n"
     << options.samples << " " << options.split << " samples chosen " << options.select << ", fill "
     << options.fill << ". Ordered by the deletion area divided by that of random deletion (lower first: "
     << "blanking what the map highlights drops the target probability sooner than blanking at random). "
     << "Randomisation: mean Spearman correlation with the maps of the same architecture re-initialised "
        "(low: the map depends on what was learned).\n\n"
     << "| rank | method | deletion area / random | deletion area | random | randomisation | seconds | "
        "paper |\n|---|---|---|---|---|---|---|---|\n";
  json order = json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    order.push_back(r.method);
    md << "| " << i + 1 << " | " << r.method << " | " << core::format_fixed(r.ratio) << " | "
       << core::format_fixed(r.by_map) << " | " << core::format_fixed(r.random) << " | "
       << core::format_fixed(r.randomisation) << " | " << core::format_fixed(r.seconds, 2) << " | " << r.paper
       << " |\n";
  }
  core::write_file_atomic(options.out + "/methods.md", md.str());
  const json summary{{"run", options.run},
                     {"order", order},
                     {"rule", "deletion area / random deletion area, ascending"},
                     {"methods", out}};
  core::write_file_atomic(options.out + "/methods.json", summary.dump(2) + "\n");
  return md.str() + "\nwrote " + options.out + "/methods.md and methods.json\n";
}

}  // namespace mednet::explain
