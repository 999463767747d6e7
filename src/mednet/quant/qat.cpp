#include "mednet/quant/qat.h"

#include <chrono>
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

std::vector<Layer> clone_layers(const std::vector<Layer>& layers, bool trainable) {
  std::vector<Layer> out = layers;
  auto copy = [&](at::Tensor& t, bool grad) {
    if (!t.defined()) return;
    t = t.detach().clone();
    if (trainable && grad) t.set_requires_grad(true);
  };
  for (auto& l : out) {
    copy(l.weight, true);
    copy(l.bias, true);
    copy(l.bn_weight, true);
    copy(l.bn_bias, true);
    copy(l.bn_mean, false);  // frozen statistics
    copy(l.bn_var, false);
  }
  return out;
}

}  // namespace

at::Tensor run_fake_quant(const std::vector<Layer>& layers, const Calibration& calibration,
                          const at::Tensor& x, bool training) {
  MN_CHECK(calibration.outputs.size() == layers.size(), "run_fake_quant: the calibration has ",
           calibration.outputs.size(), " layers, the network ", layers.size());
  at::Tensor h = fake_quant_activation(x, calibration.input);
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    if (l.op != Layer::Op::Conv && l.op != Layer::Op::Linear) {
      h = apply_float(l, h);
      continue;
    }
    at::Tensor w = l.weight, b = l.bias;
    if (l.bn_weight.defined())
      std::tie(w, b) = fold_batch_norm(w, b, l.bn_mean, l.bn_var, l.bn_weight, l.bn_bias, l.bn_eps);
    const at::Tensor wq = fake_quant_weight(w);
    if (l.op == Layer::Op::Conv) {
      h = l.dims == 2 ? at::conv2d(h, wq, b, l.stride, l.padding) : at::conv3d(h, wq, b, l.stride, l.padding);
    } else {
      h = at::linear(h, wq, b);
    }
    if (l.relu) h = at::relu(h);
    if (training && l.dropout > 0) h = at::dropout(h, l.dropout, true);
    h = fake_quant_activation(h, calibration.outputs[i]);
  }
  return h;
}

QatResult train_qat(const std::vector<Layer>& layers, const Calibration& calibration,
                    const data::MedMnist& data, data::Task task, const QatOptions& options,
                    const std::function<void(const QatEpoch&)>& on_epoch) {
  MN_CHECK_USAGE(options.epochs >= 1, "quantization-aware training needs at least 1 epoch");
  MN_CHECK_USAGE(options.lr > 0, "quantization-aware training needs a learning rate above 0");
  std::vector<Layer> current = clone_layers(layers, true);
  std::vector<at::Tensor> params;
  for (auto& l : current)
    for (auto* t : {&l.weight, &l.bias, &l.bn_weight, &l.bn_bias})
      if (t->defined()) params.push_back(*t);
  torch::optim::Adam optimizer(params, torch::optim::AdamOptions(options.lr));

  auto validate = [&](QatEpoch& record) {
    const train::Evaluation e = train::evaluate_batches(
        task, data.val.labels, options.eval_batch_size, [&](int64_t start, int64_t len) {
          return run_fake_quant(current, calibration,
                                data::to_network_input(data.val.images.narrow(0, start, len)), false);
        });
    record.val_auc = e.scores.auc;
    record.val_acc = e.scores.acc;
  };

  QatResult result;
  QatEpoch before;
  validate(before);
  result.history.push_back(before);
  result.layers = clone_layers(current, false);
  double best_auc = before.val_auc;
  if (on_epoch) on_epoch(before);

  torch::manual_seed(options.seed);
  const int64_t n = data.train.size();
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const at::Tensor order = torch::randperm(n, torch::kLong);
    double loss_sum = 0;
    int64_t batches = 0;
    for (int64_t start = 0; start < n; start += options.batch_size) {
      const at::Tensor idx = order.narrow(0, start, std::min<int64_t>(options.batch_size, n - start));
      const at::Tensor x = data::to_network_input(data.train.images.index_select(0, idx));
      const at::Tensor logits = run_fake_quant(current, calibration, x, true);
      const at::Tensor loss = train::task_loss(task, logits, data.train.labels.index_select(0, idx));
      const double value = loss.item<double>();
      MN_CHECK(std::isfinite(value), "quantization-aware training: the loss became ", value, " in epoch ",
               epoch, " (try a lower --qat-lr)");
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += value;
      ++batches;
    }
    QatEpoch record;
    record.epoch = epoch;
    record.train_loss = loss_sum / static_cast<double>(std::max<int64_t>(1, batches));
    {
      torch::NoGradGuard no_grad;
      validate(record);
    }
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    result.history.push_back(record);
    if (record.val_auc > best_auc) {
      best_auc = record.val_auc;
      result.best_epoch = epoch;
      result.layers = clone_layers(current, false);
    }
    if (on_epoch) on_epoch(record);
  }
  return result;
}

}  // namespace mednet::quant
