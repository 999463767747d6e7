// mednet evaluate FILE.csv: score a standard result file (the medmnist package's format) against the
// labels of the split its name gives, as Evaluator.parse_and_evaluate does.
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "mednet/core/strings.h"
#include "mednet/engine/score_file.h"

namespace mednet::app {

void add_evaluate(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "evaluate",
      "Score standard result files ({flag}{size_flag}_{split}_...@{run}.csv) against their split");
  static std::vector<std::string> files;
  static CommonFlags common;
  cmd->add_option("files", files, "Result files, one line per sample: index, then one score per class")
      ->required();
  add_data_flags(*cmd, common, "$MEDMNIST_ROOT, then ~/.medmnist");
  cmd->callback([] {
    for (const auto& path : files) {
      const engine::FileScore f = engine::score_result_file(path, common.root, !common.skip_md5);
      std::cout << path << "\n  " << f.info->display_name << " " << f.name.size << ", " << f.name.split
                << " split, " << f.rows << " samples (" << f.data_file << ")\n  "
                << core::format_scores(f.scores.auc, f.scores.acc) << "\n  95% bootstrap intervals ("
                << f.ci.resamples << " resamples): " << metrics::format_intervals(f.ci) << "\n";
      for (const auto& w : f.scores.warnings) std::cout << "  warning: " << w << "\n";
    }
  });
}

}  // namespace mednet::app
