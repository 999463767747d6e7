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
    at::Tensor h = images.narrow(0, start, std::min<int64_t>(batch_size, images.size(0) - start));
    in.observe(h);
    for (size_t i = 0; i < folded.size(); ++i) {
      h = apply_float(folded[i], h);
      if (has_weights(folded[i].op)) outs[i].observe(h);
    }
  }
  Calibration c;
  c.observer = observer;
  c.samples = images.size(0);
  c.input = in.qparams(kActivationQuantMax);
  QParams current = c.input;
  for (size_t i = 0; i < folded.size(); ++i) {
    if (has_weights(folded[i].op)) current = outs[i].qparams(kActivationQuantMax);
    c.outputs.push_back(current);
  }
  return c;
}

}  // namespace mednet::quant
