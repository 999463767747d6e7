#include "mednet/report/benchmarks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace mednet::report {

std::vector<BenchmarkRow> medmnist_v2_rows(const std::string& flag) {
  static const std::map<std::string, std::vector<BenchmarkRow>> kTable = {
      {"adrenalmnist3d",
       {{"ResNet-18+2.5D", 0.718, 0.772},
        {"ResNet-18+3D", 0.827, 0.721},
        {"ResNet-18+ACS", 0.839, 0.754},
        {"ResNet-50+2.5D", 0.732, 0.763},
        {"ResNet-50+3D", 0.828, 0.745},
        {"ResNet-50+ACS", 0.828, 0.758},
        {"auto-sklearn", 0.828, 0.802},
        {"AutoKeras", 0.804, 0.705}}},
      {"nodulemnist3d",
       {{"ResNet-18+2.5D", 0.838, 0.835},
        {"ResNet-18+3D", 0.863, 0.844},
        {"ResNet-18+ACS", 0.873, 0.847},
        {"ResNet-50+2.5D", 0.835, 0.848},
        {"ResNet-50+3D", 0.875, 0.847},
        {"ResNet-50+ACS", 0.886, 0.841},
        {"auto-sklearn", 0.914, 0.874},
        {"AutoKeras", 0.844, 0.834}}},
      {"retinamnist",
       {{"ResNet-18 (28)", 0.717, 0.524},
        {"ResNet-18 (224)", 0.710, 0.493},
        {"ResNet-50 (28)", 0.726, 0.528},
        {"ResNet-50 (224)", 0.716, 0.511},
        {"auto-sklearn", 0.690, 0.515},
        {"AutoKeras", 0.719, 0.503},
        {"Google AutoML Vision", 0.750, 0.531}}},
      {"chestmnist",
       {{"ResNet-18 (28)", 0.768, 0.947},
        {"ResNet-18 (224)", 0.773, 0.947},
        {"ResNet-50 (28)", 0.769, 0.947},
        {"ResNet-50 (224)", 0.773, 0.948},
        {"auto-sklearn", 0.649, 0.779},
        {"AutoKeras", 0.742, 0.937},
        {"Google AutoML Vision", 0.778, 0.948}}},
  };
  auto it = kTable.find(flag);
  return it == kTable.end() ? std::vector<BenchmarkRow>{} : it->second;
}

std::optional<BenchmarkRow> best_medmnist_v2_row(const std::string& flag) {
  std::optional<BenchmarkRow> best;
  for (const auto& r : medmnist_v2_rows(flag))
    if (!best || r.auc > best->auc) best = r;
  return best;
}

std::string comparison_table(const std::string& flag, const std::string& run_label, double auc, double acc) {
  const auto rows = medmnist_v2_rows(flag);
  std::string out;
  char line[160];
  std::snprintf(line, sizeof line, "  %-24s %7s %7s\n", "test split", "AUC", "ACC");
  out += line;
  std::snprintf(line, sizeof line, "  %-24s %7.3f %7.3f   <- this run\n", run_label.c_str(), auc, acc);
  out += line;
  if (rows.empty()) return out + "  (no MedMNIST v2 rows for " + flag + ")\n";
  double best_auc = 0, best_acc = 0;
  for (const auto& r : rows) {
    best_auc = std::max(best_auc, r.auc);
    best_acc = std::max(best_acc, r.acc);
  }
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "  %-24s %7.3f %7.3f\n", ("v2 " + r.method).c_str(), r.auc, r.acc);
    out += line;
  }
  std::snprintf(line, sizeof line, "  this run vs best v2 row: AUC %+.3f, ACC %+.3f\n", auc - best_auc,
                acc - best_acc);
  return out + line;
}

}  // namespace mednet::report
