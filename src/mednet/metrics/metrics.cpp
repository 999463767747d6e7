#include "mednet/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/metrics/per_class.h"

namespace mednet::metrics {

double roc_auc(const std::vector<double>& scores, const std::vector<int>& targets) {
  MN_CHECK(scores.size() == targets.size(), "roc_auc: ", scores.size(), " scores but ", targets.size(),
           " targets");
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Average ranks over ties, then U = sum of positive ranks - n_pos (n_pos + 1) / 2.
  double rank_sum_pos = 0;
  size_t n_pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double avg_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) {
      if (targets[order[k]] != 0) {
        rank_sum_pos += avg_rank;
        ++n_pos;
      }
    }
    i = j + 1;
  }
  const size_t n_neg = n - n_pos;
  if (n_pos == 0 || n_neg == 0) return std::nan("");
  const double u = rank_sum_pos - static_cast<double>(n_pos) * (static_cast<double>(n_pos) + 1.0) / 2.0;
  return u / (static_cast<double>(n_pos) * static_cast<double>(n_neg));
}

namespace {

/// The mean over the scored columns' AUCs; an undefined one is named in warnings.
double mean_column_auc(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                       std::vector<std::string>& warnings) {
  const std::vector<ScoredColumn> cols = scored_columns(task, labels, probs);
  double sum = 0;
  for (const auto& c : cols) {
    const double auc = roc_auc(c.scores, c.targets);
    if (std::isnan(auc))
      warnings.push_back("AUC undefined for " + c.name + ": its targets are all one class");
    sum += auc;
  }
  return sum / static_cast<double>(cols.size());
}

}  // namespace

Scores evaluate(data::Task task, const at::Tensor& labels_in, const at::Tensor& probs_in) {
  at::Tensor probs = probs_in.detach().to(at::kCPU).to(at::kDouble);
  at::Tensor labels = labels_in.detach().to(at::kCPU).to(at::kLong);
  if (labels.dim() == 1) labels = labels.unsqueeze(1);
  if (probs.dim() == 1) probs = probs.unsqueeze(1);
  const int64_t n = probs.size(0);
  MN_CHECK(labels.size(0) == n, "evaluate: ", labels.size(0), " labels but ", n, " score rows");
  Scores s;
  if (n == 0) {
    s.auc = s.acc = std::nan("");
    s.warnings.push_back("no samples to score");
    return s;
  }
  switch (task) {
    case data::Task::MultiLabel: {
      MN_CHECK(labels.sizes() == probs.sizes(),
               "evaluate: multi-label needs labels and scores of one shape, got ", labels.sizes(), " and ",
               probs.sizes());
      double acc_sum = 0;
      for (int64_t c = 0; c < probs.size(1); ++c) {
        const at::Tensor pred = probs.select(1, c).gt(0.5).to(at::kLong);
        acc_sum += pred.eq(labels.select(1, c)).to(at::kDouble).mean().item<double>();
      }
      s.auc = mean_column_auc(task, labels, probs, s.warnings);
      s.acc = acc_sum / static_cast<double>(probs.size(1));
      break;
    }
    case data::Task::BinaryClass: {
      MN_CHECK(labels.size(1) == 1, "evaluate: binary-class labels must be (N, 1), got ", labels.sizes());
      const int64_t last = probs.size(1) - 1;
      const at::Tensor y = labels.select(1, 0);
      s.auc = mean_column_auc(task, labels, probs, s.warnings);
      const at::Tensor pred = probs.select(1, last).gt(0.5).to(at::kLong);
      s.acc = pred.eq(y).to(at::kDouble).mean().item<double>();
      break;
    }
    case data::Task::MultiClass:
    case data::Task::OrdinalRegression: {
      MN_CHECK(labels.size(1) == 1, "evaluate: multi-class labels must be (N, 1), got ", labels.sizes());
      const at::Tensor y = labels.select(1, 0);
      s.auc = mean_column_auc(task, labels, probs, s.warnings);
      s.acc = probs.argmax(1).eq(y).to(at::kDouble).mean().item<double>();
      break;
    }
  }
  return s;
}

at::Tensor probabilities(data::Task task, const at::Tensor& logits) {
  return task == data::Task::MultiLabel ? torch::sigmoid(logits) : torch::softmax(logits, 1);
}

void Accumulator::update(const at::Tensor& labels, const at::Tensor& probs) {
  // Kept where they are (a copy to the host would wait for the device); moved once when read.
  labels_.push_back(labels.detach());
  probs_.push_back(probs.detach().to(at::kFloat));
}

Scores Accumulator::compute() const {
  return evaluate(task_, labels(), probs());
}

void Accumulator::reset() {
  labels_.clear();
  probs_.clear();
}

int64_t Accumulator::count() const {
  int64_t n = 0;
  for (const auto& l : labels_) n += l.size(0);
  return n;
}

at::Tensor Accumulator::probs() const {
  return probs_.empty() ? torch::empty({0, 1}) : torch::cat(probs_).to(at::kCPU);
}
at::Tensor Accumulator::labels() const {
  return labels_.empty() ? torch::empty({0, 1}, torch::kLong) : torch::cat(labels_).to(at::kCPU);
}

}  // namespace mednet::metrics
