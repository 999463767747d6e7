#include "mednet/metrics/per_class.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/metrics/metrics.h"

namespace mednet::metrics {

namespace {

std::vector<double> to_doubles(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::vector<int> to_ints(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kInt).contiguous();
  return std::vector<int>(c.data_ptr<int>(), c.data_ptr<int>() + c.numel());
}

}  // namespace

std::vector<ScoredColumn> scored_columns(data::Task task, const at::Tensor& labels_in,
                                         const at::Tensor& probs_in) {
  const at::Tensor probs = probs_in.detach().to(at::kCPU).to(at::kDouble);
  at::Tensor labels = labels_in.detach().to(at::kCPU).to(at::kLong);
  if (labels.dim() == 1) labels = labels.unsqueeze(1);
  MN_CHECK(probs.dim() == 2 && labels.size(0) == probs.size(0), "per-class scores: ", labels.size(0),
           " labels for scores of shape ", probs.sizes());
  std::vector<ScoredColumn> cols;
  if (task == data::Task::BinaryClass) {
    cols.push_back({"class 1", to_doubles(probs.select(1, probs.size(1) - 1)), to_ints(labels.select(1, 0))});
  } else if (task == data::Task::MultiLabel) {
    for (int64_t c = 0; c < probs.size(1); ++c) {
      cols.push_back(
          {"label " + std::to_string(c), to_doubles(probs.select(1, c)), to_ints(labels.select(1, c))});
    }
  } else {
    for (int64_t c = 0; c < probs.size(1); ++c) {
      cols.push_back(
          {"class " + std::to_string(c), to_doubles(probs.select(1, c)), to_ints(labels.select(1, 0).eq(c))});
    }
  }
  return cols;
}

std::vector<double> per_class_auc(data::Task task, const at::Tensor& labels, const at::Tensor& probs) {
  std::vector<double> out;
  for (const auto& c : scored_columns(task, labels, probs)) out.push_back(roc_auc(c.scores, c.targets));
  return out;
}

std::vector<int64_t> predicted_classes(data::Task task, const at::Tensor& probs_in) {
  MN_CHECK(task != data::Task::MultiLabel, "predicted classes are not defined for multi-label tasks");
  const at::Tensor probs = probs_in.detach().to(at::kCPU).to(at::kDouble);
  const at::Tensor pred = task == data::Task::BinaryClass
                              ? probs.select(1, probs.size(1) - 1).gt(0.5).to(at::kLong)
                              : probs.argmax(1);
  const at::Tensor c = pred.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

std::vector<std::vector<int64_t>> confusion_matrix(data::Task task, const at::Tensor& labels_in,
                                                   const at::Tensor& probs) {
  if (task == data::Task::MultiLabel) return {};
  const std::vector<int64_t> pred = predicted_classes(task, probs);
  const at::Tensor labels = labels_in.detach().to(at::kCPU).to(at::kLong).reshape({-1}).contiguous();
  MN_CHECK(labels.numel() == static_cast<int64_t>(pred.size()), "confusion matrix: ", labels.numel(),
           " labels for ", pred.size(), " predictions");
  const int64_t k = task == data::Task::BinaryClass ? 2 : probs.size(1);
  std::vector<std::vector<int64_t>> m(static_cast<size_t>(k),
                                      std::vector<int64_t>(static_cast<size_t>(k), 0));
  const int64_t* y = labels.data_ptr<int64_t>();
  for (size_t i = 0; i < pred.size(); ++i) {
    MN_CHECK(y[i] >= 0 && y[i] < k, "confusion matrix: label ", y[i], " outside 0..", k - 1);
    ++m[static_cast<size_t>(y[i])][static_cast<size_t>(pred[i])];
  }
  return m;
}

namespace {

// Mean recall over the classes present in m's rows (true classes).
double balanced_accuracy(const std::vector<std::vector<int64_t>>& m) {
  double sum = 0;
  int present = 0;
  for (size_t t = 0; t < m.size(); ++t) {
    const int64_t row = std::accumulate(m[t].begin(), m[t].end(), int64_t{0});
    if (row == 0) continue;
    sum += static_cast<double>(m[t][t]) / static_cast<double>(row);
    ++present;
  }
  return present == 0 ? std::nan("") : sum / present;
}

}  // namespace

double balanced_error(data::Task task, const at::Tensor& labels, const at::Tensor& probs) {
  if (task != data::Task::MultiLabel) return 1.0 - balanced_accuracy(confusion_matrix(task, labels, probs));
  const at::Tensor y = labels.detach().to(at::kCPU).to(at::kLong);
  const at::Tensor pred = probs.detach().to(at::kCPU).gt(0.5).to(at::kLong);
  MN_CHECK(y.sizes() == pred.sizes(), "balanced error: labels ", y.sizes(), " and probabilities ",
           pred.sizes());
  double sum = 0;
  for (int64_t l = 0; l < y.size(1); ++l) {
    std::vector<std::vector<int64_t>> m(2, std::vector<int64_t>(2, 0));
    const at::Tensor yl = y.select(1, l).contiguous(), pl = pred.select(1, l).contiguous();
    for (int64_t i = 0; i < yl.numel(); ++i) ++m[yl.data_ptr<int64_t>()[i]][pl.data_ptr<int64_t>()[i]];
    sum += 1.0 - balanced_accuracy(m);
  }
  return sum / static_cast<double>(y.size(1));
}

RocCurve roc_curve(const std::vector<double>& scores, const std::vector<int>& targets) {
  MN_CHECK(scores.size() == targets.size(), "roc_curve: ", scores.size(), " scores but ", targets.size(),
           " targets");
  RocCurve r;
  const auto pos =
      static_cast<double>(std::count_if(targets.begin(), targets.end(), [](int t) { return t != 0; }));
  const double neg = static_cast<double>(targets.size()) - pos;
  if (pos == 0 || neg == 0) return r;
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double tp = 0, fp = 0;
  r.fpr.push_back(0);
  r.tpr.push_back(0);
  for (size_t i = 0; i < order.size(); ++i) {
    (targets[order[i]] != 0 ? tp : fp) += 1;
    // One point per distinct threshold: after the last row of a run of tied scores.
    if (i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]]) {
      r.fpr.push_back(fp / neg);
      r.tpr.push_back(tp / pos);
    }
  }
  return r;
}

std::vector<RocCurve> roc_curves(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                 size_t max_points) {
  std::vector<RocCurve> out;
  for (const auto& c : scored_columns(task, labels, probs)) {
    RocCurve r = roc_curve(c.scores, c.targets);
    r.name = c.name;
    if (max_points >= 2 && r.fpr.size() > max_points) {
      RocCurve thin{r.name, {}, {}};
      for (size_t i = 0; i < max_points; ++i) {
        const size_t j = i * (r.fpr.size() - 1) / (max_points - 1);
        thin.fpr.push_back(r.fpr[j]);
        thin.tpr.push_back(r.tpr[j]);
      }
      r = std::move(thin);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace mednet::metrics
