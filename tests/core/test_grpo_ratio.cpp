// GRPO importance ratios (spec §7): the training forward over the full trace sequence with the
// hard (or soft) mask and positions, the sampler's temperature, UNDO bias and UNDO masking,
// reproduces the decoder's logprobs, so every ratio of the first inner update is 1 (1e-5), also
// for sampled tokens right after a pop and after forced deviations (which the loss excludes).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "test_decode_support.h"
#include "trace/trace.h"
#include "train/grpo_loss.h"
#include "train/policy_logprobs.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

struct RatioCase {
  DecodeModelCase model;
  TraceMode mode;
};

std::vector<RatioCase> ratioCases() {
  std::vector<RatioCase> out;
  for (const DecodeModelCase& m : decodeModelCases()) {
    out.push_back({m, TraceMode::kHard});
    out.push_back({m, TraceMode::kSoft});
  }
  return out;
}

std::string ratioCaseName(const ::testing::TestParamInfo<RatioCase>& info) {
  return info.param.model.name + "_" + traceModeName(info.param.mode);
}

/** Traces from @p model: sampled ones with a high UNDO bias, and ones with forced steps. */
std::vector<Trace> sampleTraces(Transformer model, TraceMode mode, double temperature,
                                double bias) {
  std::vector<Trace> out;
  for (std::uint64_t seed = 0; seed < 6; ++seed) {
    DecodeSettings s = undoSettings(mode, 20 + static_cast<int>(seed), bias, seed);
    s.sampler.temperature = temperature;
    PrunedDecoder dec(model, s);
    const std::vector<std::int64_t> prompt = {5, 9, static_cast<std::int64_t>(11 + seed)};
    dec.start(prompt);
    int k = 0;
    while (!dec.done()) {
      if (seed % 2 == 1 && k == 2) {
        dec.forcePush(kRandomDeviation);
      } else if (seed % 2 == 1 && k == 3) {
        dec.forcePop();
      } else {
        dec.step();
      }
      ++k;
    }
    out.push_back(dec.trace());
  }
  return out;
}

class GrpoRatio : public ::testing::TestWithParam<RatioCase> {};

}  // namespace

TEST_P(GrpoRatio, FirstInnerStepRatiosAreOne) {
  const RatioCase& c = GetParam();
  Transformer model = makeDecodeModel(c.model.config, 3);
  const double temperature = 0.8, bias = 2.5;
  const std::vector<Trace> traces = sampleTraces(model, c.mode, temperature, bias);
  int pops = 0, afterPop = 0, forced = 0;
  for (const Trace& t : traces) {
    for (std::size_t k = 0; k < t.steps.size(); ++k) {
      pops += t.steps[k].kind == StepKind::kPop && !t.steps[k].forced;
      forced += t.steps[k].forced;
      afterPop += k > 0 && t.steps[k - 1].kind == StepKind::kPop && !t.steps[k].forced;
    }
  }
  ASSERT_GT(pops, 3) << "the UNDO bias should make sampled UNDOs frequent";
  ASSERT_GT(afterPop, 3);
  ASSERT_GT(forced, 0);

  std::vector<const Trace*> ptrs;
  for (const Trace& t : traces) ptrs.push_back(&t);
  PolicyForwardOptions po;
  po.undoId = kUndo;
  po.temperature = temperature;
  po.undoLogitBias = bias;
  po.mode = c.mode == TraceMode::kHard ? AttentionMode::kHard : AttentionMode::kSoft;
  po.entropy = true;
  model->train();  // as in training (the tiny models have no dropout)
  PolicyLogprobs pl = policyLogprobs(model, ptrs, po);
  ASSERT_TRUE(pl.logp.requires_grad());

  const at::Tensor mask = pl.sampled.to(at::kFloat);
  const at::Tensor adv = at::ones_like(mask);
  GrpoLoss loss = grpoLoss({pl.logp, pl.oldLogp, at::Tensor(), adv, mask}, {});
  const at::Tensor dev = (loss.ratio - 1.0).abs() * mask;
  EXPECT_LT(dev.max().item<double>(), 1e-5);
  EXPECT_NEAR(loss.ratioMean, 1.0, 1e-6);
  EXPECT_EQ(loss.clipRatio, 0.0);
  // Every sampled step is in the mask, forced ones are not.
  for (std::size_t b = 0; b < traces.size(); ++b) {
    for (std::size_t k = 0; k < traces[b].steps.size(); ++k) {
      EXPECT_EQ(pl.sampled[b][k].item<bool>(), !traces[b].steps[k].forced);
    }
  }
  EXPECT_GT(pl.entropy.max().item<double>(), 0.0);

  // The check can fail: without the UNDO bias in the forward the ratios of UNDO steps move.
  po.undoLogitBias = 0.0;
  PolicyLogprobs wrong = policyLogprobs(model, ptrs, po);
  const at::Tensor off = (at::exp(wrong.logp - wrong.oldLogp) - 1.0).abs() * mask;
  EXPECT_GT(off.max().item<double>(), 1e-2);
}

INSTANTIATE_TEST_SUITE_P(Models, GrpoRatio, ::testing::ValuesIn(ratioCases()), ratioCaseName);
