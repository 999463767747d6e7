#include "mednet/report/benchmarks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace mednet::report {

std::vector<BenchmarkRow> medmnist_v2_rows(const std::string& flag) {
  // The paper's benchmark tables, every dataset and method row, test split, AUC and ACC as printed (three
  // decimals): the 12 2D datasets (28-px images; the "(224)" rows resize them to 224 px) and the 6 3D
  // datasets (28^3 volumes; 2.5D, 3D and ACS convolutions).
  static const std::map<std::string, std::vector<BenchmarkRow>> kTable = {
      {"pathmnist",
       {{"ResNet-18 (28)", 0.983, 0.907},
        {"ResNet-18 (224)", 0.989, 0.909},
        {"ResNet-50 (28)", 0.990, 0.911},
        {"ResNet-50 (224)", 0.989, 0.892},
        {"auto-sklearn", 0.934, 0.716},
        {"AutoKeras", 0.959, 0.834},
        {"Google AutoML Vision", 0.944, 0.728}}},
      {"chestmnist",
       {{"ResNet-18 (28)", 0.768, 0.947},
        {"ResNet-18 (224)", 0.773, 0.947},
        {"ResNet-50 (28)", 0.769, 0.947},
        {"ResNet-50 (224)", 0.773, 0.948},
        {"auto-sklearn", 0.649, 0.779},
        {"AutoKeras", 0.742, 0.937},
        {"Google AutoML Vision", 0.778, 0.948}}},
      {"dermamnist",
       {{"ResNet-18 (28)", 0.917, 0.735},
        {"ResNet-18 (224)", 0.920, 0.754},
        {"ResNet-50 (28)", 0.913, 0.735},
        {"ResNet-50 (224)", 0.912, 0.731},
        {"auto-sklearn", 0.902, 0.719},
        {"AutoKeras", 0.915, 0.749},
        {"Google AutoML Vision", 0.914, 0.768}}},
      {"octmnist",
       {{"ResNet-18 (28)", 0.943, 0.743},
        {"ResNet-18 (224)", 0.958, 0.763},
        {"ResNet-50 (28)", 0.952, 0.762},
        {"ResNet-50 (224)", 0.958, 0.776},
        {"auto-sklearn", 0.887, 0.601},
        {"AutoKeras", 0.955, 0.763},
        {"Google AutoML Vision", 0.963, 0.771}}},
      {"pneumoniamnist",
       {{"ResNet-18 (28)", 0.944, 0.854},
        {"ResNet-18 (224)", 0.956, 0.864},
        {"ResNet-50 (28)", 0.948, 0.854},
        {"ResNet-50 (224)", 0.962, 0.884},
        {"auto-sklearn", 0.942, 0.855},
        {"AutoKeras", 0.947, 0.878},
        {"Google AutoML Vision", 0.991, 0.946}}},
      {"retinamnist",
       {{"ResNet-18 (28)", 0.717, 0.524},
        {"ResNet-18 (224)", 0.710, 0.493},
        {"ResNet-50 (28)", 0.726, 0.528},
        {"ResNet-50 (224)", 0.716, 0.511},
        {"auto-sklearn", 0.690, 0.515},
        {"AutoKeras", 0.719, 0.503},
        {"Google AutoML Vision", 0.750, 0.531}}},
      {"breastmnist",
       {{"ResNet-18 (28)", 0.901, 0.863},
        {"ResNet-18 (224)", 0.891, 0.833},
        {"ResNet-50 (28)", 0.857, 0.812},
        {"ResNet-50 (224)", 0.866, 0.842},
        {"auto-sklearn", 0.836, 0.803},
        {"AutoKeras", 0.871, 0.831},
        {"Google AutoML Vision", 0.919, 0.861}}},
      {"bloodmnist",
       {{"ResNet-18 (28)", 0.998, 0.958},
        {"ResNet-18 (224)", 0.998, 0.963},
        {"ResNet-50 (28)", 0.997, 0.956},
        {"ResNet-50 (224)", 0.997, 0.950},
        {"auto-sklearn", 0.984, 0.878},
        {"AutoKeras", 0.998, 0.961},
        {"Google AutoML Vision", 0.998, 0.966}}},
      {"tissuemnist",
       {{"ResNet-18 (28)", 0.930, 0.676},
        {"ResNet-18 (224)", 0.933, 0.681},
        {"ResNet-50 (28)", 0.931, 0.680},
        {"ResNet-50 (224)", 0.932, 0.680},
        {"auto-sklearn", 0.828, 0.532},
        {"AutoKeras", 0.941, 0.703},
        {"Google AutoML Vision", 0.924, 0.673}}},
      {"organamnist",
       {{"ResNet-18 (28)", 0.997, 0.935},
        {"ResNet-18 (224)", 0.998, 0.951},
        {"ResNet-50 (28)", 0.997, 0.935},
        {"ResNet-50 (224)", 0.998, 0.947},
        {"auto-sklearn", 0.963, 0.762},
        {"AutoKeras", 0.994, 0.905},
        {"Google AutoML Vision", 0.990, 0.886}}},
      {"organcmnist",
       {{"ResNet-18 (28)", 0.992, 0.900},
        {"ResNet-18 (224)", 0.994, 0.920},
        {"ResNet-50 (28)", 0.992, 0.905},
        {"ResNet-50 (224)", 0.993, 0.911},
        {"auto-sklearn", 0.976, 0.829},
        {"AutoKeras", 0.990, 0.879},
        {"Google AutoML Vision", 0.988, 0.877}}},
      {"organsmnist",
       {{"ResNet-18 (28)", 0.972, 0.782},
        {"ResNet-18 (224)", 0.974, 0.778},
        {"ResNet-50 (28)", 0.972, 0.770},
        {"ResNet-50 (224)", 0.975, 0.785},
        {"auto-sklearn", 0.945, 0.672},
        {"AutoKeras", 0.974, 0.813},
        {"Google AutoML Vision", 0.964, 0.749}}},
      {"organmnist3d",
       {{"ResNet-18+2.5D", 0.977, 0.788},
        {"ResNet-18+3D", 0.996, 0.907},
        {"ResNet-18+ACS", 0.994, 0.900},
        {"ResNet-50+2.5D", 0.974, 0.769},
        {"ResNet-50+3D", 0.994, 0.883},
        {"ResNet-50+ACS", 0.994, 0.889},
        {"auto-sklearn", 0.977, 0.814},
        {"AutoKeras", 0.979, 0.804}}},
      {"nodulemnist3d",
       {{"ResNet-18+2.5D", 0.838, 0.835},
        {"ResNet-18+3D", 0.863, 0.844},
        {"ResNet-18+ACS", 0.873, 0.847},
        {"ResNet-50+2.5D", 0.835, 0.848},
        {"ResNet-50+3D", 0.875, 0.847},
        {"ResNet-50+ACS", 0.886, 0.841},
        {"auto-sklearn", 0.914, 0.874},
        {"AutoKeras", 0.844, 0.834}}},
      {"adrenalmnist3d",
       {{"ResNet-18+2.5D", 0.718, 0.772},
        {"ResNet-18+3D", 0.827, 0.721},
        {"ResNet-18+ACS", 0.839, 0.754},
        {"ResNet-50+2.5D", 0.732, 0.763},
        {"ResNet-50+3D", 0.828, 0.745},
        {"ResNet-50+ACS", 0.828, 0.758},
        {"auto-sklearn", 0.828, 0.802},
        {"AutoKeras", 0.804, 0.705}}},
      {"fracturemnist3d",
       {{"ResNet-18+2.5D", 0.587, 0.451},
        {"ResNet-18+3D", 0.712, 0.508},
        {"ResNet-18+ACS", 0.714, 0.497},
        {"ResNet-50+2.5D", 0.552, 0.397},
        {"ResNet-50+3D", 0.725, 0.494},
        {"ResNet-50+ACS", 0.750, 0.517},
        {"auto-sklearn", 0.628, 0.453},
        {"AutoKeras", 0.642, 0.458}}},
      {"vesselmnist3d",
       {{"ResNet-18+2.5D", 0.748, 0.846},
        {"ResNet-18+3D", 0.874, 0.877},
        {"ResNet-18+ACS", 0.930, 0.928},
        {"ResNet-50+2.5D", 0.751, 0.877},
        {"ResNet-50+3D", 0.907, 0.918},
        {"ResNet-50+ACS", 0.858, 0.858},
        {"auto-sklearn", 0.910, 0.915},
        {"AutoKeras", 0.773, 0.894}}},
      {"synapsemnist3d",
       {{"ResNet-18+2.5D", 0.634, 0.696},
        {"ResNet-18+3D", 0.820, 0.745},
        {"ResNet-18+ACS", 0.705, 0.722},
        {"ResNet-50+2.5D", 0.669, 0.735},
        {"ResNet-50+3D", 0.851, 0.795},
        {"ResNet-50+ACS", 0.719, 0.709},
        {"auto-sklearn", 0.631, 0.730},
        {"AutoKeras", 0.538, 0.724}}},
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

namespace {

struct Best {
  double auc = 0, acc = 0;
};

Best best_of(const std::vector<BenchmarkRow>& rows) {
  Best b;
  for (const auto& r : rows) {
    b.auc = std::max(b.auc, r.auc);
    b.acc = std::max(b.acc, r.acc);
  }
  return b;
}

// One line per published row, "*" after the best AUC and the best ACC of the dataset.
std::string row_lines(const std::vector<BenchmarkRow>& rows) {
  const Best best = best_of(rows);
  std::string out;
  char line[160];
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "  %-24s %7.3f%s %7.3f%s\n", ("v2 " + r.method).c_str(), r.auc,
                  r.auc == best.auc ? "*" : " ", r.acc, r.acc == best.acc ? "*" : " ");
    out += line;
  }
  return out;
}

std::string header_line() {
  char line[80];
  std::snprintf(line, sizeof line, "  %-24s %7s  %7s\n", "test split", "AUC", "ACC");
  return line;
}

}  // namespace

std::string comparison_table(const std::string& flag, const std::string& run_label, double auc, double acc) {
  const auto rows = medmnist_v2_rows(flag);
  std::string out = header_line();
  char line[160];
  std::snprintf(line, sizeof line, "  %-24s %7.3f  %7.3f    <- this run\n", run_label.c_str(), auc, acc);
  out += line;
  if (rows.empty()) return out + "  (no MedMNIST v2 rows for " + flag + ")\n";
  const Best best = best_of(rows);
  std::snprintf(line, sizeof line, "  this run vs best v2 row (*): AUC %+.3f, ACC %+.3f\n", auc - best.auc,
                acc - best.acc);
  return out + row_lines(rows) + line;
}

std::string published_table(const std::string& flag) {
  const auto rows = medmnist_v2_rows(flag);
  if (rows.empty()) return "  (no MedMNIST v2 rows for " + flag + ")\n";
  return "  MedMNIST v2 (Yang et al., Scientific Data 2023), test split, * = best of the column:\n" +
         header_line() + row_lines(rows);
}

}  // namespace mednet::report
