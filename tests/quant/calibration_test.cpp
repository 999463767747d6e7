#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/quant/calibration.h"

using namespace mednet;

namespace {

TEST(Quant, FoldedConvBatchNormEqualsThePair) {
  torch::manual_seed(3);
  for (int dims : {2, 3}) {
    std::vector<int64_t> kernel(static_cast<size_t>(dims), 3);
    at::Tensor w = torch::randn({6, 4, 3, 3});
    if (dims == 3) w = torch::randn({6, 4, 3, 3, 3});
    const at::Tensor b = torch::randn({6});
    const at::Tensor mean = torch::randn({6}), var = torch::rand({6}) + 0.5;
    const at::Tensor gamma = torch::randn({6}), beta = torch::randn({6});
    const at::Tensor x =
        torch::randn(dims == 2 ? std::vector<int64_t>{2, 4, 9, 9} : std::vector<int64_t>{2, 4, 7, 7, 7});
    const at::Tensor conv = dims == 2 ? torch::conv2d(x, w, b, 1, 1) : torch::conv3d(x, w, b, 1, 1);
    const at::Tensor pair = torch::batch_norm(conv, gamma, beta, mean, var, false, 0.1, 1e-5, false);
    const auto [fw, fb] = quant::fold_batch_norm(w, b, mean, var, gamma, beta, 1e-5);
    const at::Tensor folded = dims == 2 ? torch::conv2d(x, fw, fb, 1, 1) : torch::conv3d(x, fw, fb, 1, 1);
    // float32: within 1e-5 of the output's scale (the 3D sums have 108 terms per output).
    const double tol = 1e-5 * pair.abs().max().item<double>();
    EXPECT_LT((folded - pair).abs().max().item<double>(), tol) << dims << "D";
    // float64: the folding itself is exact up to rounding.
    const auto [dw, db] = quant::fold_batch_norm(w.to(torch::kDouble), b.to(torch::kDouble),
                                                 mean.to(torch::kDouble), var.to(torch::kDouble),
                                                 gamma.to(torch::kDouble), beta.to(torch::kDouble), 1e-5);
    const at::Tensor xd = x.to(torch::kDouble);
    const at::Tensor cd = dims == 2 ? torch::conv2d(xd, w.to(torch::kDouble), b.to(torch::kDouble), 1, 1)
                                    : torch::conv3d(xd, w.to(torch::kDouble), b.to(torch::kDouble), 1, 1);
    const at::Tensor pd =
        torch::batch_norm(cd, gamma.to(torch::kDouble), beta.to(torch::kDouble), mean.to(torch::kDouble),
                          var.to(torch::kDouble), false, 0.1, 1e-5, false);
    const at::Tensor fd = dims == 2 ? torch::conv2d(xd, dw, db, 1, 1) : torch::conv3d(xd, dw, db, 1, 1);
    EXPECT_LT((fd - pd).abs().max().item<double>(), 1e-10) << dims << "D";
    // without a bias
    const auto [gw, gb] = quant::fold_batch_norm(w, at::Tensor(), mean, var, gamma, beta, 1e-5);
    const at::Tensor no_bias = dims == 2 ? torch::conv2d(x, w, {}, 1, 1) : torch::conv3d(x, w, {}, 1, 1);
    const at::Tensor pair2 = torch::batch_norm(no_bias, gamma, beta, mean, var, false, 0.1, 1e-5, false);
    const at::Tensor folded2 = dims == 2 ? torch::conv2d(x, gw, gb, 1, 1) : torch::conv3d(x, gw, gb, 1, 1);
    EXPECT_LT((folded2 - pair2).abs().max().item<double>(), 1e-5 * pair2.abs().max().item<double>())
        << dims << "D";
  }
  EXPECT_THROW(quant::fold_batch_norm(torch::ones({6, 4, 3, 3}), {}, torch::zeros({5}), torch::ones({5}),
                                      torch::ones({5}), torch::zeros({5}), 1e-5),
               Error);
}

TEST(Quant, PerChannelWeightsRoundTripWithinHalfAStep) {
  torch::manual_seed(4);
  at::Tensor w = torch::randn({8, 3, 3, 3}) * torch::linspace(0.01, 3, 8).view({8, 1, 1, 1});
  w[5].zero_();  // a dead channel keeps a usable scale
  const at::Tensor q = quant::quantize_weight_per_channel(w);
  EXPECT_EQ(q.scalar_type(), torch::kQInt8);
  const at::Tensor scales = q.q_per_channel_scales();
  EXPECT_DOUBLE_EQ(scales[5].item<double>(), 1.0);
  const at::Tensor err = (q.dequantize() - w).abs().reshape({8, -1}).amax(1);
  for (int64_t c = 0; c < 8; ++c) EXPECT_LE(err[c].item<double>(), scales[c].item<double>() / 2 + 1e-9) << c;
  EXPECT_LE(q.int_repr().abs().max().item<int>(), 127);
}

TEST(Quant, Uint8ParamsCoverTheRangeAndKeepZeroExact) {
  const quant::QParams q = quant::uint8_qparams(-1.0, 3.0);
  EXPECT_NEAR(q.scale, 4.0 / 255, 1e-12);
  EXPECT_EQ(q.zero_point, 64);
  const at::Tensor x = torch::linspace(-1, 3, 1001);
  const at::Tensor r = torch::quantize_per_tensor(x, q.scale, q.zero_point, torch::kQUInt8).dequantize();
  EXPECT_LE((r - x).abs().max().item<double>(), q.scale / 2 + 1e-6);
  // An all-positive range still contains 0 (ReLU outputs).
  const quant::QParams p = quant::uint8_qparams(0.5, 2.0);
  EXPECT_EQ(p.zero_point, 0);
  EXPECT_NEAR(p.scale, 2.0 / 255, 1e-12);
  EXPECT_THROW(quant::uint8_qparams(2.0, 1.0), Error);
}

TEST(Quant, ObserversMinMaxAndPercentile) {
  quant::Observer mm("minmax"), pc("percentile");
  EXPECT_THROW(mm.qparams(), Error);     // no calibration data is an error, not a default
  at::Tensor x = torch::rand({100000});  // [0, 1)
  x[7] = 50.0;                           // one outlier
  mm.observe(x);
  pc.observe(x);
  EXPECT_NEAR(mm.qparams().scale, 50.0 / 255, 1e-9);
  EXPECT_LT(pc.qparams().scale, 1.01 / 255);  // the outlier is ignored
  EXPECT_THROW(quant::Observer("histogram-ish"), Error);
  at::Tensor bad = torch::ones({4});
  bad[1] = std::nan("");
  EXPECT_THROW(mm.observe(bad), Error);
}

}  // namespace
