#include "mednet/quant/qat.h"

#include <cmath>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/train/trainer.h"

namespace mednet::quant {

namespace {

at::Tensor fake_quant_activation(const at::Tensor& x, const QParams& p) {
  return at::fake_quantize_per_tensor_affine(x, p.scale, p.zero_point, 0, kActivationQuantMax);
}

// Symmetric per-output-channel int8 (levels -63..63), as the conversion quantizes them.
at::Tensor fake_quant_weight(const at::Tensor& w) {
  at::Tensor scale = w.detach().abs().reshape({w.size(0), -1}).amax(1) / static_cast<double>(kWeightQuantMax);
  scale = torch::where(scale > 0, scale, torch::ones_like(scale)).to(torch::kFloat);
  const at::Tensor zero_point = torch::zeros({w.size(0)}, torch::kInt);
  return at::fake_quantize_per_channel_affine(w, scale, zero_point, 0, -kWeightQuantMax, kWeightQuantMax);
}

// Records the Trainer's epochs as QAT epochs (the starting model as epoch 0) and passes each on.
struct QatObserver : train::TrainObserver {
  const std::function<void(const QatEpoch&)>* on_epoch = nullptr;
  std::vector<QatEpoch> history;
  void add(const QatEpoch& e) {
    history.push_back(e);
    if (*on_epoch) (*on_epoch)(e);
  }
  void on_initial_score(const engine::Evaluation& val) override {
    add({0, std::nan(""), val.scores.auc, val.scores.acc, 0});
  }
  void on_epoch_end(const run::EpochRecord& r, bool) override {
    add({r.epoch, r.train_loss, r.val_auc, r.val_acc, r.seconds});
  }
};

}  // namespace

at::Tensor run_fake_quant(const std::vector<Layer>& layers, const Calibration& calibration,
                          const at::Tensor& x, bool training) {
  MN_CHECK(calibration.outputs.size() == layers.size(), "run_fake_quant: the calibration has ",
           calibration.outputs.size(), " layers, the network ", layers.size());
  const bool prepare = starts_with_prepare(layers);
  const at::Tensor start = prepare ? x : fake_quant_activation(x, calibration.input);
  return run_layers(layers, start, [&](size_t i, const at::Tensor& in, const at::Tensor& residual) {
    const Layer& l = layers[i];
    if (l.op == Layer::Op::Prepare) return fake_quant_activation(apply_float(l, in), calibration.input);
    at::Tensor h;
    if (l.op == Layer::Op::Conv || l.op == Layer::Op::Linear) {
      at::Tensor w = l.weight, b = l.bias;
      if (l.bn_weight.defined())
        std::tie(w, b) = fold_batch_norm(w, b, l.bn_mean, l.bn_var, l.bn_weight, l.bn_bias, l.bn_eps);
      const at::Tensor wq = fake_quant_weight(w);
      if (l.op == Layer::Op::Conv) {
        h = conv_nd(l, in, wq, b);
      } else {
        h = at::linear(in, wq, b);
      }
      if (l.relu) h = at::relu(h);
    } else {
      h = apply_float(l, in, residual);
    }
    if (training && l.dropout > 0) h = at::dropout(h, l.dropout, true);
    // A pool or flatten keeps its input's grid; a layer with weights or an add rounds to its own.
    return has_own_range(l.op) ? fake_quant_activation(h, calibration.outputs[i]) : h;
  });
}

FakeQuantNetImpl::FakeQuantNetImpl(const std::vector<Layer>& layers, Calibration calibration)
    : layers_(layers), calibration_(std::move(calibration)) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& l = layers_[i];
    const std::string p = "layer" + std::to_string(i) + "_";
    auto param = [&](at::Tensor& t, const char* name) {
      if (t.defined()) t = register_parameter(p + name, t.detach().clone());
    };
    auto buffer = [&](at::Tensor& t, const char* name) {
      if (t.defined()) t = register_buffer(p + name, t.detach().clone());
    };
    param(l.weight, "weight");
    param(l.bias, "bias");
    param(l.bn_weight, "bn_weight");
    param(l.bn_bias, "bn_bias");
    buffer(l.bn_mean, "bn_mean");  // frozen statistics
    buffer(l.bn_var, "bn_var");
  }
}

at::Tensor FakeQuantNetImpl::forward(const at::Tensor& x) {
  return run_fake_quant(layers_, calibration_, x, is_training());
}

std::pair<at::Tensor, at::Tensor> FakeQuantNetImpl::forward_at(const at::Tensor&, const std::string&) {
  MN_CHECK_USAGE(false,
                 "the fake-quantized network of quantization-aware training has no feature maps to explain");
  return {};
}

std::vector<Layer> FakeQuantNetImpl::layers() const {
  std::vector<Layer> out = layers_;
  for (auto& l : out)
    for (at::Tensor* t : {&l.weight, &l.bias, &l.bn_weight, &l.bn_bias, &l.bn_mean, &l.bn_var})
      if (t->defined()) *t = t->detach().to(torch::kCPU).clone();
  return out;
}

QatResult train_qat(const std::vector<Layer>& layers, const Calibration& calibration,
                    const data::MedMnist& data, const QatOptions& options,
                    const std::function<void(const QatEpoch&)>& on_epoch) {
  MN_CHECK_USAGE(options.epochs >= 1, "quantization-aware training needs at least 1 epoch");
  MN_CHECK_USAGE(options.lr > 0, "quantization-aware training needs a learning rate above 0");
  MN_CHECK(!options.run_dir.empty(), "quantization-aware training needs a run folder");
  run::TrainConfig c;
  c.name = "quantization-aware training";
  c.dataset = data.info->flag;
  c.size = data.size;
  c.epochs = options.epochs;
  c.lr = options.lr;
  c.optimizer = "adam";
  c.schedule = "constant";
  c.patience = 0;
  c.batch_size = options.batch_size;
  c.eval_batch_size = options.eval_batch_size;
  c.seed = options.seed;
  c.device = "cpu";
  auto net = std::make_shared<FakeQuantNetImpl>(layers, calibration);
  train::Trainer trainer(c, data, options.run_dir, torch::kCPU, net);
  trainer.keep_initial_candidate();
  QatObserver observer;
  observer.on_epoch = &on_epoch;
  const train::TrainResult r = trainer.run(observer);
  MN_CHECK(r.reason != run::StopReason::NanLoss,
           "quantization-aware training: the loss became non-finite in epoch ", r.epochs_run + 1,
           " (try a lower --qat-lr)");
  QatResult result;
  result.history = std::move(observer.history);
  result.best_epoch = r.initial_kept ? 0 : r.best_epoch;
  result.layers = net->layers();
  return result;
}

}  // namespace mednet::quant
