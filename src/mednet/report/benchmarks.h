#pragma once
// Published MedMNIST v2 test results (Yang et al., Scientific Data 10:41, 2023), to print a run's
// numbers beside them.
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

}  // namespace mednet::report
