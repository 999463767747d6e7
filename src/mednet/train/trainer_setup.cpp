// Building a Trainer: the model with its transfer settings, the optimizer and its groups, the weight
// average, a distributed group, and resuming.
#include <filesystem>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/engine/autocast.h"
#include "mednet/models/pretrained.h"
#include "mednet/models/registry.h"
#include "mednet/models/weights.h"
#include "mednet/run/checkpoint.h"
#include "mednet/run/journal.h"
#include "mednet/run/open_run.h"
#include "mednet/train/optimizer.h"
#include "mednet/train/trainer.h"

namespace mednet::train {

Trainer::Trainer(run::TrainConfig config, const data::MedMnist& data, std::string run_dir, c10::Device device)
    : config_(std::move(config)), data_(data), files_(std::move(run_dir)), device_(device) {
  config_.validate();
  std::filesystem::create_directories(files_.dir);
  core::seed_everything(config_.seed);
  model_ = models::make_model(config_.model, data::input_shape(*data_.info, data_.size));
  apply_transfer();
  setup();
}

Trainer::Trainer(run::TrainConfig config, const data::MedMnist& data, std::string run_dir, c10::Device device,
                 models::Classifier model)
    : config_(std::move(config)),
      data_(data),
      files_(std::move(run_dir)),
      device_(device),
      model_(std::move(model)) {
  MN_CHECK(model_ != nullptr, "Trainer: no model given");
  MN_CHECK_USAGE(!config_.transfer.active(), "a model built elsewhere is trained without transfer settings");
  std::filesystem::create_directories(files_.dir);
  core::seed_everything(config_.seed);
  setup();
}

void Trainer::setup() {
  engine::check_precision(config_.precision, device_);
  if (config_.precision == "fp16") scaler_ = std::make_unique<LossScaler>(device_);
  core::configure_for_device(device_);
  model_->to(device_);
  models::to_conv_layout(*model_);
  freeze_and_build_optimizer();
  if (config_.ema > 0) average_ = std::make_unique<WeightAverage>(*model_, config_.ema);
  setup_loss();
}

void Trainer::apply_transfer() {
  const run::TransferSpec& t = config_.transfer;
  const std::string head = model_->head_prefix();
  if (!t.weights.empty()) {
    const std::string path = models::resolve_weights(t.weights, config_.model.name);
    if (path.empty()) {
      const std::string bar(78, '!');
      notes_.push_back(
          bar + "\nNO PRETRAINED WEIGHTS: " + t.weights + " weights for " + config_.model.name +
          " are not on this machine\n(looked for " + models::cached_weights_path(config_.model.name) +
          "; get them with: mednet weights fetch " + config_.model.name +
          ").\nThis run starts from RANDOM weights: it is NOT transfer learning. metrics.json says "
          "\"backbone\": \"random-init\".\n" +
          bar);
      state_.backbone = "random-init";
      return;
    }
    const models::StateDict sd = models::read_state_dict(path);
    const models::LoadReport r = models::load_weights(*model_, sd, head, /*load_head=*/false, path);
    notes_.push_back("pretrained backbone: " + std::to_string(r.loaded.size()) + " tensors from " + path +
                     " (" + std::to_string(r.ignored.size()) +
                     " of the file's tensors not used, the head starts fresh)");
    state_.backbone = "pretrained: " + path;
  } else if (!t.init_from.empty()) {
    run::OpenRunOptions from;
    from.load_data = false;
    const run::OpenRun source = [&] {
      try {
        return run::open_run(t.init_from, from);
      } catch (const Error& e) {  // say which setting named the folder
        throw Error("transfer.init_from: " + std::string(e.what()), e.kind());
      }
    }();
    const std::string src_best = source.files.best();
    const models::LoadReport r =
        models::load_weights(*model_, models::state_dict(*source.model), head, /*load_head=*/true, src_best);
    std::string note = "initialised from " + src_best + ": " + std::to_string(r.loaded.size()) + " tensors";
    if (!r.kept.empty())
      note += "; " + std::to_string(r.kept.size()) + " head tensors start fresh (other shape)";
    notes_.push_back(note);
    state_.backbone = "init-from: " + t.init_from;
  }
}

void Trainer::freeze_and_build_optimizer() {
  const run::TransferSpec& t = config_.transfer;
  const int blocks = model_->block_count();
  MN_CHECK_USAGE(t.freeze <= blocks, "transfer.freeze is ", t.freeze, " but ", model_->kind(), " has only ",
                 blocks, " blocks");
  const int frozen = t.freeze == -1 ? blocks : t.freeze;
  all_frozen_ = frozen == blocks && blocks > 0;
  if (!t.active()) {
    optimizer_ = make_optimizer(config_, {model_->parameters()});
    group_lr_scale_ = {1.0};
    return;
  }
  std::vector<at::Tensor> backbone, head;
  for (auto& p : model_->named_parameters()) {
    const int b = model_->block_of(p.key());
    if (b >= 1 && b <= frozen) {
      p.value().requires_grad_(false);
    } else {
      (b == 0 ? head : backbone).push_back(p.value());
    }
  }
  std::vector<std::vector<at::Tensor>> groups;
  group_lr_scale_.clear();
  if (!backbone.empty()) {
    groups.push_back(backbone);
    group_lr_scale_.push_back(t.backbone_lr_scale);
  }
  groups.push_back(head);
  group_lr_scale_.push_back(1.0);
  optimizer_ = make_optimizer(config_, groups);
  if (frozen > 0) {
    notes_.push_back("frozen: backbone blocks 1-" + std::to_string(frozen) + " of " + std::to_string(blocks) +
                     (backbone.empty()
                          ? ""
                          : "; the other blocks train at " + core::format_fixed(t.backbone_lr_scale, 3) +
                                " x the head's learning rate"));
  }
}

at::Tensor Trainer::embed_split(const data::SplitData& split) {
  torch::NoGradGuard no_grad;
  const bool was_training = model_->is_training();
  model_->eval();
  std::vector<at::Tensor> parts;
  const int64_t n = split.size();
  for (int64_t start = 0; start < n; start += config_.eval_batch_size) {
    const int64_t len = std::min<int64_t>(config_.eval_batch_size, n - start);
    parts.push_back(model_->embed(data::to_network_input(split.images.narrow(0, start, len)).to(device_)));
  }
  model_->train(was_training);
  return torch::cat(parts);
}

void Trainer::set_group(std::shared_ptr<dist::Group> group, bool sync_bn) {
  dp_ = group && group->size() > 1 ? std::make_unique<DataParallel>(std::move(group), *model_, sync_bn)
                                   : nullptr;
}

void Trainer::resume() {
  state_ = run::recover_run(files_);
  run::load_module(*model_, files_.last(), device_);
  run::load_optimizer(*optimizer_, files_.last_optimizer());
  if (average_) {
    {
      const AverageSwapped swapped(average_.get());  // the file goes into the average's place
      run::load_module(*model_, files_.last_ema(), device_);
    }
    // The count state.json recorded; runs written before it was recorded: every step of every epoch.
    average_->set_updates(state_.ema_updates >= 0 ? state_.ema_updates
                                                  : state_.epochs_done() * steps_per_epoch());
  }
}

}  // namespace mednet::train
