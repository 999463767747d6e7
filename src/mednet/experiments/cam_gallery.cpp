#include "mednet/experiments/cam_gallery.h"

#include <algorithm>
#include <sstream>

#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/explain/cam_compare.h"
#include "mednet/explain/methods.h"

namespace mednet::experiments {

using nlohmann::json;

namespace {
std::string fixed(double v, int digits = 3) {
  return core::format_fixed(v, digits);
}
}  // namespace

// A gallery file: {"name", "description", "methods": [...], "entries": [{"name", "run", "samples",
// "select", "layer", "fill"}]}. Each entry and method goes to OUT/<entry>/<method>/; gallery.md puts the
// numbers side by side.
std::string run_cam_gallery(const std::string& config, const explain::CamStudyOptions& base,
                            const std::function<void(const std::string&)>& log) {
  const json g = core::read_json_file(config, "gallery file");
  MN_CHECK_USAGE(g.contains("entries") && g.at("entries").is_array() && !g.at("entries").empty(), config,
                 " needs a non-empty \"entries\" list of {\"name\", \"run\"}");
  const auto methods = g.value("methods", std::vector<std::string>{base.method});
  for (const auto& m : methods) explain::find_cam_method(m);
  const json board = g.value("leaderboard", json::object());
  MN_CHECK_USAGE(board.is_object(), config,
                 ": \"leaderboard\" must be {\"entries\": [...], \"methods\": ...}");
  const auto board_entries = board.value("entries", std::vector<std::string>{});
  const std::vector<std::string> board_methods =
      explain::parse_cam_methods(board.value("methods", std::string("all")));
  std::vector<std::pair<std::string, std::string>> boards;            // entry, leaderboard.md
  const core::FolderLock lock = core::FolderLock::acquire(base.out);  // one writer of the gallery
  std::ostringstream md;
  md << "# " << g.value("name", std::string("gallery")) << "\n\n"
     << g.value("description", std::string()) << "\n\n"
     << "Randomisation: mean Spearman correlation between the maps of the trained model and of the same "
        "architecture re-initialised (low = the maps depend on what was learned). Deletion: area under the "
        "target probability as the most highlighted positions are blanked (to black, the chosen fill), "
        "against random positions (lower = faster drop); the next column gives map / random for the other "
        "fills. Central share: heatmap mass in the central half of each axis, per true class (a multi-label "
        "picture "
        "counts under its first finding present).\n\n"
     << "| entry | model | dataset | method | layer | samples | randomisation | deletion by map | deletion "
        "random | other fills (map / random) | "
        "central share per class |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& e : g.at("entries")) {
    MN_CHECK_USAGE(e.contains("name") && e.contains("run"), "each gallery entry needs \"name\" and \"run\"");
    const std::string name = e.at("name").get<std::string>();
    explain::CamStudyOptions f = base;
    f.run = e.at("run").get<std::string>();
    f.samples = e.value("samples", base.samples);
    f.select = e.value("select", base.select);
    f.fill = e.value("fill", base.fill);
    f.layer = e.value("layer", base.layer);
    std::vector<std::string> compared;
    if (std::find(board_entries.begin(), board_entries.end(), name) != board_entries.end()) {
      // Every method on the same samples, ranked; the gallery's own rows read their studies from there.
      f.out = base.out + "/" + name;
      log("\n=== " + name + ", " + std::to_string(board_methods.size()) + " methods -> " + f.out +
          "/leaderboard.md");
      boards.emplace_back(name, explain::compare_cam_methods(f, board_methods, log));
      compared = board_methods;
    }
    for (const auto& method : methods) {
      f.method = method;
      f.out = base.out + "/" + name + "/" + method;
      json s;
      if (std::find(compared.begin(), compared.end(), method) != compared.end()) {
        s = core::read_json_file(f.out + "/cam.json", "cam.json");
      } else {
        log("\n=== " + name + ", " + method + " -> " + f.out);
        const explain::CamStudyResult study = explain::run_cam_study(f);
        log(study.text);
        s = study.summary;
      }
      std::string shares;
      for (const auto& c : s.at("per_class"))
        shares += (shares.empty() ? "" : ", ") + c.at("label").get<std::string>() + " " +
                  fixed(c.at("central_share").get<double>(), 2);
      const auto& d = s.at("deletion");
      md << "| " << name << " | " << s.at("model").get<std::string>() << " | "
         << s.at("dataset").get<std::string>() << " | " << method << " | " << s.at("layer").get<std::string>()
         << " | " << s.at("samples").size() << " | "
         << (s.at("randomisation_rank_correlation_mean").is_number()
                 ? fixed(s.at("randomisation_rank_correlation_mean").get<double>())
                 : std::string("n/a"))
         << " | " << fixed(d.at("area_by_map").get<double>(), 4) << " | "
         << fixed(d.at("area_random").get<double>(), 4) << " | ";
      for (const auto& [fill, v] : s.at("deletion_by_fill").items()) {
        if (fill == f.fill) continue;
        md << fill << " " << fixed(v.at("area_by_map").get<double>(), 4) << " / "
           << fixed(v.at("area_random").get<double>(), 4) << "; ";
      }
      md << " | " << shares << " |\n";
    }
  }
  for (const auto& [entry, board_md] : boards) {
    // The leaderboard's own title line gives way to the entry's; its picture lives in the entry's folder.
    std::string body = board_md.substr(board_md.find('\n') + 1);
    body = body.substr(0, body.rfind("\nwrote "));
    const std::string picture = "](methods_grid.png)";
    if (const size_t at = body.find(picture); at != std::string::npos)
      body.replace(at, picture.size(), "](" + entry + "/methods_grid.png)");
    md << "\n## Leaderboard: " << entry << "\n" << body;
  }
  core::write_file_atomic(base.out + "/gallery.md", md.str());
  return md.str();
}

}  // namespace mednet::experiments
