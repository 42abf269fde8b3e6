// PrunedDecoder behaviour: the KV cache tracks the live stack, UNDO is never void, seeds are
// reproducible, every trace validates and round-trips, resample bans popped tokens, EOS / length /
// position / budget / run limits stop or mask as promised, and cancellation leaves a valid trace.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>

#include <ATen/ATen.h>

#include "decode/pruned_decoder.h"
#include "test_decode_support.h"
#include "trace/trace_io.h"

using namespace nmar::core;
using namespace nmar::core::testing;
namespace fs = std::filesystem;

namespace {

class DecodeModels : public ::testing::TestWithParam<DecodeModelCase> {
 protected:
  Transformer model() const { return makeDecodeModel(GetParam().config, 21); }
};

TEST_P(DecodeModels, CacheHoldsExactlyTheLiveStack) {
  for (TraceMode mode : {TraceMode::kHard, TraceMode::kResample, TraceMode::kSoft}) {
    DecodeSettings s = undoSettings(mode, 120, 3.0, 1);
    s.forced = {{0, kRandomDeviation}, {1, kRandomDeviation}, {2, 13}};
    PrunedDecoder decoder(model(), s);
    int steps = 0;
    runToEnd(decoder, testPrompt(), [&](const PrunedDecoder& d) {
      ++steps;
      const int expected =
          mode == TraceMode::kSoft ? static_cast<int>(testPrompt().size()) + steps : d.stackSize();
      ASSERT_EQ(d.cacheLength(), expected) << traceModeName(mode) << " step " << steps;
      ASSERT_EQ(d.stackSize(), static_cast<int>(testPrompt().size()) + d.depth());
    });
    EXPECT_EQ(steps, 120);
    EXPECT_GT(popStats(decoder.trace()).first, 8) << traceModeName(mode);
    EXPECT_NO_THROW(validateTrace(decoder.trace(), traceModeName(mode)));
  }
}

TEST_P(DecodeModels, UndoIsNeverSampledWithNothingToPop) {
  for (TraceMode mode : {TraceMode::kHard, TraceMode::kSoft, TraceMode::kResample}) {
    for (std::uint64_t seed = 0; seed < 4; ++seed) {
      // An enormous bias: UNDO wins whenever it is not masked.
      PrunedDecoder decoder(model(), undoSettings(mode, 30, 60.0, seed));
      int depthBefore = 0;
      decoder.start(testPrompt());
      while (!decoder.done()) {
        const TraceStep& s = decoder.step();
        EXPECT_EQ(s.kind == StepKind::kPop, depthBefore > 0) << "seed " << seed;
        depthBefore = s.depth;
      }
      EXPECT_NO_THROW(validateTrace(decoder.trace()));
    }
  }
}

TEST_P(DecodeModels, SameSeedSameTraceDifferentSeedDifferentTrace) {
  for (TraceMode mode : {TraceMode::kHard, TraceMode::kSoft, TraceMode::kResample}) {
    DecodeSettings s = undoSettings(mode, 80, 2.5, 42);
    s.forced = {{7, kRandomDeviation}};
    const Trace a = decode(model(), testPrompt(), s);
    const Trace b = decode(model(), testPrompt(), s);
    EXPECT_EQ(a, b) << traceModeName(mode);
    s.sampler.seed = 43;
    const Trace c = decode(model(), testPrompt(), s);
    EXPECT_NE(traceSequence(a), traceSequence(c)) << traceModeName(mode);
    // The same decoder restarted gives the same trace again.
    PrunedDecoder decoder(model(), undoSettings(mode, 80, 2.5, 42));
    runToEnd(decoder, testPrompt());
    const Trace first = decoder.trace();
    runToEnd(decoder, testPrompt());
    EXPECT_EQ(first, decoder.trace());
  }
}

TEST_P(DecodeModels, TracesValidateAndRoundTripThroughFiles) {
  const fs::path dir = fs::temp_directory_path() / ("nmar-decode-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (TraceMode mode : {TraceMode::kHard, TraceMode::kSoft, TraceMode::kResample}) {
    DecodeSettings s = undoSettings(mode, 50, 2.0, 9);
    s.recordAttention = true;
    s.forced = {{3, kRandomDeviation}};
    s.sampler.temperature = 0.8;
    s.sampler.topP = 0.9;
    const Trace t = decode(model(), testPrompt(), s, nullptr, nullptr, nullptr, "prompt text");
    ASSERT_NO_THROW(validateTrace(t));
    EXPECT_EQ(t.mode, mode);
    EXPECT_EQ(t.promptText, "prompt text");
    EXPECT_EQ(t.meta["stop_reason"], "max_new_tokens");
    EXPECT_EQ(t.sampler, s.sampler.toJson());
    for (const TraceStep& st : t.steps) {
      ASSERT_TRUE(st.logprob.has_value());
      ASSERT_TRUE(st.entropy.has_value());
      EXPECT_FALSE(st.topk.empty());
      const bool fed = !(mode == TraceMode::kResample && st.kind == StepKind::kPop);
      EXPECT_EQ(st.attention.empty(), !fed);
      if (fed) {
        EXPECT_EQ(st.attention.keys, st.position + 1);
      }
    }
    const fs::path file = dir / (traceModeName(mode) + ".json");
    writeTrace(file, t);
    EXPECT_EQ(readTrace(file), t) << traceModeName(mode);
  }
  fs::remove_all(dir);
}

TEST_P(DecodeModels, ResampleNeverRedrawsAPoppedTokenAtThatLevel) {
  for (std::uint64_t seed = 0; seed < 3; ++seed) {
    // Greedy: without the ban the saved logits would give the popped token straight back.
    // With a bias that makes UNDO the argmax and runs of one UNDO, the decoder alternates push
    // and pop at one level, so the bans there accumulate (60 steps stay below the vocabulary).
    DecodeSettings s = undoSettings(TraceMode::kResample, 60, 100.0, seed);
    s.sampler.temperature = 0.0;
    s.sampler.maxConsecutiveUndos = 1;
    s.forced = {{0, kRandomDeviation}, {1, kRandomDeviation}, {2, kRandomDeviation}};
    s.recordLogits = true;
    PrunedDecoder decoder(model(), s);
    runToEnd(decoder, testPrompt());
    const Trace& t = decoder.trace();
    ASSERT_NO_THROW(validateTrace(t));
    // Replay: ids popped from each stack level are banned there until the level itself is popped.
    std::map<int, std::set<std::int64_t>> banned;
    std::vector<std::size_t> chosenAt;  // the step that chose each live trace token
    int size = static_cast<int>(t.promptIds.size()), pops = 0, checkedPushes = 0;
    for (std::size_t k = 0; k < t.steps.size(); ++k) {
      const TraceStep& st = t.steps[k];
      if (st.kind == StepKind::kPop) {
        ++pops;
        --size;
        banned.erase(size + 1);
        banned[size].insert(st.popped);
        // The logits used next are exactly those saved when the popped token was chosen.
        if (k + 1 < t.steps.size()) {
          EXPECT_TRUE(
              at::equal(decoder.stepLogits()[k + 1], decoder.stepLogits()[chosenAt.back()]));
        }
        chosenAt.pop_back();
      } else {
        if (!st.forced && banned.count(size)) {
          EXPECT_EQ(banned[size].count(st.token), 0u) << "step " << k << " re-drew a banned id";
          ++checkedPushes;
        }
        chosenAt.push_back(k);
        ++size;
      }
    }
    EXPECT_GT(pops, 20);
    EXPECT_GT(checkedPushes, 10);
  }
}

TEST_P(DecodeModels, EosStopsAndIsLeftOutOfTheOutput) {
  // A sampled EOS: greedy, with EOS set to the argmax of the prompt's logits.
  DecodeSettings probe = undoSettings(TraceMode::kHard, 5, 0.0);
  probe.recordLogits = true;
  probe.sampler.temperature = 0.0;
  PrunedDecoder p(model(), probe);
  p.start(testPrompt());
  p.step();
  const std::int64_t argmax = p.stepLogits()[0].argmax().item<std::int64_t>();
  ASSERT_NE(argmax, kUndo);
  DecodeSettings s = probe;
  s.eosId = argmax;
  s.sampler.stopAtEos = true;
  PrunedDecoder d(model(), s);
  runToEnd(d, testPrompt());
  EXPECT_EQ(d.stopReason(), StopReason::kEos);
  ASSERT_EQ(d.trace().steps.size(), 1u);
  EXPECT_TRUE(d.trace().outputIds.empty());
  EXPECT_EQ(d.trace().meta["stop_reason"], "eos");
  EXPECT_NO_THROW(validateTrace(d.trace()));

  // A forced EOS at step 4 also ends the decode; without stop_at_eos it is an ordinary token.
  DecodeSettings f = undoSettings(TraceMode::kHard, 30, 1.0, 2);
  f.forced = {{4, kEos}};
  f.sampler.stopAtEos = true;
  Trace t = decode(model(), testPrompt(), f);
  ASSERT_EQ(t.steps.size(), 5u);
  EXPECT_EQ(t.steps[4].token, kEos);
  EXPECT_EQ(t.meta["stop_reason"], "eos");
  EXPECT_NO_THROW(validateTrace(t));
  f.sampler.stopAtEos = false;
  t = decode(model(), testPrompt(), f);
  EXPECT_EQ(t.steps.size(), 30u);
  EXPECT_EQ(t.meta["stop_reason"], "max_new_tokens");
}

TEST_P(DecodeModels, BudgetAndConsecutiveLimitsAreRespected) {
  DecodeSettings s = undoSettings(TraceMode::kHard, 60, 60.0, 3);
  s.sampler.undoBudget = 4;
  Trace t = decode(model(), testPrompt(), s);
  EXPECT_EQ(popStats(t).first, 4);

  s = undoSettings(TraceMode::kHard, 60, 60.0, 3);
  s.sampler.maxConsecutiveUndos = 2;
  for (int k = 0; k < 6; ++k) s.forced.push_back({k, kRandomDeviation});
  t = decode(model(), testPrompt(), s);
  EXPECT_EQ(popStats(t).second, 2);
  EXPECT_GT(popStats(t).first, 10);

  s.sampler.undoBudget = 0;  // budget 0: decodes plainly
  t = decode(model(), testPrompt(), s);
  EXPECT_EQ(popStats(t).first, 0);
}

TEST_P(DecodeModels, CancellationMidRunLeavesAValidTrace) {
  std::atomic<bool> cancel{false};
  FunctionEventSink sink;
  int finishes = 0;
  StopReason reason = StopReason::kNone;
  sink.step = [&](int index, const TraceStep&) {
    if (index == 11) cancel = true;
  };
  sink.finish = [&](const Trace&, StopReason r) {
    ++finishes;
    reason = r;
  };
  const Trace t =
      decode(model(), testPrompt(), undoSettings(TraceMode::kHard, 100, 2.0), &sink, &cancel);
  EXPECT_EQ(t.steps.size(), 12u);
  EXPECT_EQ(finishes, 1);
  EXPECT_EQ(reason, StopReason::kCancelled);
  EXPECT_EQ(t.meta["stop_reason"], "cancelled");
  EXPECT_NO_THROW(validateTrace(t));
}

TEST_P(DecodeModels, EventsMirrorTheTrace) {
  FunctionEventSink sink;
  std::vector<TraceStep> seen;
  int starts = 0;
  sink.start = [&](const Trace& header) {
    ++starts;
    EXPECT_TRUE(header.steps.empty());
    EXPECT_EQ(header.promptIds, testPrompt());
  };
  sink.step = [&](int index, const TraceStep& st) {
    EXPECT_EQ(index, static_cast<int>(seen.size()));
    seen.push_back(st);
  };
  DecodeSettings s = undoSettings(TraceMode::kHard, 40, 2.0, 5);
  s.forced = {{2, 17}, {9, kRandomDeviation}};
  s.recordLogits = true;
  PrunedDecoder decoder(model(), s);
  decoder.setSink(&sink);
  runToEnd(decoder, testPrompt());
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(seen, decoder.trace().steps);

  // Forced steps are marked, carry the model's raw log-probability, and a random deviation is a
  // wrong token from the model's own top-k (never its argmax, UNDO or EOS).
  const Trace& t = decoder.trace();
  for (std::size_t k = 0; k < t.steps.size(); ++k)
    EXPECT_EQ(t.steps[k].forced, k == 2 || k == 9) << "step " << k;
  EXPECT_EQ(t.steps[2].token, 17);
  const at::Tensor raw = at::log_softmax(decoder.stepLogits()[9].to(at::kDouble), 0);
  EXPECT_NEAR(*t.steps[9].logprob, raw[t.steps[9].token].item<double>(), 1e-9);
  const auto candidates = deviationCandidates(decoder.stepLogits()[9], 5, {kUndo, kEos});
  bool inTopK = false;
  for (const auto& c : candidates) inTopK = inTopK || c.first == t.steps[9].token;
  EXPECT_TRUE(inTopK);
  EXPECT_NE(t.steps[9].token, decoder.stepLogits()[9].argmax().item<std::int64_t>());
}

TEST_P(DecodeModels, ForcePushInjectsAndDecodingGoesOn) {
  PrunedDecoder decoder(model(), undoSettings(TraceMode::kHard, 20, 1.0, 6));
  decoder.start(testPrompt());
  decoder.step();
  const TraceStep& injected = decoder.forcePush(30);
  EXPECT_TRUE(injected.forced);
  EXPECT_EQ(injected.token, 30);
  EXPECT_EQ(injected.kind, StepKind::kPush);
  const TraceStep& random = decoder.forcePush();
  EXPECT_TRUE(random.forced);
  EXPECT_NE(random.token, kUndo);
  const std::int64_t randomToken = random.token;
  const TraceStep& undo = decoder.forcePop();
  EXPECT_TRUE(undo.forced);
  EXPECT_EQ(undo.kind, StepKind::kPop);
  EXPECT_EQ(undo.popped, randomToken);
  EXPECT_EQ(decoder.cacheLength(), decoder.stackSize());
  EXPECT_EQ(decoder.undosUsed(), popStats(decoder.trace()).first);
  while (!decoder.done()) decoder.step();
  EXPECT_EQ(decoder.trace().steps.size(), 20u);
  EXPECT_NO_THROW(validateTrace(decoder.trace()));
  EXPECT_NE(errorOf([&] { decoder.step(); }).find("has ended (max_new_tokens)"), std::string::npos);
}

TEST_P(DecodeModels, ModelWithoutUndoDecodesPlainly) {
  DecodeSettings s = undoSettings(TraceMode::kHard, 40, 50.0, 2);
  s.undoId = -1;
  const Trace t = decode(model(), testPrompt(), s);
  EXPECT_EQ(popStats(t).first, 0);
  EXPECT_EQ(t.undoId, GetParam().config.vocabSize);  // an id the model can never emit
  EXPECT_EQ(t.meta["undo_token"], "none");
  EXPECT_EQ(t.outputIds.size(), 40u);
  EXPECT_NO_THROW(validateTrace(t));
}

INSTANTIATE_TEST_SUITE_P(Models, DecodeModels, ::testing::ValuesIn(decodeModelCases()),
                         decodeCaseName);

TEST(DecodeLimits, Gpt2StopsWhenPositionsRunOut) {
  ModelConfig c = decodeModelCases()[0].config;
  c.maxPositions = 24;
  for (TraceMode mode : {TraceMode::kSoft, TraceMode::kHard}) {
    DecodeSettings s = undoSettings(mode, 100, mode == TraceMode::kSoft ? 2.0 : -50.0, 1);
    const Trace t = decode(makeDecodeModel(c), testPrompt(), s);
    EXPECT_EQ(t.meta["stop_reason"], "max_positions") << traceModeName(mode);
    // soft: every step takes a position; hard without UNDOs: the stack fills them.
    EXPECT_EQ(t.steps.size(), 20u) << traceModeName(mode);
    EXPECT_NO_THROW(validateTrace(t));
  }
}

}  // namespace
