// augment/mix.h: Mixup blends each row with its partner by lam, CutMix pastes a box whose share is
// 1 - lam, both reproducible from the seed; the loss mixes with the same weights.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/augment/mix.h"

using namespace mednet;

namespace {
// Row i is filled with the value i + 1, so every pixel tells which row it came from.
at::Tensor rows(int64_t n, std::vector<int64_t> spatial) {
  std::vector<int64_t> shape{n, 1};
  shape.insert(shape.end(), spatial.begin(), spatial.end());
  at::Tensor x = torch::empty(shape);
  for (int64_t i = 0; i < n; ++i) x[i].fill_(static_cast<double>(i + 1));
  return x;
}
}  // namespace

TEST(Mix, OffReturnsTheBatchUnchanged) {
  const at::Tensor x = rows(4, {5, 5});
  const augment::MixedBatch m = augment::mix({}, x, 7);
  EXPECT_TRUE(m.images.is_same(x));
  EXPECT_FALSE(m.partner.defined());
  EXPECT_DOUBLE_EQ(m.lam, 1.0);
}

TEST(Mix, MixupBlendsEachRowWithItsPartner) {
  const at::Tensor x = rows(8, {4, 4});
  const augment::MixedBatch m = augment::mix({0.4, 0}, x, 11);
  ASSERT_TRUE(m.partner.defined());
  EXPECT_FALSE(m.cutmix);
  EXPECT_GT(m.lam, 0.0);
  EXPECT_LT(m.lam, 1.0);
  const at::Tensor expected = x * m.lam + x.index_select(0, m.partner) * (1 - m.lam);
  EXPECT_TRUE(torch::allclose(m.images, expected));
  // the partner is a permutation of the rows
  EXPECT_TRUE(torch::equal(std::get<0>(m.partner.sort()), torch::arange(8)));
  // the same seed mixes the same way, another seed differently
  const augment::MixedBatch again = augment::mix({0.4, 0}, x, 11);
  EXPECT_DOUBLE_EQ(again.lam, m.lam);
  EXPECT_TRUE(torch::equal(again.partner, m.partner));
  EXPECT_NE(augment::mix({0.4, 0}, x, 12).lam, m.lam);
}

TEST(Mix, CutMixPastesABoxWhoseShareIsOneMinusLam) {
  for (const std::vector<int64_t>& spatial : {std::vector<int64_t>{16, 16}, std::vector<int64_t>{8, 8, 8}}) {
    const at::Tensor x = rows(6, spatial);
    for (uint64_t seed = 0; seed < 5; ++seed) {
      const augment::MixedBatch m = augment::mix({0, 1.0}, x, seed);
      EXPECT_TRUE(m.cutmix);
      const double total = static_cast<double>(x[0].numel());
      for (int64_t i = 0; i < 6; ++i) {
        const int64_t p = m.partner[i].item<int64_t>();
        if (p == i) continue;  // mixed with itself: nothing to see
        const double own = m.images[i].eq(static_cast<double>(i + 1)).sum().item<double>();
        const double pasted = m.images[i].eq(static_cast<double>(p + 1)).sum().item<double>();
        EXPECT_DOUBLE_EQ(own + pasted, total);
        EXPECT_NEAR(own / total, m.lam, 1e-12) << "seed " << seed << " row " << i;
      }
    }
  }
}

TEST(Mix, BothOnTakeEachWithEvenOdds) {
  const at::Tensor x = rows(4, {8, 8});
  int cutmix = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) cutmix += augment::mix({0.4, 1.0}, x, seed).cutmix ? 1 : 0;
  EXPECT_GT(cutmix, 70);
  EXPECT_LT(cutmix, 130);
}

TEST(Mix, TheLossMixesWithTheSameWeights) {
  const at::Tensor x = rows(4, {4, 4});
  const augment::MixedBatch m = augment::mix({0.4, 0}, x, 3);
  const at::Tensor labels = torch::tensor({0, 1, 2, 3}, torch::kLong).unsqueeze(1);
  const at::Tensor loss =
      augment::mixed_loss(m, labels, [](const at::Tensor& y) { return y.to(torch::kDouble).sum(); });
  const double partner_sum = labels.index_select(0, m.partner).sum().item<double>();
  EXPECT_NEAR(loss.item<double>(), 6 * m.lam + partner_sum * (1 - m.lam), 1e-12);
}
