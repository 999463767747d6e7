#pragma once
// The medmnist package's standard result file, writer and reader together: one line per sample,
// "index,score_0,...,score_K-1", no header, named
//   {flag}{size_flag}_{split}_[AUC]{auc:.3f}_[ACC]{acc:.3f}@{run}.csv
// where size_flag is empty at 28 px and "_64" (and so on) otherwise, so that the package's
// Evaluator.parse_and_evaluate scores the file the same as mednet does.
#include <string>

#include <ATen/core/Tensor.h>

namespace mednet::metrics {

struct ResultFileName {
  std::string flag;  ///< dataset flag, e.g. "retinamnist"
  int size = 28;
  std::string split;  ///< train, val or test
  std::string run;    ///< after the '@' (may be empty when the name has none)
};

/// The standard name; run must not hold '.', '_', '@' or '/' (an error).
std::string result_file_name(const ResultFileName& n, double auc, double acc);

/// Parses a name (a path's last component) the way parse_and_evaluate does: flag, then either the
/// split or the size and then the split. An unparseable name is an error naming it.
ResultFileName parse_result_file_name(const std::string& path);

/// Writes probs [N, K] atomically, rows in order with their index, scores with 9 significant digits.
void write_result_file(const std::string& path, const at::Tensor& probs);

/// Reads a result file as float64 [N, K], rows sorted by their index; a malformed line, a missing or
/// repeated index, or rows of different lengths is an error naming the file and the line.
at::Tensor read_result_file(const std::string& path);

}  // namespace mednet::metrics
