#pragma once
// Published MedMNIST v2 test results for all 18 datasets (Yang et al., "MedMNIST v2 - A large-scale
// lightweight benchmark for 2D and 3D biomedical image classification", Scientific Data 10:41, 2023,
// doi:10.1038/s41597-022-01721-8), to print a run's numbers beside them. The one place the published
// numbers live: runs, experiments, the study report and `mednet info FLAG` read them from here.
#include <optional>
#include <string>
#include <vector>

namespace mednet::report {

struct BenchmarkRow {
  std::string method;
  double auc;
  double acc;
};

/// The MedMNIST v2 rows for a dataset flag; empty when the table has none for it.
std::vector<BenchmarkRow> medmnist_v2_rows(const std::string& flag);
/// The row with the highest published AUC of a dataset (the first of equals); none without rows.
std::optional<BenchmarkRow> best_medmnist_v2_row(const std::string& flag);

/// A text table: this run's test AUC/ACC first, then the published rows, best AUC and ACC marked.
std::string comparison_table(const std::string& flag, const std::string& run_label, double auc, double acc);
/// The published rows alone as a text table (method, AUC, ACC; the best of each column marked), or a line
/// saying the table has none.
std::string published_table(const std::string& flag);

}  // namespace mednet::report
