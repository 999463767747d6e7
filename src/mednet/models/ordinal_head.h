#pragma once
// CORN (Shi, Cao & Raschka 2021, "Deep neural networks for rank-consistent ordinal regression based on
// conditional probabilities") around any network of the registry. The network gives K - 1 logits l_k, one
// per binary task "grade > k given grade > k - 1"; s_k = sigmoid(l_k). The unconditional P(grade > k) is
// the running product s_0 ... s_k (never increasing in k: rank consistent by construction), and the K class
// probabilities are p_0 = 1 - s_0, p_k = P(> k - 1) (1 - s_k), p_{K-1} = P(> K - 2).
//
// forward() returns log p (corn_log_probs), so everything downstream keeps its softmax semantics exactly:
// softmax(log p) = p is what the MedMNIST evaluator scores, and the cross-entropy -log p_y of a row equals
// the sum of CORN's binary cross-entropies over the tasks the row takes part in (k = 0 .. min(y, K - 2)).
// CORN's published loss divides that sum by the number of (row, task) pairs of the batch; mednet's
// cross-entropy divides by the number of rows, a constant factor per batch.
#include <memory>
#include <string>
#include <vector>

#include "mednet/models/classifier.h"

namespace mednet::models {

/// log class probabilities [N, K] from CORN's conditional logits [N, K - 1], computed in log space.
at::Tensor corn_log_probs(const at::Tensor& conditional_logits);

class CornImpl : public ClassifierImpl {
 public:
  /// net: a network built for K - 1 outputs. Its submodules are registered under their own names, so the
  /// parameter names (and checkpoints, freezing, transfer) are the network's.
  explicit CornImpl(Classifier net);
  at::Tensor forward(const at::Tensor& x) override;
  std::vector<std::string> feature_layers() const override { return net_->feature_layers(); }
  std::pair<at::Tensor, at::Tensor> forward_at(const at::Tensor& x, const std::string& layer) override;
  at::Tensor forward_from(const at::Tensor& fmap, const std::string& layer) override;
  /// "corn-" and the network's kind: export and int8 conversion, which know the plain heads, name it.
  std::string kind() const override { return "corn-" + net_->kind(); }
  std::string head_prefix() const override { return net_->head_prefix(); }
  int block_count() const override { return net_->block_count(); }
  int block_of(const std::string& param) const override { return net_->block_of(param); }
  bool can_embed() const override { return net_->can_embed(); }
  at::Tensor embed(const at::Tensor& x) override { return net_->embed(x); }
  at::Tensor classify(const at::Tensor& features) override;
  void train(bool on = true) override;
  const Classifier& net() const { return net_; }

 private:
  Classifier net_;
};
TORCH_MODULE(Corn);

}  // namespace mednet::models
