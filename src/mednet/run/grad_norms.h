#pragma once
// grad_norms.csv: per-layer gradient norms (epoch, depth, layer, grad_norm), one row per weight tensor
// and recorded epoch; epoch 0 holds the run's first training step. Writer and reader together.
#include <string>
#include <vector>

namespace mednet::run {

/// The norms of one recorded epoch, in depth order.
struct GradNorms {
  std::vector<std::string> layers;
  std::vector<double> norms;
};

/// Rows of one epoch as CSV text; with header = true the column names come first.
std::string grad_norms_rows(int epoch, const GradNorms& g, bool header);
/// Appends one epoch's rows to path (the header too when the file is new).
void append_grad_norms(const std::string& path, int epoch, const GradNorms& g);
/// The rows of one epoch (0 = the first training step).
GradNorms read_grad_norms(const std::string& path, int epoch);

}  // namespace mednet::run
