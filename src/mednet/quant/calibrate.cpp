#include "mednet/quant/calibrate.h"

#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::quant {

Calibration calibrate(const std::vector<Layer>& folded, const at::Tensor& images, const std::string& observer,
                      int batch_size) {
  MN_CHECK_USAGE(images.defined() && images.size(0) > 0,
                 "calibration needs at least one sample (--calib must be 1 or more)");
  torch::NoGradGuard no_grad;
  Observer in(observer);
  std::vector<Observer> outs(folded.size(), Observer(observer));
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const at::Tensor x = images.narrow(0, start, std::min<int64_t>(batch_size, images.size(0) - start));
    if (!starts_with_prepare(folded)) in.observe(x);
    run_layers(folded, x, [&](size_t i, const at::Tensor& h, const at::Tensor& residual) {
      at::Tensor y = apply_float(folded[i], h, residual);
      if (folded[i].op == Layer::Op::Prepare) in.observe(y);  // what the input quantize sees
      if (has_own_range(folded[i].op)) outs[i].observe(y);
      return y;
    });
  }
  Calibration c;
  c.observer = observer;
  c.samples = images.size(0);
  c.input = in.qparams(kActivationQuantMax);
  // A pool or flatten keeps the range of what it reads.
  for (size_t i = 0; i < folded.size(); ++i) {
    const int from = input_of(folded, i);
    c.outputs.push_back(has_own_range(folded[i].op) ? outs[i].qparams(kActivationQuantMax)
                        : from < 0                  ? c.input
                                                    : c.outputs[static_cast<size_t>(from)]);
  }
  return c;
}

}  // namespace mednet::quant
