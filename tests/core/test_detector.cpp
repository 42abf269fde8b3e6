// The deviation detector and the verifier trigger (issue 12): labels from hand-made traces, AUROC
// and threshold metrics on known values, save/load with clear errors for bad files, a detector
// trained on a toy task that separates injected deviations on held-out data, and the trigger in
// the pruned decoder: forced UNDOs in hard, soft and resample mode that keep the parity
// invariant (the decoder's logits and scores equal one masked forward over the trace).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "checkpoint/safetensors.h"
#include "data/task.h"
#include "decode/group_decoder.h"
#include "nmar/masks.h"
#include "test_decode_support.h"
#include "tokenizer/char_tokenizer.h"
#include "trace/trace.h"
#include "trace/trace_render.h"
#include "train/detector.h"
#include "train/detector_data.h"
#include "train/detector_labels.h"
#include "train/detector_metrics.h"
#include "train/detector_trainer.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

std::filesystem::path tempDir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("nmar_detector_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

Trace traceOf(const std::vector<std::int64_t>& ids, int prompt, std::int64_t undo) {
  Trace t;
  t.promptIds.assign(ids.begin(), ids.begin() + prompt);
  t.undoId = undo;
  t.steps = stepsFromSequence(ids, prompt, undo);
  return t;
}

// --- labels ---

TEST(DetectorLabels, StackLabelsMarkPoppedPushes) {
  // p p a x y U U b c U d: x, y and c are deviations.
  const std::vector<std::int64_t> ids{1, 2, 10, 11, 12, 7, 7, 13, 14, 7, 15};
  const std::vector<int> want{-1, -1, 0, 1, 1, -1, -1, 0, 1, -1, 0};
  EXPECT_EQ(stackLabels(ids, 2, 7), want);
  // A token popped only after later tokens were popped above it is still a deviation.
  EXPECT_EQ(stackLabels({1, 10, 11, 7, 7, 12}, 1, 7), (std::vector<int>{-1, 1, 1, -1, -1, 0}));
  // The prompt is never labelled, even when it holds the UNDO id.
  EXPECT_EQ(stackLabels({7, 10}, 1, 7), (std::vector<int>{-1, 0}));
  // A void UNDO is rejected with its position.
  EXPECT_NE(errorOf([] { stackLabels({1, 7}, 1, 7); }).find("1"), std::string::npos);
  EXPECT_THROW(stackLabels({1, 7}, 1, 7), Error);
}

TEST(DetectorLabels, NaturalLabelsFromTheFirstWrongTokenOn) {
  const std::vector<std::int64_t> gold{20, 21, 22, 2};  // "abc" then EOS
  // A plain output that goes wrong at its second token: that token and every later one are 1.
  EXPECT_EQ(naturalLabels(traceOf({1, 20, 25, 22, 2}, 1, 7), gold),
            (std::vector<int>{0, 1, 1, 1}));
  // Right all the way.
  EXPECT_EQ(naturalLabels(traceOf({1, 20, 21, 22, 2}, 1, 7), gold),
            (std::vector<int>{0, 0, 0, 0}));
  // The model takes its wrong token back: pops carry no label, the correction is right again.
  EXPECT_EQ(naturalLabels(traceOf({1, 20, 25, 7, 21, 22}, 1, 7), gold),
            (std::vector<int>{0, 1, -1, 0, 0}));
  // Too long: a token past the gold's end is wrong.
  EXPECT_EQ(naturalLabels(traceOf({1, 20, 21, 22, 2, 20}, 1, 7), gold),
            (std::vector<int>{0, 0, 0, 0, 1}));
}

// --- metrics ---

TEST(DetectorMetricsTest, AurocAndThresholdMetricsOnKnownValues) {
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.2, 0.3, 0.9}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(auroc({0.9, 0.8, 0.3, 0.1}, {0, 0, 1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(auroc({0.5, 0.5}, {0, 1}), 0.5);                      // a tie counts 1/2
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.9, 0.5}, {0, 1, kNoLabel}), 1.0);       // unlabelled skipped
  EXPECT_TRUE(std::isnan(auroc({0.1, 0.2}, {0, 0})));                    // one class only
  EXPECT_THROW(auroc({0.1}, {0, 1}), Error);

  const DetectorMetrics m = detectorMetrics({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}, 0.375);
  EXPECT_EQ(m.tokens, 4);
  EXPECT_EQ(m.positives, 2);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);  // 0.4 (correct) and 0.8 (deviation) trigger
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_DOUBLE_EQ(m.falseTriggerRate, 0.5);
  EXPECT_DOUBLE_EQ(m.meanScorePositive, (0.35 + 0.8) / 2);
  EXPECT_EQ(m.toJson()["auroc"], 0.75);
  EXPECT_TRUE(std::isnan(detectorMetrics({0.1}, {0}, 0.5).precision));  // nothing triggered
}

// --- files ---

TEST(DetectorFiles, SaveAndLoadRoundTrip) {
  const auto dir = tempDir("roundtrip");
  for (std::int64_t inner : {0, 16}) {
    DetectorConfig c;
    c.hiddenSize = 32;
    c.innerSize = inner;
    c.tau = 0.3;
    c.training = {{"task", "addition"}};
    DetectorHead head(c, 5);
    saveDetector(dir, head);
    ASSERT_TRUE(hasDetector(dir));
    DetectorHead back = loadDetector(dir, 32);
    EXPECT_EQ(back->config().innerSize, inner);
    EXPECT_DOUBLE_EQ(back->config().tau, 0.3);
    EXPECT_EQ(back->config().training["task"], "addition");
    const at::Tensor h = at::randn({3, 32});
    torch::NoGradGuard noGrad;
    EXPECT_TRUE(at::equal(head->forward(h), back->forward(h)));
    EXPECT_EQ(readSafetensors(dir / kDetectorWeightsFile).size(), inner > 0 ? 4u : 2u);
  }
  std::filesystem::remove_all(dir);
}

TEST(DetectorFiles, BadFilesGiveErrorsNamingFileAndField) {
  const auto dir = tempDir("bad");
  DetectorConfig c;
  c.hiddenSize = 32;
  DetectorHead head(c, 1);
  saveDetector(dir, head);
  const std::string cfg = (dir / kDetectorConfigFile).string();
  const std::string st = (dir / kDetectorWeightsFile).string();

  // The model's hidden size differs.
  std::string e = errorOf([&] { loadDetector(dir, 64); });
  EXPECT_NE(e.find(cfg), std::string::npos) << e;
  EXPECT_NE(e.find("'hidden_size'"), std::string::npos) << e;
  EXPECT_NE(e.find("does not match the model's hidden size 64"), std::string::npos) << e;

  // A missing tensor.
  TensorMap t = head->stateDict();
  t.erase("score.bias");
  writeSafetensors(st, t);
  e = errorOf([&] { loadDetector(dir); });
  EXPECT_NE(e.find(st), std::string::npos) << e;
  EXPECT_NE(e.find("missing tensor 'score.bias'"), std::string::npos) << e;

  // A wrongly shaped tensor (a detector of another model).
  t = head->stateDict();
  t["score.weight"] = at::zeros({1, 48});
  writeSafetensors(st, t);
  e = errorOf([&] { loadDetector(dir); });
  EXPECT_NE(e.find("tensor 'score.weight': shape [1, 48], expected [1, 32]"), std::string::npos)
      << e;

  // An unexpected tensor, then an integer tensor.
  t = head->stateDict();
  t["fc.weight"] = at::zeros({4, 32});
  writeSafetensors(st, t);
  EXPECT_NE(errorOf([&] { loadDetector(dir); }).find("unexpected tensor 'fc.weight'"),
            std::string::npos);
  t = head->stateDict();
  t["score.bias"] = at::zeros({1}, at::kLong);
  writeSafetensors(st, t);
  EXPECT_NE(errorOf([&] { loadDetector(dir); }).find("is not a floating type"), std::string::npos);
  writeSafetensors(st, head->stateDict());

  // Bad JSON, a missing field, a wrong type, another model type.
  const auto writeConfig = [&](const std::string& text) { std::ofstream(cfg) << text; };
  writeConfig("{\"model_type\": ");
  e = errorOf([&] { loadDetector(dir); });
  EXPECT_NE(e.find(kDetectorConfigFile), std::string::npos) << e;
  EXPECT_NE(e.find("invalid JSON"), std::string::npos) << e;
  writeConfig(R"({"model_type": "nmar_deviation_detector"})");
  EXPECT_NE(errorOf([&] { loadDetector(dir); }).find("missing field 'hidden_size'"),
            std::string::npos);
  writeConfig(R"({"model_type": "nmar_deviation_detector", "hidden_size": "32"})");
  EXPECT_NE(errorOf([&] { loadDetector(dir); }).find("field 'hidden_size': expected an integer"),
            std::string::npos);
  writeConfig(R"({"model_type": "llama", "hidden_size": 32})");
  EXPECT_NE(errorOf([&] { loadDetector(dir); }).find("field 'model_type'"), std::string::npos);
  writeConfig(R"({"model_type": "nmar_deviation_detector", "hidden_size": 32, "tau": 2})");
  EXPECT_NE(errorOf([&] { loadDetector(dir); }).find("field 'tau'"), std::string::npos);

  // Missing files.
  std::filesystem::remove(st);
  EXPECT_NE(errorOf([&] { loadDetector(dir); }).find(st), std::string::npos);
  std::filesystem::remove_all(dir);
  EXPECT_NE(errorOf([&] { loadDetector(dir); }).find(kDetectorConfigFile), std::string::npos);
}

// --- training on a toy task ---

TEST(DetectorTraining, SeparatesInjectedDeviationsOnHeldOutData) {
  CharTokenizer tok(CharTokenizer::defaultAlphabet());
  const std::int64_t undo = tok.addSpecialToken("<|undo|>");
  ModelConfig config = ModelConfig::preset(ModelFamily::Llama, "tiny", tok.vocabSize());
  Transformer model = makeDecodeModel(config, 3);
  const auto task = makeTask("addition");
  DetectorDataSettings ds;
  ds.undoId = undo;
  ds.eosId = *tok.eosId();
  ds.deviation.kind = DeviationKind::kRandom;
  const DetectorSamples train =
      injectedSamples(model, tok, makeExamples(*task, 2, 160, 1), ds, 11);
  const DetectorSamples held = injectedSamples(model, tok, makeExamples(*task, 2, 80, 2), ds, 12);
  ASSERT_GT(train.positives(), 100);
  ASSERT_GT(held.positives(), 50);
  ASSERT_GT(held.size() - held.positives(), 200);
  EXPECT_EQ(train.features.size(1), config.hiddenSize);

  DetectorConfig c;
  c.hiddenSize = config.hiddenSize;
  DetectorHead head(c, 0);
  const std::vector<int> labels = sampleLabels(held);
  const double before = auroc(scoreSamples(head, held), labels);
  DetectorTrainSettings ts;
  ts.steps = 300;
  ts.lr = 1e-2;
  const double loss = trainDetector(head, train, ts);
  EXPECT_TRUE(std::isfinite(loss));
  const DetectorMetrics m = detectorMetrics(scoreSamples(head, held), labels, 0.5);
  EXPECT_GT(m.auroc, 0.85) << "before training: " << before;
  EXPECT_GT(m.auroc, before + 0.1);
  EXPECT_GT(m.recall, 0.6);
  EXPECT_LT(m.falseTriggerRate, 0.3);

  // Samples without positives cannot train a detector.
  DetectorSamples clean = held;
  clean.labels = at::zeros_like(held.labels);
  EXPECT_NE(errorOf([&] { trainDetector(head, clean, ts); }).find("0 deviations"),
            std::string::npos);
}

// --- the verifier trigger in the pruned decoder ---

/** A detector with random weights on @p config's hidden size: scores near 1/2 that vary. */
std::shared_ptr<DetectorVerifier> randomVerifier(const ModelConfig& config, std::uint64_t seed) {
  DetectorConfig c;
  c.hiddenSize = config.hiddenSize;
  c.innerSize = 8;
  return std::make_shared<DetectorVerifier>(DetectorHead(c, seed));
}

class VerifierTrigger : public ::testing::TestWithParam<std::tuple<DecodeModelCase, TraceMode>> {
};

TEST_P(VerifierTrigger, ForcedUndosKeepTheParityInvariant) {
  const auto& [modelCase, mode] = GetParam();
  Transformer model = makeDecodeModel(modelCase.config, 21);
  DecodeSettings s = undoSettings(mode, 80, -30.0, 6);  // the model itself (almost) never UNDOs
  s.recordLogits = true;
  const auto verifier = randomVerifier(modelCase.config, 4);
  s.verifier.verifier = verifier;
  s.verifier.tau = 0.5;
  PrunedDecoder decoder(model, s);
  runToEnd(decoder, testPrompt());
  const Trace& trace = decoder.trace();
  ASSERT_NO_THROW(validateTrace(trace));
  EXPECT_TRUE(trace.meta.contains("verifier"));

  // Every push is scored; every verifier pop follows a push scored above tau, and every push
  // scored above tau is followed by a verifier pop unless the verifier already popped the same
  // token from the same level (same stack below): no x, UNDO, x, UNDO loop.
  int verifierPops = 0, spared = 0;
  std::vector<std::vector<std::int64_t>> poppedAt(1);  // per depth level, as the decoder keeps it
  for (std::size_t k = 0; k < trace.steps.size(); ++k) {
    const TraceStep& st = trace.steps[k];
    if (st.kind == StepKind::kPush) {
      ASSERT_TRUE(st.verifierScore.has_value()) << "step " << k;
      const auto level = static_cast<std::size_t>(st.depth - 1);
      poppedAt.resize(std::max(poppedAt.size(), level + 1));
      const bool again = std::count(poppedAt[level].begin(), poppedAt[level].end(), st.token) > 0;
      if (*st.verifierScore > s.verifier.tau && k + 1 < trace.steps.size()) {
        EXPECT_EQ(trace.steps[k + 1].kind == StepKind::kPop, !again) << "step " << k + 1;
        EXPECT_EQ(trace.steps[k + 1].verifier, !again) << "step " << k + 1;
        spared += again;
      }
    } else {
      const auto level = static_cast<std::size_t>(st.depth);  // the popped token's level
      poppedAt.resize(level + 1);
      poppedAt[level].push_back(st.popped);
      ASSERT_FALSE(st.verifierScore.has_value());
      ASSERT_TRUE(st.verifier) << "step " << k << ": the model's own UNDO at bias -30";
      ASSERT_GT(k, 0u);
      EXPECT_GT(*trace.steps[k - 1].verifierScore, s.verifier.tau);
      ++verifierPops;
    }
  }
  EXPECT_GE(verifierPops, 5);

  if (mode == TraceMode::kResample) return;  // a resample pop is not fed: no single forward
  // One masked forward over the trace gives the decoder's logits and the verifier's scores.
  const int m = static_cast<int>(trace.promptIds.size());
  const AttentionMode am = mode == TraceMode::kHard ? AttentionMode::kHard : AttentionMode::kSoft;
  const std::vector<std::int64_t> seq = traceSequence(trace);
  const at::Tensor ids = at::tensor(seq, at::kLong).unsqueeze(0);
  const NmarBatch batch = buildNmarBatch(ids, {m}, trace.undoId);
  torch::NoGradGuard noGrad;
  ForwardOptions fo;
  fo.mask = batch.mask(am);
  fo.positionIds = batch.positions(am);
  fo.returnHidden = true;
  const ForwardOutput full = model->forward(ids, fo);
  for (std::size_t k = 0; k < trace.steps.size(); ++k) {
    const auto q = static_cast<std::int64_t>(m + k);
    const double gap = (decoder.stepLogits()[k] - full.logits[0][q - 1]).abs().max().item<double>();
    ASSERT_LE(gap, 1e-4) << "step " << k;
    if (trace.steps[k].kind == StepKind::kPush) {
      ASSERT_NEAR(*trace.steps[k].verifierScore, verifier->score(full.hidden[0][q]), 1e-5)
          << "step " << k;
    }
  }
}

TEST_P(VerifierTrigger, BiasModeRaisesTheUndoLogitInstead) {
  const auto& [modelCase, mode] = GetParam();
  Transformer model = makeDecodeModel(modelCase.config, 21);
  DecodeSettings s = undoSettings(mode, 80, -30.0, 6);
  s.verifier.verifier = randomVerifier(modelCase.config, 4);
  s.verifier.bias = 60.0;  // -30 + 60: the triggered UNDO wins
  const Trace withBias = decode(model, testPrompt(), s);
  s.verifier.bias = 10.0;  // -30 + 10: the model still declines
  const Trace weak = decode(model, testPrompt(), s);
  const auto [biasPops, r1] = popStats(withBias);
  const auto [weakPops, r2] = popStats(weak);
  EXPECT_GE(biasPops, 5);
  EXPECT_EQ(weakPops, 0);
  for (const TraceStep& st : withBias.steps)
    if (st.kind == StepKind::kPop) {
      EXPECT_TRUE(st.verifier);
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, VerifierTrigger,
                         ::testing::Combine(::testing::ValuesIn(decodeModelCases()),
                                            ::testing::Values(TraceMode::kHard, TraceMode::kSoft,
                                                              TraceMode::kResample)),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_" +
                                  traceModeName(std::get<1>(info.param));
                         });

/** Says every token is a deviation. */
class AlwaysWrong : public TokenVerifier {
 public:
  explicit AlwaysWrong(std::int64_t d) : m_d(d) {}
  double score(const at::Tensor&) const override { return 1.0; }
  std::int64_t hiddenSize() const override { return m_d; }

 private:
  std::int64_t m_d;
};

// A verifier that rejects everything: in hard greedy decoding the model's pushes after each UNDO
// at a level cycle, and the first token pushed again is spared, so the decode moves on instead of
// looping (without that rule the depth would never pass 1).
TEST(VerifierTriggerSettings, NoLoopOnATokenAlreadyPopped) {
  const DecodeModelCase c = decodeModelCases()[1];
  Transformer model = makeDecodeModel(c.config, 2);
  DecodeSettings s = undoSettings(TraceMode::kHard, 300, -30.0);
  s.sampler.temperature = 0.0;
  s.verifier.verifier = std::make_shared<AlwaysWrong>(c.config.hiddenSize);
  const Trace t = decode(model, testPrompt(), s);
  ASSERT_NO_THROW(validateTrace(t));
  int deepest = 0, spared = 0;
  std::map<std::pair<int, std::int64_t>, int> pushed;  // (level, token) -> pushes
  for (std::size_t k = 0; k < t.steps.size(); ++k) {
    deepest = std::max(deepest, t.steps[k].depth);
    if (t.steps[k].kind != StepKind::kPush || k + 1 >= t.steps.size()) continue;
    const bool poppedNext = t.steps[k + 1].kind == StepKind::kPop;
    // The first push of a token at a level is popped; a second push of it (same stack below in
    // greedy decoding) is not.
    const int n = ++pushed[{t.steps[k].depth, t.steps[k].token}];
    if (n == 1) {
      EXPECT_TRUE(poppedNext) << "step " << k;
    }
    spared += !poppedNext;
  }
  EXPECT_GE(deepest, 3);
  EXPECT_GE(spared, 3);
}

TEST(VerifierTriggerSettings, RefusedWhereUnsupported) {
  const DecodeModelCase c = decodeModelCases()[0];
  Transformer model = makeDecodeModel(c.config, 1);
  DecodeSettings s = undoSettings(TraceMode::kHard, 10, 0.0);
  s.verifier.verifier = randomVerifier(c.config, 1);
  EXPECT_FALSE(groupDecodable(s));
  EXPECT_NE(errorOf([&] { decodeGroup(model, testPrompt(), s, {1, 2}); }).find("verifier"),
            std::string::npos);
  s.verifier.tau = 1.5;
  EXPECT_NE(errorOf([&] { PrunedDecoder d(model, s); }).find("'verifier.tau'"), std::string::npos);
  s.verifier.tau = 0.5;
  ModelConfig other = c.config;
  other.hiddenSize *= 2;
  s.verifier.verifier = randomVerifier(other, 1);
  EXPECT_NE(errorOf([&] { PrunedDecoder d(model, s); }).find("hidden size"), std::string::npos);
}

TEST(VerifierTriggerTrace, JsonRoundTripAndValidation) {
  Trace t = traceOf({1, 10, 7, 11}, 1, 7);
  t.steps[0].verifierScore = 0.75;
  t.steps[1].verifier = true;
  t.steps[2].verifierScore = 0.25;
  t.outputIds = {11};
  const nlohmann::json j = toJson(t);
  EXPECT_EQ(j["steps"][0]["verifier_score"], 0.75);
  EXPECT_EQ(j["steps"][1]["verifier"], true);
  EXPECT_FALSE(j["steps"][2].contains("verifier"));
  EXPECT_EQ(traceFromJson(j, "t.json"), t);
  // Old traces (no verifier fields) still read.
  nlohmann::json old = j;
  for (auto& st : old["steps"]) {
    st.erase("verifier_score");
    st.erase("verifier");
  }
  EXPECT_NO_THROW(traceFromJson(old, "old.json"));
  nlohmann::json bad = j;
  bad["steps"][0]["verifier"] = true;  // a push cannot be caused by the verifier
  EXPECT_NE(errorOf([&] { traceFromJson(bad, "b.json"); }).find("step 0: field 'verifier'"),
            std::string::npos);
  bad = j;
  bad["steps"][0]["verifier_score"] = 1.5;
  EXPECT_NE(errorOf([&] { traceFromJson(bad, "b.json"); }).find("'verifier_score'"),
            std::string::npos);
  bad = j;
  bad["steps"][1]["verifier"] = "yes";
  EXPECT_THROW(traceFromJson(bad, "b.json"), Error);
}

TEST(VerifierTriggerTrace, ReplayShowsScoresAndVerifierPops) {
  TraceStep push;
  push.token = 10;
  push.text = "7";
  push.position = 12;
  push.depth = 3;
  push.verifierScore = 0.875;
  EXPECT_EQ(renderStep(push, 7, "348+275=627", false),
            "    7  push   \"7\"         pos 12    depth 3    v 0.875  stack: \"348+275=627\"");
  TraceStep pop;
  pop.kind = StepKind::kPop;
  pop.token = 99;
  pop.popped = 10;
  pop.position = 13;
  pop.depth = 2;
  pop.verifier = true;
  EXPECT_NE(renderStep(pop, 8, "348+275=62", false, "7").find("VERIFIER"), std::string::npos);
  StackTextTracker tracker("348+275=");
  tracker.apply(push, 0);
  const nlohmann::json j = stepStateJson(push, 0, tracker, "");
  EXPECT_EQ(j["verifier_score"], 0.875);
  EXPECT_FALSE(j.contains("verifier"));
  tracker.apply(pop, 1);
  EXPECT_EQ(stepStateJson(pop, 1, tracker, "7")["verifier"], true);
}

}  // namespace
