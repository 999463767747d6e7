#pragma once
// What the Trainer does differently as one rank of a data-parallel job (dist/): each global batch of
// the epoch's seeded permutation is split between the ranks, each rank's loss is weighted by its share
// so that the averaged gradients are those of the whole batch, and everything that decides the run
// (the starting weights and optimizer state, a non-finite loss, Ctrl-C, early stopping, the best
// checkpoint) is decided once and sent to every rank, so all ranks stop at the same step.
#include <memory>
#include <string>
#include <utility>

#include <torch/optim/optimizer.h>

#include "mednet/dist/grad_sync.h"
#include "mednet/dist/group.h"
#include "mednet/metrics/metrics.h"
#include "mednet/models/classifier.h"

namespace mednet::train {

class DataParallel {
 public:
  /// sync_bn: BatchNorm statistics of the global batch (models/batch_norm.h) instead of each rank's.
  /// bucket_bytes: the size of the gradient buckets (dist::GradientSync).
  DataParallel(std::shared_ptr<dist::Group> group, models::ClassifierImpl& model, bool sync_bn = false,
               int64_t bucket_bytes = 25 << 20);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;
  bool sync_bn() const { return sync_bn_; }

  dist::Group& group() { return *group_; }
  bool is_main() const { return group_->is_main(); }

  /// This rank's rows [offset, offset + count) of a global batch of len rows (count may be 0).
  std::pair<int64_t, int64_t> shard(int64_t len) const;

  /// Rank 0's model, optimizer state and run state (state.json text) on every rank.
  void broadcast_start(torch::optim::Optimizer& optimizer, std::string& state_json);
  /// Rank 0's BatchNorm statistics (and other buffers) on every rank.
  void broadcast_buffers();

  void begin_step() { sync_->begin_step(); }
  /// Averages the gradients over the ranks (after backward; a rank without rows calls it too).
  void finish_step() { sync_->finish_step(); }

  struct StepStatus {
    double loss_sum = 0;  ///< the global batch's summed loss
    bool interrupted = false;
    bool nonfinite = false;
  };
  /// Combines every rank's (summed loss, Ctrl-C seen, non-finite loss): the same answer on every rank.
  StepStatus step_status(double local_loss_sum, bool interrupted, bool nonfinite);

  /// Rank 0's value on every rank.
  int64_t broadcast_int(int64_t value);

  /// Training scores over every rank's predictions of the epoch.
  metrics::Scores gathered_scores(data::Task task, const metrics::Accumulator& local, int64_t outputs,
                                  int64_t label_columns);

 private:
  std::shared_ptr<dist::Group> group_;
  models::ClassifierImpl& model_;
  std::unique_ptr<dist::GradientSync> sync_;
  bool sync_bn_ = false;
};

}  // namespace mednet::train
