// The parity invariant of spec §3: the logits the pruned decoder used at every step equal (1e-4,
// fp32) the logits at the same positions of ONE forward over the whole trace sequence, with the
// hard mask + hard positions (hard mode) or the causal mask + positions i (soft mode). Also the
// recorded attention rows against the same forward. GPT-2 and Llama (GQA, untied head).
#include <gtest/gtest.h>

#include <tuple>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "decode/pruned_decoder.h"
#include "nmar/masks.h"
#include "test_decode_support.h"
#include "trace/trace.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace nmar::core {
inline void PrintTo(TraceMode mode, std::ostream* os) { *os << traceModeName(mode); }
}  // namespace nmar::core

namespace {

constexpr double kTolerance = 1e-4;

/** A decode scenario: the settings and what its trace must contain to cover the case. */
struct Scenario {
  std::string name;
  std::function<DecodeSettings(TraceMode)> settings;
  int minPops;      // at least this many UNDOs
  int minRun;       // a run of at least this many consecutive UNDOs
  bool popAtStep1;  // an UNDO right after the first push
};

std::vector<Scenario> scenarios() {
  return {
      // UNDO whenever it is allowed: push, pop, push, pop, ... (UNDO right after the first push).
      {"alternating", [](TraceMode m) { return undoSettings(m, 40, 30.0, 3); }, 19, 1, true},
      // Five forced pushes, then UNDO whenever allowed: a run of five consecutive UNDOs.
      {"consecutive",
       [](TraceMode m) {
         DecodeSettings s = undoSettings(m, 40, 30.0, 4);
         for (int k = 0; k < 5; ++k) s.forced.push_back({k, kRandomDeviation});
         s.recordAttention = true;
         return s;
       },
       15, 5, false},
      // A long mixed run (~a third of the steps are UNDOs) with forced deviations.
      {"long",
       [](TraceMode m) {
         DecodeSettings s = undoSettings(m, 400, 4.0, 5);
         s.forced = {{10, kRandomDeviation}, {50, 9}, {200, kRandomDeviation}};
         return s;
       },
       30, 2, false},
  };
}

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

using ParityParam = std::tuple<DecodeModelCase, TraceMode, Scenario>;

std::string paramName(const ::testing::TestParamInfo<ParityParam>& info) {
  return std::get<0>(info.param).name + "_" + traceModeName(std::get<1>(info.param)) + "_" +
         std::get<2>(info.param).name;
}

/** The full forward over the trace sequence with @p mode's mask and positions, and the mask. */
std::pair<ForwardOutput, at::Tensor> fullForward(Transformer& model, const Trace& trace,
                                                 AttentionMode mode, bool attention) {
  const std::vector<std::int64_t> seq = traceSequence(trace);
  const at::Tensor ids = at::tensor(seq, at::kLong).unsqueeze(0);
  const NmarBatch batch =
      buildNmarBatch(ids, {static_cast<int>(trace.promptIds.size())}, trace.undoId);
  torch::NoGradGuard noGrad;
  ForwardOptions fo;
  fo.mask = batch.mask(mode);
  fo.positionIds = batch.positions(mode);
  fo.returnAttention = attention;
  return {model->forward(ids, fo), batch.mask(mode)};
}

/** Largest |decoder logits - full-forward logits| over the steps. */
double maxLogitGap(const PrunedDecoder& decoder, const ForwardOutput& full, int promptLength) {
  double worst = 0.0;
  const auto& used = decoder.stepLogits();
  for (std::size_t k = 0; k < used.size(); ++k) {
    const at::Tensor ref = full.logits[0][promptLength - 1 + static_cast<int64_t>(k)];
    worst = std::max(worst, (used[k] - ref).abs().max().item<double>());
  }
  return worst;
}

class DecodeParity : public ::testing::TestWithParam<ParityParam> {};

TEST_P(DecodeParity, StepLogitsEqualOneMaskedForward) {
  const auto& [modelCase, mode, scenario] = GetParam();
  Transformer model = makeDecodeModel(modelCase.config, 11);
  DecodeSettings settings = scenario.settings(mode);
  settings.recordLogits = true;
  PrunedDecoder decoder(model, settings);
  runToEnd(decoder, testPrompt());
  const Trace& trace = decoder.trace();
  ASSERT_NO_THROW(validateTrace(trace));
  ASSERT_EQ(decoder.stepLogits().size(), trace.steps.size());

  // The trace covers the case it is meant to cover.
  const auto [pops, run] = popStats(trace);
  EXPECT_GE(pops, scenario.minPops);
  EXPECT_GE(run, scenario.minRun);
  if (scenario.popAtStep1) {
    ASSERT_GE(trace.steps.size(), 2u);
    EXPECT_EQ(trace.steps[0].kind, StepKind::kPush);
    EXPECT_EQ(trace.steps[1].kind, StepKind::kPop);
  }

  const int m = static_cast<int>(trace.promptIds.size());
  const AttentionMode same = mode == TraceMode::kHard ? AttentionMode::kHard : AttentionMode::kSoft;
  const AttentionMode other =
      mode == TraceMode::kHard ? AttentionMode::kSoft : AttentionMode::kHard;
  const auto [full, mask] = fullForward(model, trace, same, settings.recordAttention);
  for (std::size_t k = 0; k < trace.steps.size(); ++k) {
    const at::Tensor ref = full.logits[0][m - 1 + static_cast<int64_t>(k)];
    const double gap = (decoder.stepLogits()[k] - ref).abs().max().item<double>();
    ASSERT_LE(gap, kTolerance) << "step " << k << " (" << scenario.name << ")";
  }
  // The check can fail: the other mode's forward disagrees once UNDOs are in the trace.
  EXPECT_GT(maxLogitGap(decoder, fullForward(model, trace, other, false).first, m), 1e-2);

  // Recorded attention rows: the full forward's probabilities at the query's visible keys.
  if (settings.recordAttention) {
    for (std::size_t k = 0; k < trace.steps.size(); ++k) {
      const TraceStep& s = trace.steps[k];
      const int64_t q = m + static_cast<int64_t>(k);
      ASSERT_FALSE(s.attention.empty()) << "step " << k;
      ASSERT_EQ(s.attention.layers.size(), static_cast<std::size_t>(modelCase.config.numLayers));
      ASSERT_EQ(s.attention.heads, modelCase.config.numHeads);
      const at::Tensor visible = mask[0][0][q].nonzero().view({-1});
      ASSERT_EQ(s.attention.keys, visible.size(0)) << "step " << k;
      for (std::size_t l = 0; l < s.attention.layers.size(); ++l) {
        const at::Tensor ref = full.attentions[l][0].select(1, q).index_select(1, visible);
        const at::Tensor got = at::from_blob(const_cast<float*>(s.attention.layers[l].data()),
                                             {s.attention.heads, s.attention.keys}, at::kFloat);
        ASSERT_LE((got - ref).abs().max().item<double>(), kTolerance)
            << "step " << k << " layer " << l;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, DecodeParity,
                         ::testing::Combine(::testing::ValuesIn(decodeModelCases()),
                                            ::testing::Values(TraceMode::kHard, TraceMode::kSoft),
                                            ::testing::ValuesIn(scenarios())),
                         paramName);

// Hard mode, checked without the mask builder: after a push, the next logits equal a plain causal
// forward over the live stack alone (popped tokens and UNDOs leave nothing behind).
TEST(DecodeParityPruned, AfterPopsTheContextIsTheLiveStackOnly) {
  const DecodeModelCase c = decodeModelCases()[1];
  Transformer model = makeDecodeModel(c.config, 12);
  DecodeSettings s = undoSettings(TraceMode::kHard, 60, 3.0, 8);
  s.recordLogits = true;
  PrunedDecoder decoder(model, s);
  runToEnd(decoder, testPrompt());
  const Trace& trace = decoder.trace();
  std::vector<std::int64_t> stack = trace.promptIds;
  int checked = 0;
  torch::NoGradGuard noGrad;
  for (std::size_t k = 0; k + 1 < trace.steps.size(); ++k) {
    const TraceStep& st = trace.steps[k];
    if (st.kind == StepKind::kPush) {
      stack.push_back(st.token);
      const at::Tensor ids = at::tensor(stack, at::kLong).unsqueeze(0);
      const at::Tensor ref = model->forward(ids).logits[0][-1];
      EXPECT_LE((decoder.stepLogits()[k + 1] - ref).abs().max().item<double>(), kTolerance)
          << "step " << k + 1;
      ++checked;
    } else {
      stack.pop_back();
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
