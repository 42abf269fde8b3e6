// decodeGroup (batched group decoding) against the reference: G sequential PrunedDecoders with the
// same seeds must give the same steps (tokens, kinds, positions, depths), outputs and stop
// reasons, and logprobs within float rounding; plus the settings decodeGroup refuses.
#include <gtest/gtest.h>

#include <atomic>

#include "decode/group_decoder.h"
#include "test_decode_support.h"
#include "trace/trace_io.h"

namespace nmar::core::testing {
namespace {

std::vector<std::uint64_t> groupSeeds(int n) {
  std::vector<std::uint64_t> seeds;
  for (int g = 0; g < n; ++g) seeds.push_back(1000 + 17 * static_cast<std::uint64_t>(g));
  return seeds;
}

Trace sequential(Transformer model, const DecodeSettings& settings, std::uint64_t seed) {
  DecodeSettings s = settings;
  s.sampler.seed = seed;
  return decode(model, testPrompt(), s);
}

void expectSameDecode(const Trace& batched, const Trace& reference, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(batched.steps.size(), reference.steps.size());
  for (std::size_t k = 0; k < reference.steps.size(); ++k) {
    SCOPED_TRACE("step " + std::to_string(k));
    const TraceStep& b = batched.steps[k];
    const TraceStep& r = reference.steps[k];
    EXPECT_EQ(b.token, r.token);
    EXPECT_EQ(b.kind, r.kind);
    EXPECT_EQ(b.position, r.position);
    EXPECT_EQ(b.depth, r.depth);
    EXPECT_EQ(b.popped, r.popped);
    ASSERT_TRUE(b.logprob && r.logprob && b.entropy && r.entropy);
    EXPECT_NEAR(*b.logprob, *r.logprob, 1e-4);
    EXPECT_NEAR(*b.entropy, *r.entropy, 1e-4);
  }
  EXPECT_EQ(batched.outputIds, reference.outputIds);
  EXPECT_EQ(batched.seed, reference.seed);
  EXPECT_EQ(batched.meta.at("stop_reason"), reference.meta.at("stop_reason"));
  EXPECT_NO_THROW(validateTrace(batched, what));
}

class DecodeGroup : public ::testing::TestWithParam<DecodeModelCase> {};

TEST_P(DecodeGroup, HardModeMatchesSequentialDecodingRowByRow) {
  const Transformer model = makeDecodeModel(GetParam().config);
  DecodeSettings s = undoSettings(TraceMode::kHard, 24, 3.5);
  const std::vector<std::uint64_t> seeds = groupSeeds(6);
  const std::vector<Trace> batched = decodeGroup(model, testPrompt(), s, seeds);
  ASSERT_EQ(batched.size(), seeds.size());
  int pops = 0;
  for (std::size_t g = 0; g < seeds.size(); ++g) {
    expectSameDecode(batched[g], sequential(model, s, seeds[g]), "row " + std::to_string(g));
    pops += popStats(batched[g]).first;
  }
  EXPECT_GT(pops, 6) << "the UNDO bias should make pops frequent, or the test proves little";
}

TEST_P(DecodeGroup, SoftModeMatchesSequentialDecodingRowByRow) {
  const Transformer model = makeDecodeModel(GetParam().config);
  DecodeSettings s = undoSettings(TraceMode::kSoft, 20, 2.5);
  const std::vector<std::uint64_t> seeds = groupSeeds(4);
  const std::vector<Trace> batched = decodeGroup(model, testPrompt(), s, seeds);
  for (std::size_t g = 0; g < seeds.size(); ++g)
    expectSameDecode(batched[g], sequential(model, s, seeds[g]), "row " + std::to_string(g));
}

TEST_P(DecodeGroup, RowsEndingAtDifferentStepsKeepTheirOwnStopReason) {
  const Transformer model = makeDecodeModel(GetParam().config);
  DecodeSettings s = undoSettings(TraceMode::kHard, 30, 1.0);
  s.sampler.stopAtEos = true;
  s.sampler.undoBudget = 3;
  s.sampler.maxConsecutiveUndos = 2;
  s.sampler.temperature = 1.5;  // flat enough that EOS is drawn by some rows and not others
  const std::vector<std::uint64_t> seeds = groupSeeds(8);
  const std::vector<Trace> batched = decodeGroup(model, testPrompt(), s, seeds);
  std::size_t shortest = 1000, longest = 0;
  for (std::size_t g = 0; g < seeds.size(); ++g) {
    expectSameDecode(batched[g], sequential(model, s, seeds[g]), "row " + std::to_string(g));
    shortest = std::min(shortest, batched[g].steps.size());
    longest = std::max(longest, batched[g].steps.size());
    EXPECT_LE(popStats(batched[g]).first, 3);
    EXPECT_LE(popStats(batched[g]).second, 2);
  }
  EXPECT_LT(shortest, longest) << "some rows should stop at EOS before others";
}

INSTANTIATE_TEST_SUITE_P(Models, DecodeGroup, ::testing::ValuesIn(decodeModelCases()),
                         decodeCaseName);

TEST(DecodeGroupSettings, RefusesWhatOnlyThePerSequenceDecoderDoes) {
  const Transformer model = makeDecodeModel(decodeModelCases()[1].config);
  const std::vector<std::uint64_t> seeds = groupSeeds(2);
  DecodeSettings resample = undoSettings(TraceMode::kResample, 8, 0.0);
  EXPECT_FALSE(groupDecodable(resample));
  EXPECT_NE(errorOf([&] { decodeGroup(model, testPrompt(), resample, seeds); }).find("resample"),
            std::string::npos);
  DecodeSettings forced = undoSettings(TraceMode::kHard, 8, 0.0);
  forced.forced.push_back({2, 5});
  EXPECT_FALSE(groupDecodable(forced));
  EXPECT_NE(errorOf([&] { decodeGroup(model, testPrompt(), forced, seeds); }).find("forced"),
            std::string::npos);
  DecodeSettings attention = undoSettings(TraceMode::kHard, 8, 0.0);
  attention.recordAttention = true;
  EXPECT_FALSE(groupDecodable(attention));
  EXPECT_TRUE(groupDecodable(undoSettings(TraceMode::kSoft, 8, 0.0)));

  const DecodeSettings hard = undoSettings(TraceMode::kHard, 8, 0.0);
  EXPECT_NE(errorOf([&] { decodeGroup(model, testPrompt(), hard, {}); }).find("no seeds"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { decodeGroup(model, {}, hard, seeds); }).find("prompt is empty"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { decodeGroup(model, {1, kVocab + 3}, hard, seeds); })
                .find("prompt token 1"),
            std::string::npos);
}

TEST(DecodeGroupSettings, ARaisedCancelFlagEndsEveryRowAsCancelled) {
  const Transformer model = makeDecodeModel(decodeModelCases()[0].config);
  const std::atomic<bool> cancel{true};
  const std::vector<Trace> traces = decodeGroup(
      model, testPrompt(), undoSettings(TraceMode::kHard, 8, 0.0), groupSeeds(3), nullptr, "",
      &cancel);
  ASSERT_EQ(traces.size(), 3u);
  for (const Trace& t : traces) {
    EXPECT_TRUE(t.steps.empty());
    EXPECT_EQ(t.meta.at("stop_reason"), "cancelled");
    EXPECT_NO_THROW(validateTrace(t));
  }
}

}  // namespace
}  // namespace nmar::core::testing
