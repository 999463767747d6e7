#include "mednet/train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/augment/augment.h"
#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/models/pretrained.h"
#include "mednet/models/registry.h"
#include "mednet/models/weights.h"
#include "mednet/train/checkpoint.h"
#include "mednet/train/schedule.h"

namespace mednet::train {

using nlohmann::json;

std::string stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::Completed:
      return "completed";
    case StopReason::EarlyStopped:
      return "early-stopped";
    case StopReason::Interrupted:
      return "interrupted";
    case StopReason::NanLoss:
      return "nan-loss";
  }
  return "?";
}

at::Tensor task_loss(data::Task task, const at::Tensor& logits, const at::Tensor& labels) {
  if (task == data::Task::MultiLabel) {
    return torch::binary_cross_entropy_with_logits(logits, labels.to(logits.scalar_type()));
  }
  return torch::cross_entropy_loss(logits, labels.select(1, 0));
}

Evaluation evaluate_batches(data::Task task, const at::Tensor& labels, int batch_size,
                            const std::function<at::Tensor(int64_t, int64_t)>& logits_of) {
  torch::NoGradGuard no_grad;
  metrics::Accumulator acc(task);
  double loss_sum = 0;
  const int64_t n = labels.size(0);
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t len = std::min<int64_t>(batch_size, n - start);
    at::Tensor logits = logits_of(start, len);
    at::Tensor y = labels.narrow(0, start, len).to(logits.device());
    loss_sum += task_loss(task, logits, y).item<double>() * static_cast<double>(len);
    acc.update(y, metrics::probabilities(task, logits));
  }
  Evaluation e;
  e.loss = n > 0 ? loss_sum / static_cast<double>(n) : std::nan("");
  e.scores = acc.compute();
  e.probs = acc.probs();
  return e;
}

Evaluation evaluate_model(models::ClassifierImpl& model, const data::SplitData& split, data::Task task,
                          const c10::Device& device, int batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  Evaluation e = evaluate_batches(task, split.labels, batch_size, [&](int64_t start, int64_t len) {
    return model.forward(data::to_network_input(split.images.narrow(0, start, len)).to(device));
  });
  model.train(was_training);
  return e;
}

std::string history_csv(const std::vector<EpochRecord>& history) {
  std::ostringstream os;
  os.precision(6);
  os << "epoch,lr,train_loss,train_auc,train_acc,val_loss,val_auc,val_acc,seconds\n";
  for (const auto& r : history) {
    os << r.epoch << ',' << r.lr << ',' << r.train_loss << ',' << r.train_auc << ',' << r.train_acc << ','
       << r.val_loss << ',' << r.val_auc << ',' << r.val_acc << ',' << r.seconds << '\n';
  }
  return os.str();
}

namespace {

json record_json(const EpochRecord& r) {
  const auto num = core::finite_or_null;
  return json{{"epoch", r.epoch},
              {"lr", r.lr},
              {"train_loss", num(r.train_loss)},
              {"train_auc", num(r.train_auc)},
              {"train_acc", num(r.train_acc)},
              {"val_loss", num(r.val_loss)},
              {"val_auc", num(r.val_auc)},
              {"val_acc", num(r.val_acc)},
              {"seconds", r.seconds}};
}

EpochRecord record_from_json(const json& j) {
  auto num = [&](const char* k) { return j.at(k).is_null() ? std::nan("") : j.at(k).get<double>(); };
  EpochRecord r;
  r.epoch = j.at("epoch").get<int>();
  r.lr = num("lr");
  r.train_loss = num("train_loss");
  r.train_auc = num("train_auc");
  r.train_acc = num("train_acc");
  r.val_loss = num("val_loss");
  r.val_auc = num("val_auc");
  r.val_acc = num("val_acc");
  r.seconds = num("seconds");
  return r;
}

// One optimizer over the given groups of parameters (each group's lr is set every epoch).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c,
                                                        const std::vector<std::vector<at::Tensor>>& groups) {
  if (c.optimizer == "sgd") {
    const auto o = torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay);
    std::vector<torch::optim::OptimizerParamGroup> g;
    for (const auto& params : groups) g.emplace_back(params, std::make_unique<torch::optim::SGDOptions>(o));
    return std::make_unique<torch::optim::SGD>(g, o);
  }
  const auto o = torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> g;
  for (const auto& params : groups) g.emplace_back(params, std::make_unique<torch::optim::AdamOptions>(o));
  return std::make_unique<torch::optim::Adam>(g, o);
}

// Per-epoch seeds: the shuffle and dropout of epoch e depend only on (seed, e), so a resumed run
// replays exactly what an uninterrupted one would have done.
uint64_t epoch_seed(uint64_t seed, int epoch) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(epoch)};
  uint32_t out[2];
  seq.generate(out, out + 2);
  return (static_cast<uint64_t>(out[0]) << 32) | out[1];
}

// The first training step's gradients and each recorded epoch's mean, per weight tensor in depth
// order (convolutions and dense layers; projection shortcuts are left out so that a residual network
// and its plain twin have the same depth axis).
class GradNormRecorder {
 public:
  explicit GradNormRecorder(models::ClassifierImpl& model) {
    for (const auto& p : model.named_parameters()) {
      if (p.value().dim() < 2 || p.key().find("downsample") != std::string::npos) continue;
      names_.push_back(p.key());
      params_.push_back(p.value());
    }
    sums_.assign(names_.size(), 0);
  }
  void add_step() {
    std::vector<double> norms(params_.size(), std::nan(""));
    for (size_t i = 0; i < params_.size(); ++i) {
      if (params_[i].grad().defined()) norms[i] = params_[i].grad().norm().item<double>();
    }
    if (first_.empty()) first_ = norms;
    for (size_t i = 0; i < norms.size(); ++i) sums_[i] += norms[i];
    ++steps_;
  }
  /// Appends this epoch's rows (and, after the run's first epoch, the first step's as epoch 0).
  void flush(int epoch, const std::string& path) {
    std::ostringstream os;
    os.precision(8);
    if (!std::filesystem::exists(path)) os << "epoch,depth,layer,grad_norm\n";
    auto rows = [&](int e, const std::vector<double>& v, double div) {
      for (size_t i = 0; i < v.size(); ++i)
        os << e << ',' << i + 1 << ',' << names_[i] << ',' << v[i] / div << '\n';
    };
    if (epoch == 1 && !first_.empty()) rows(0, first_, 1);
    if (steps_ > 0) rows(epoch, sums_, static_cast<double>(steps_));
    std::ofstream(path, std::ios::app) << os.str();
    sums_.assign(names_.size(), 0);
    steps_ = 0;
  }

 private:
  std::vector<std::string> names_;
  std::vector<at::Tensor> params_;
  std::vector<double> sums_, first_;
  int64_t steps_ = 0;
};

}  // namespace

std::vector<EpochRecord> read_history(const RunFiles& files) {
  std::vector<EpochRecord> out;
  std::ifstream in(files.state());
  if (!in) return out;
  try {
    const json s = json::parse(in);
    for (const auto& r : s.at("history")) out.push_back(record_from_json(r));
  } catch (const json::exception& e) {
    MN_CHECK(false, files.state(), " is damaged: ", e.what());
  }
  return out;
}

Trainer::Trainer(TrainConfig config, const data::MedMnist& data, std::string run_dir, c10::Device device)
    : config_(std::move(config)), data_(data), files_(std::move(run_dir)), device_(device) {
  config_.validate();
  std::filesystem::create_directories(files_.dir);
  core::seed_everything(config_.seed);
  model_ = models::make_model(config_.model, *data_.info, data_.size);
  apply_transfer();
  model_->to(device_);
  freeze_and_build_optimizer();
}

void Trainer::apply_transfer() {
  const TransferSpec& t = config_.transfer;
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
      backbone_ = "random-init";
      return;
    }
    const models::StateDict sd = models::read_state_dict(path);
    const models::LoadReport r = models::load_weights(*model_, sd, head, /*load_head=*/false, path);
    notes_.push_back("pretrained backbone: " + std::to_string(r.loaded.size()) + " tensors from " + path +
                     " (" + std::to_string(r.ignored.size()) +
                     " of the file's tensors not used, the head starts fresh)");
    backbone_ = "pretrained: " + path;
  } else if (!t.init_from.empty()) {
    const RunFiles src(t.init_from);
    MN_CHECK_USAGE(std::filesystem::exists(src.config()), "transfer.init_from: ", t.init_from,
                   " is not a run directory (no config.json)");
    const TrainConfig sc = load_config(src.config());
    models::Classifier source = models::make_model(sc.model, data::find_dataset(sc.dataset), sc.size);
    load_module(*source, src.best(), torch::kCPU);
    const models::LoadReport r =
        models::load_weights(*model_, models::state_dict(*source), head, /*load_head=*/true, src.best());
    std::string note = "initialised from " + src.best() + ": " + std::to_string(r.loaded.size()) + " tensors";
    if (!r.kept.empty())
      note += "; " + std::to_string(r.kept.size()) + " head tensors start fresh (other shape)";
    notes_.push_back(note);
    backbone_ = "init-from: " + t.init_from;
  }
}

void Trainer::freeze_and_build_optimizer() {
  const TransferSpec& t = config_.transfer;
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

void Trainer::resume() {
  std::ifstream in(files_.state());
  MN_CHECK(in, "cannot resume: ", files_.state(), " is missing (no epoch of this run finished)");
  json s = json::parse(in);
  start_epoch_ = s.at("epochs_done").get<int>();
  if (s.contains("backbone")) backbone_ = s.at("backbone").get<std::string>();
  best_epoch_ = s.at("best_epoch").get<int>();
  best_auc_ = s.at("best_val_auc").get<double>();
  bad_epochs_ = s.at("bad_epochs").get<int>();
  seconds_so_far_ = s.at("train_seconds").get<double>();
  history_.clear();
  for (const auto& r : s.at("history")) history_.push_back(record_from_json(r));
  load_module(*model_, files_.last(), device_);
  load_optimizer(*optimizer_, files_.last_optimizer());
}

void Trainer::save_state() const {
  json hist = json::array();
  for (const auto& r : history_) hist.push_back(record_json(r));
  json s{{"epochs_done", static_cast<int>(history_.size())},
         {"best_epoch", best_epoch_},
         {"best_val_auc", best_auc_},
         {"bad_epochs", bad_epochs_},
         {"train_seconds", seconds_so_far_},
         {"backbone", backbone_},
         {"history", hist}};
  write_file_atomic(files_.state(), s.dump(1));
  write_file_atomic(files_.history(), history_csv(history_));
}

TrainResult Trainer::run(TrainObserver& observer) {
  const data::Task task = data_.info->task;
  const data::SplitData& train = data_.train;
  const int64_t n = train.size();
  MN_CHECK(n > 0, "the training split is empty");
  const int64_t steps = (n + config_.batch_size - 1) / config_.batch_size;
  if (!config_.augment.empty()) {
    std::string names;
    for (const auto& t : config_.augment) names += (names.empty() ? "" : ", ") + t.type;
    observer.on_message("augmenting training batches: " + names);
  }
  write_file_atomic(files_.config(), to_json(config_).dump(2) + "\n");
  for (const auto& note : notes_) observer.on_message(note);
  notes_.clear();

  // A frozen backbone without augmentation sees the same images every epoch: its features are
  // computed once and the epochs train only the head.
  TrainResult result;
  result.feature_cache = all_frozen_ && config_.augment.empty() && model_->can_embed();
  at::Tensor cached_train, cached_val;
  double setup_seconds = 0;
  if (result.feature_cache && start_epoch_ < config_.epochs) {
    const auto c0 = std::chrono::steady_clock::now();
    cached_train = embed_split(train);
    cached_val = embed_split(data_.val);
    setup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
    std::ostringstream os;
    os.precision(3);
    os << "frozen backbone: features of " << n + data_.val.size() << " images cached in " << setup_seconds
       << " s (counted in the first epoch's time); epochs train only the head";
    observer.on_message(os.str());
  }

  if (start_epoch_ >= config_.epochs) {
    observer.on_message("nothing to do: the run already finished " + std::to_string(start_epoch_) +
                        " epochs");
  } else if (config_.patience > 0 && bad_epochs_ >= config_.patience) {
    observer.on_message("nothing to do: the run already stopped early");
    result.reason = StopReason::EarlyStopped;
  }

  for (int epoch = start_epoch_; epoch < config_.epochs && result.reason == StopReason::Completed; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = lr_at(config_.schedule, config_.lr, epoch, config_.epochs);
    for (size_t g = 0; g < optimizer_->param_groups().size(); ++g)
      optimizer_->param_groups()[g].options().set_lr(lr * group_lr_scale_.at(g));

    const uint64_t es = epoch_seed(config_.seed, epoch);
    torch::manual_seed(es);
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(es);
    std::shuffle(order.begin(), order.end(), rng);
    const at::Tensor perm = torch::from_blob(order.data(), {n}, torch::kLong).clone();

    model_->train();
    observer.on_epoch_begin(epoch + 1, config_.epochs, steps);
    std::unique_ptr<GradNormRecorder> grad_norms;
    if (epoch < config_.grad_norm_epochs) grad_norms = std::make_unique<GradNormRecorder>(*model_);
    metrics::Accumulator train_acc(task);
    double loss_sum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      if (core::interrupted()) {
        result.reason = StopReason::Interrupted;
        break;
      }
      const int64_t start = step * config_.batch_size;
      const int64_t len = std::min<int64_t>(config_.batch_size, n - start);
      const at::Tensor idx = perm.narrow(0, start, len);
      at::Tensor x;
      if (result.feature_cache) {
        x = cached_train.index_select(0, idx.to(device_));
      } else if (config_.augment.empty()) {
        x = data::to_network_input(train.images.index_select(0, idx)).to(device_);
      } else {
        // Augment in [0, 1] (zero padding is black), then the same mapping to [-1, 1] as evaluation.
        const at::Tensor unit = data::to_unit(train.images.index_select(0, idx).to(device_));
        x = data::unit_to_network_input(
            augment::apply(config_.augment, unit, epoch_seed(es, static_cast<int>(step))));
      }
      at::Tensor y = train.labels.index_select(0, idx).to(device_);
      optimizer_->zero_grad();
      at::Tensor logits = result.feature_cache ? model_->classify(x) : model_->forward(x);
      at::Tensor loss = task_loss(task, logits, y);
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        observer.on_message("loss became " + std::to_string(loss_value) + " at epoch " +
                            std::to_string(epoch + 1) + ", step " + std::to_string(step + 1) +
                            ": stopping (try a lower --lr); the best checkpoint so far is kept");
        result.reason = StopReason::NanLoss;
        break;
      }
      loss.backward();
      if (grad_norms) grad_norms->add_step();
      optimizer_->step();
      loss_sum += loss_value * static_cast<double>(len);
      train_acc.update(y, metrics::probabilities(task, logits.detach()));
      observer.on_step(step + 1, loss_sum / static_cast<double>(start + len));
    }
    if (result.reason != StopReason::Completed) break;  // the unfinished epoch is discarded
    if (grad_norms) grad_norms->flush(epoch + 1, files_.grad_norms());

    EpochRecord rec;
    rec.epoch = epoch + 1;
    rec.lr = lr;
    rec.train_loss = loss_sum / static_cast<double>(n);
    const metrics::Scores ts = train_acc.compute();
    rec.train_auc = ts.auc;
    rec.train_acc = ts.acc;
    Evaluation val;
    if (result.feature_cache) {
      model_->eval();
      val = evaluate_batches(task, data_.val.labels, config_.eval_batch_size, [&](int64_t s, int64_t l) {
        return model_->classify(cached_val.narrow(0, s, l));
      });
      model_->train();
    } else {
      val = evaluate_model(*model_, data_.val, task, device_, config_.eval_batch_size);
    }
    rec.val_loss = val.loss;
    rec.val_auc = val.scores.auc;
    rec.val_acc = val.scores.acc;
    rec.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() + setup_seconds;
    setup_seconds = 0;
    seconds_so_far_ += rec.seconds;
    history_.push_back(rec);

    const bool improved = std::isfinite(rec.val_auc) && rec.val_auc > best_auc_;
    if (improved) {
      best_auc_ = rec.val_auc;
      best_epoch_ = rec.epoch;
      bad_epochs_ = 0;
      save_module(*model_, files_.best());
    } else {
      ++bad_epochs_;
    }
    save_module(*model_, files_.last());
    save_optimizer(*optimizer_, files_.last_optimizer());
    save_state();
    observer.on_epoch_end(rec, improved);
    if (config_.patience > 0 && bad_epochs_ >= config_.patience && epoch + 1 < config_.epochs) {
      observer.on_message("early stop: validation AUC has not improved for " + std::to_string(bad_epochs_) +
                          " epochs (best " + std::to_string(best_auc_) + " at epoch " +
                          std::to_string(best_epoch_) + ")");
      result.reason = StopReason::EarlyStopped;
    }
  }
  finish(result, observer);
  return result;
}

void Trainer::finish(TrainResult& result, TrainObserver& observer) {
  result.history = history_;
  result.epochs_run = static_cast<int>(history_.size());
  result.best_epoch = best_epoch_;
  result.train_seconds = seconds_so_far_;
  result.backbone = backbone_;
  result.trainable_params = models::count_parameters(*model_);
  if (best_epoch_ == 0) return;
  observer.on_message("restoring the best checkpoint (epoch " + std::to_string(best_epoch_) +
                      ", validation AUC " + std::to_string(best_auc_) + ")");
  load_module(*model_, files_.best(), device_);
  const data::Task task = data_.info->task;
  result.val = evaluate_model(*model_, data_.val, task, device_, config_.eval_batch_size);
  result.test = evaluate_model(*model_, data_.test, task, device_, config_.eval_batch_size);
}

}  // namespace mednet::train
