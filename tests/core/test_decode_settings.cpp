// Decode settings and forced-deviation helpers: every bad setting or call is an Error that names
// the field, the step or the token; deviation draws are reproducible and come from the top-k.
#include <gtest/gtest.h>

#include <map>

#include <ATen/ATen.h>

#include "decode/forced_deviation.h"
#include "decode/pruned_decoder.h"
#include "test_decode_support.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

Transformer tinyLlama() { return makeDecodeModel(decodeModelCases()[1].config, 3); }

std::string settingsError(const std::function<void(DecodeSettings&)>& edit) {
  DecodeSettings s = undoSettings(TraceMode::kHard, 10, 0.0);
  edit(s);
  return errorOf([&] { s.validate(kVocab); });
}

TEST(DecodeSettings, BadSettingsNameTheField) {
  EXPECT_NE(settingsError([](DecodeSettings& s) { s.undoId = kVocab; }).find("undo_id 48"),
            std::string::npos);
  EXPECT_NE(settingsError([](DecodeSettings& s) { s.eosId = -2; }).find("eos_id -2"),
            std::string::npos);
  EXPECT_NE(settingsError([](DecodeSettings& s) { s.eosId = kUndo; }).find("both 7"),
            std::string::npos);
  EXPECT_NE(settingsError([](DecodeSettings& s) { s.deviationTopK = 0; }).find("deviation_top_k"),
            std::string::npos);
  EXPECT_NE(
      settingsError([](DecodeSettings& s) { s.sampler.temperature = -1; }).find("temperature"),
      std::string::npos);
  EXPECT_EQ(settingsError([](DecodeSettings&) {}), "no error");
}

TEST(DecodeSettings, BadForcedDeviationsNameTheEntry) {
  EXPECT_NE(settingsError([](DecodeSettings& s) {
              s.forced = {{10, 3}};
            }).find("forced deviation 1 (step 10): step outside [0, 10)"),
            std::string::npos);
  EXPECT_NE(settingsError([](DecodeSettings& s) {
              s.forced = {{1, 3}, {1, 4}};
            }).find("forced deviation 2 (step 1): a second forced deviation"),
            std::string::npos);
  EXPECT_NE(settingsError([](DecodeSettings& s) {
              s.forced = {{2, kUndo}};
            }).find("UNDO id"),
            std::string::npos);
  EXPECT_NE(settingsError([](DecodeSettings& s) {
              s.forced = {{2, 99}};
            }).find("token 99 is outside the vocabulary [0, 48)"),
            std::string::npos);
  EXPECT_NE(settingsError([](DecodeSettings& s) {
              s.forced = {{-1, 3}};
            }).find("step -1"),
            std::string::npos);
}

TEST(DecodeSettings, DecoderRejectsBadCallsAndLeavesStateIntact) {
  // Settings are checked against the model's vocabulary at construction.
  DecodeSettings bad = undoSettings(TraceMode::kHard, 10, 0.0);
  bad.undoId = 1000;
  EXPECT_NE(errorOf([&] { PrunedDecoder d(tinyLlama(), bad); }).find("undo_id 1000"),
            std::string::npos);

  PrunedDecoder d(tinyLlama(), undoSettings(TraceMode::kHard, 10, 0.0));
  EXPECT_NE(errorOf([&] { d.step(); }).find("call start() first"), std::string::npos);
  EXPECT_NE(errorOf([&] { d.start({}); }).find("prompt is empty"), std::string::npos);
  EXPECT_NE(errorOf([&] { d.start({1, 99}); }).find("prompt token 1 (id 99)"), std::string::npos);
  d.start(testPrompt());
  d.step();
  EXPECT_NE(errorOf([&] { d.forcePush(kUndo); }).find("is the UNDO id"), std::string::npos);
  EXPECT_NE(errorOf([&] { d.forcePush(48); }).find("token 48 is outside"), std::string::npos);
  if (d.depth() == 0) d.forcePush(20);
  d.forcePop();  // pops the only trace token
  EXPECT_NE(errorOf([&] { d.forcePop(); }).find("nothing to pop"), std::string::npos);
  ASSERT_EQ(d.depth(), 0);
  // The failed calls changed nothing: the cache holds the stack, the trace is valid.
  EXPECT_EQ(d.cacheLength(), d.stackSize());
  EXPECT_NO_THROW(validateTrace(d.trace()));
  d.stop();
  EXPECT_EQ(d.stopReason(), StopReason::kCancelled);
  EXPECT_NE(errorOf([&] { d.step(); }).find("has ended (cancelled)"), std::string::npos);

  ModelConfig c = decodeModelCases()[0].config;
  c.maxPositions = 4;
  PrunedDecoder g(makeDecodeModel(c), undoSettings(TraceMode::kHard, 10, 0.0));
  EXPECT_NE(errorOf([&] { g.start(testPrompt()); }).find("n_positions = 4"), std::string::npos);

  DecodeSettings plain = undoSettings(TraceMode::kHard, 10, 0.0);
  plain.undoId = -1;
  PrunedDecoder n(tinyLlama(), plain);
  n.start(testPrompt());
  n.step();
  EXPECT_NE(errorOf([&] { n.forcePop(); }).find("no UNDO token"), std::string::npos);
}

TEST(DecodeSettings, StopReasonNames) {
  EXPECT_EQ(stopReasonName(StopReason::kNone), "running");
  EXPECT_EQ(stopReasonName(StopReason::kEos), "eos");
  EXPECT_EQ(stopReasonName(StopReason::kMaxNewTokens), "max_new_tokens");
  EXPECT_EQ(stopReasonName(StopReason::kMaxPositions), "max_positions");
  EXPECT_EQ(stopReasonName(StopReason::kCancelled), "cancelled");
}

TEST(ForcedDeviation, CandidatesFollowTheArgmaxAndSkipExcludedIds) {
  // Probabilities in id order 0..7: argmax 5, then 2, 7, 0, ...
  const at::Tensor logits = at::tensor({2.0f, -1.0f, 3.0f, -3.0f, -2.0f, 5.0f, -4.0f, 2.5f});
  auto c = deviationCandidates(logits, 3, {});
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].first, 2);
  EXPECT_EQ(c[1].first, 7);
  EXPECT_EQ(c[2].first, 0);
  const at::Tensor p = at::softmax(logits.to(at::kDouble), 0);
  EXPECT_NEAR(c[0].second, p[2].item<double>(), 1e-12);
  c = deviationCandidates(logits, 3, {7, 5});
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].first, 2);
  EXPECT_EQ(c[1].first, 0);
  EXPECT_EQ(c[2].first, 1);
  EXPECT_EQ(deviationCandidates(logits, 0, {}).size(), 0u);

  // Draws land on candidates in proportion to their probability.
  std::map<std::int64_t, int> counts;
  DeviationRng rng(5);
  for (int i = 0; i < 20000; ++i) ++counts[drawDeviation(logits, 2, {}, rng.uniform())];
  ASSERT_EQ(counts.size(), 2u);
  const double share2 = p[2].item<double>() / (p[2].item<double>() + p[7].item<double>());
  EXPECT_NEAR(counts[2] / 20000.0, share2, 0.02);

  EXPECT_NE(errorOf([&] { drawDeviation(at::tensor({1.0f}), 3, {}, 0.5); }).find("no wrong token"),
            std::string::npos);
}

TEST(ForcedDeviation, RngIsSeededAndUniform) {
  DeviationRng a(9), b(9), c(10);
  double sum = 0.0;
  bool differs = false;
  for (int i = 0; i < 10000; ++i) {
    const double x = a.uniform();
    EXPECT_EQ(x, b.uniform());
    differs = differs || x != c.uniform();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
    sum += x;
  }
  EXPECT_TRUE(differs);
  EXPECT_NEAR(sum / 10000.0, 0.5, 0.02);
}

}  // namespace
