// The GRPO loss against hand-computed values for each loss_type: clipped surrogate (a ratio above
// 1 + eps with a positive advantage and one below 1 - eps with a negative advantage are clipped),
// masking, the k3 KL term, the metrics, and zero gradients through clipped tokens.
#include <gtest/gtest.h>

#include <cmath>

#include <ATen/ATen.h>

#include "train/grpo_loss.h"
#include "util/error.h"

using namespace nmar::core;

namespace {

// Two completions of 3 and 2 tokens (the third of row 1 is padding).
//   ratios: row 0: e^0 = 1, e^0.2 = 1.221403 (clipped to 1.2, A = +1), e^-0.5 = 0.606531
//           row 1: e^0 = 1, e^-0.3 = 0.740818 (clipped to 0.8, A = -1)
//   per-token loss -min(rA, clip(r)A): row 0: -1, -1.2, -0.606531; row 1: 1, 0.8
struct Fixture {
  at::Tensor logp = at::tensor({-1.0, -0.5, -2.0, -0.3, -1.3, 0.0}).view({2, 3});
  at::Tensor old = at::tensor({-1.0, -0.7, -1.5, -0.3, -1.0, 0.0}).view({2, 3});
  at::Tensor ref = at::tensor({-1.0, -0.5, -1.0, -0.3, -1.2, 0.0}).view({2, 3});
  at::Tensor adv = at::tensor({1.0, 1.0, 1.0, -1.0, -1.0, -1.0}).view({2, 3});
  at::Tensor mask = at::tensor({1.0, 1.0, 1.0, 1.0, 1.0, 0.0}).view({2, 3});
};

constexpr double kRow0 = -1.0 - 1.2 - 0.6065306597;  // -2.8065306597
constexpr double kRow1 = 1.0 + 0.8;

GrpoLoss lossOf(GrpoLossType type, double beta = 0.0, int maxLen = 4) {
  Fixture f;
  GrpoLossOptions o;
  o.type = type;
  o.beta = beta;
  o.maxCompletionLength = maxLen;
  return grpoLoss({f.logp, f.old, beta > 0 ? f.ref : at::Tensor(), f.adv, f.mask}, o);
}

}  // namespace

TEST(GrpoLoss, GrpoIsTheMeanOfPerSequenceMeans) {
  const GrpoLoss l = lossOf(GrpoLossType::kGrpo);
  EXPECT_NEAR(l.value, (kRow0 / 3 + kRow1 / 2) / 2, 1e-6);  // -0.0177551
  EXPECT_EQ(l.tokens, 5.0);
}

TEST(GrpoLoss, DapoIsTheTokenMeanOverTheBatch) {
  EXPECT_NEAR(lossOf(GrpoLossType::kDapo).value, (kRow0 + kRow1) / 5, 1e-6);  // -0.2013061
}

TEST(GrpoLoss, DrGrpoDividesByBatchTimesMaxCompletionLength) {
  EXPECT_NEAR(lossOf(GrpoLossType::kDrGrpo, 0.0, 4).value, (kRow0 + kRow1) / 8, 1e-6);
  EXPECT_NEAR(lossOf(GrpoLossType::kDrGrpo, 0.0, 10).value, (kRow0 + kRow1) / 20, 1e-6);
}

TEST(GrpoLoss, MetricsCountClippedTokensAndRatios) {
  const GrpoLoss l = lossOf(GrpoLossType::kDapo);
  EXPECT_NEAR(l.clipHigh, 1.0 / 5, 1e-7);
  EXPECT_NEAR(l.clipLow, 1.0 / 5, 1e-7);
  EXPECT_NEAR(l.clipRatio, 2.0 / 5, 1e-7);
  EXPECT_NEAR(l.ratioMean, (1 + std::exp(0.2) + std::exp(-0.5) + 1 + std::exp(-0.3)) / 5, 1e-6);
  EXPECT_EQ(l.kl, 0.0);
}

TEST(GrpoLoss, KlIsTheK3EstimateTimesBeta) {
  // ref - logp: row 0: 0, 0, 1; row 1: 0, 0.1. k3 = e^d - d - 1: e - 2 and e^0.1 - 1.1.
  const double k3 = (std::exp(1.0) - 2.0) + (std::exp(0.1) - 1.1);
  const GrpoLoss l = lossOf(GrpoLossType::kDapo, 0.5);
  EXPECT_NEAR(l.kl, k3 / 5, 1e-6);
  EXPECT_NEAR(l.value, (kRow0 + kRow1 + 0.5 * k3) / 5, 1e-6);
  const GrpoLoss g = lossOf(GrpoLossType::kGrpo, 0.5);
  EXPECT_NEAR(
      g.value,
      ((kRow0 + 0.5 * (std::exp(1.0) - 2.0)) / 3 + (kRow1 + 0.5 * (std::exp(0.1) - 1.1)) / 2) / 2,
      1e-6);
}

TEST(GrpoLoss, ClippedAndMaskedTokensGetNoGradient) {
  Fixture f;
  at::Tensor logp = f.logp.clone().requires_grad_(true);
  GrpoLoss l = grpoLoss({logp, f.old, at::Tensor(), f.adv, f.mask}, {});
  l.loss.backward();
  const at::Tensor g = logp.grad();
  // d/dlogp of -rA/5 is -rA/5 where the ratio is not clipped.
  EXPECT_NEAR(g[0][0].item<double>(), -1.0 / 5, 1e-6);
  EXPECT_NEAR(g[0][1].item<double>(), 0.0, 1e-9);  // clipped high
  EXPECT_NEAR(g[0][2].item<double>(), -std::exp(-0.5) / 5, 1e-6);
  EXPECT_NEAR(g[1][0].item<double>(), 1.0 / 5, 1e-6);
  EXPECT_NEAR(g[1][1].item<double>(), 0.0, 1e-9);  // clipped low
  EXPECT_NEAR(g[1][2].item<double>(), 0.0, 1e-9);  // padding
}

TEST(GrpoLoss, EpsilonHighWidensTheUpperClip) {
  Fixture f;
  GrpoLossOptions o;
  o.epsilonHigh = 0.28;  // 1.221403 < 1.28: no longer clipped
  GrpoLoss l = grpoLoss({f.logp, f.old, at::Tensor(), f.adv, f.mask}, o);
  EXPECT_NEAR(l.value, (kRow0 + 1.2 - std::exp(0.2) + kRow1) / 5, 1e-6);
  EXPECT_EQ(l.clipHigh, 0.0);
}

TEST(GrpoLoss, ShapesMustAgree) {
  Fixture f;
  try {
    grpoLoss({f.logp, f.old, at::Tensor(), f.adv.view({3, 2}), f.mask}, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("advantages"), std::string::npos) << e.what();
  }
}
