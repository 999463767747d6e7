#pragma once
// learning_curves.png of a run: loss; AUC and ACC; train and validation; the best epoch marked.
#include <string>
#include <vector>

#include "mednet/run/history.h"

namespace mednet::run {

/// Writes the plot (needs a build with cairo: report::plots_available()). The best epoch's marker is
/// labelled "best val " + selected_by ("AUC", "loss" or "ACC": run::selection_score of the run's config).
void write_learning_curves(const std::vector<EpochRecord>& history, int best_epoch,
                           const std::string& selected_by, const std::string& title, const std::string& path);

}  // namespace mednet::run
