// Encoding examples and injecting deviations (random, confusable, self): the stack machine's
// output equals the gold completion, deviation tokens differ from the gold token at their point,
// the prompt is untouched, events/lengths are counted right, confusable tokens lie in the model's
// top-k, self-generated ones follow the model; settings JSON and errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <random>
#include <set>

#include "data/deviation.h"
#include "data/sequence.h"
#include "data/task.h"
#include "model/model_config.h"
#include "model/transformer.h"
#include "nmar/stack_machine.h"
#include "test_data_support.h"
#include "tokenizer/char_tokenizer.h"

using namespace nmar::core;
using nlohmann::json;

namespace {

/** The character tokenizer with <|undo|> added (ids: 3 specials, 96 characters, UNDO = 99). */
struct Fixture {
  CharTokenizer tok{CharTokenizer::defaultAlphabet()};
  std::int64_t undo = tok.addSpecialToken("<|undo|>");
  std::int64_t eos = *tok.eosId();
  std::vector<std::int64_t> specials = specialTokenIds(tok);
};

/** A tiny random model over the tokenizer's vocabulary, with peaked logits. */
Transformer tinyModel(std::int64_t vocab, ModelFamily family = ModelFamily::Gpt2) {
  ModelConfig c = ModelConfig::preset(family, "tiny", vocab);
  c.initializerRange = 0.3;
  Transformer m(c);
  m->initWeights(5);
  m->eval();
  return m;
}

std::vector<TrainingSequence> cleanSequences(const Fixture& f, int count, std::uint64_t seed = 1) {
  std::vector<TrainingSequence> out;
  std::mt19937_64 rng(seed);
  for (const std::string& name : taskNames()) {
    const auto task = makeTask(name);
    for (int i = 0; i < count; ++i)
      out.push_back(encodeExample(f.tok, task->generate(rng, 1 + i % 4), f.eos));
  }
  return out;
}

/** One injected deviation found in a sequence: its point in the clean sequence and its tokens. */
struct Found {
  std::int64_t cleanPoint;
  std::int64_t gold;
  std::vector<std::int64_t> tokens;
  std::int64_t start;  // position of the first deviation token in the injected sequence
};

/**
 * Checks every invariant of an injected sequence against its clean one and returns the
 * deviations: same prompt, output == clean completion, each deviation = L tokens then L UNDOs
 * then the gold token, which differs from every deviation token.
 */
std::vector<Found> checkInjected(const TrainingSequence& clean, const TrainingSequence& dirty,
                                 std::int64_t undo, const std::vector<std::int64_t>& excluded) {
  std::vector<Found> found;
  EXPECT_EQ(dirty.promptLength, clean.promptLength);
  EXPECT_TRUE(
      std::equal(clean.ids.begin(), clean.ids.begin() + clean.promptLength, dirty.ids.begin()))
      << "prompt changed";
  const StackAnalysis a = analyzeSequence(dirty.ids, dirty.promptLength, undo);
  EXPECT_EQ(a.output,
            std::vector<std::int64_t>(clean.ids.begin() + clean.promptLength, clean.ids.end()));
  int undos = 0, deviations = 0;
  std::int64_t cleanIndex = clean.promptLength;
  for (std::int64_t i = dirty.promptLength; i < static_cast<std::int64_t>(dirty.ids.size());) {
    if (!a.deviation[static_cast<std::size_t>(i)]) {
      EXPECT_NE(dirty.ids[static_cast<std::size_t>(i)], undo)
          << "UNDO outside a deviation at " << i;
      ++i;
      ++cleanIndex;
      continue;
    }
    Found f{cleanIndex, 0, {}, i};
    while (a.deviation[static_cast<std::size_t>(i)])
      f.tokens.push_back(dirty.ids[static_cast<std::size_t>(i++)]);
    for (std::size_t k = 0; k < f.tokens.size(); ++k, ++i) {
      EXPECT_EQ(dirty.ids[static_cast<std::size_t>(i)], undo) << "expected L UNDOs after L tokens";
      ++undos;
    }
    EXPECT_LT(i, static_cast<std::int64_t>(dirty.ids.size())) << "a deviation after the end";
    f.gold = clean.ids[static_cast<std::size_t>(cleanIndex)];
    EXPECT_EQ(dirty.ids[static_cast<std::size_t>(i)], f.gold) << "the gold continues";
    for (std::int64_t t : f.tokens) {
      EXPECT_NE(t, f.gold);
      EXPECT_NE(t, undo);
      EXPECT_EQ(std::count(excluded.begin(), excluded.end(), t), 0) << "excluded id " << t;
    }
    deviations += static_cast<int>(f.tokens.size());
    found.push_back(f);
  }
  EXPECT_EQ(dirty.events, static_cast<int>(found.size()));
  EXPECT_EQ(dirty.deviationTokens, deviations);
  EXPECT_EQ(undos, deviations);
  EXPECT_EQ(dirty.ids.size(), clean.ids.size() + 2 * static_cast<std::size_t>(deviations));
  return found;
}

/** Logits (CPU fp32 `[V]`) after a teacher-forced forward over @p prefix. */
torch::Tensor nextLogits(Transformer& model, const std::vector<std::int64_t>& prefix) {
  torch::NoGradGuard g;
  const auto out = model->forward(torch::tensor(prefix, torch::kLong).unsqueeze(0)).logits;
  return out[0][static_cast<std::int64_t>(prefix.size()) - 1].to(torch::kFloat).contiguous();
}

/** Number of allowed ids (not gold, not excluded) the model ranks clearly above @p id. */
int rankAmongAllowed(const torch::Tensor& logits, std::int64_t id, std::int64_t gold,
                     const std::vector<std::int64_t>& excluded, std::int64_t vocab) {
  const float* l = logits.data_ptr<float>();
  int above = 0;
  for (std::int64_t v = 0; v < vocab; ++v)
    if (v != gold && std::count(excluded.begin(), excluded.end(), v) == 0 && l[v] > l[id] + 1e-4f)
      ++above;
  return above;
}

}  // namespace

TEST(DataSequence, EncodeExamplePutsBosPromptCompletionEos) {
  Fixture f;
  const Example e = makeTask("addition")->fromPrompt("12+34=");
  const TrainingSequence s = encodeExample(f.tok, e, f.eos);
  std::vector<std::int64_t> expected{*f.tok.bosId()};
  for (char c : std::string("12+34=46")) expected.push_back(*f.tok.tokenId(std::string(1, c)));
  expected.push_back(f.eos);
  EXPECT_EQ(s.ids, expected);
  EXPECT_EQ(s.promptLength, 7);
  EXPECT_EQ(s.events, 0);
  EXPECT_EQ(encodeExample(f.tok, e, std::nullopt).ids.size(), expected.size() - 1);

  Example bad;
  bad.prompt = "ok";
  bad.completion = "caf\xc3\xa9";
  bad.source = "d.jsonl:3";
  EXPECT_DATA_ERROR(encodeExample(f.tok, bad, f.eos), "d.jsonl:3: field 'completion': ");
  bad.source.clear();
  EXPECT_DATA_ERROR(encodeExample(f.tok, bad, f.eos), "example: field 'completion': ");
}

TEST(DataDeviation, SpecialTokenIdsOfTheCharTokenizer) {
  Fixture f;
  EXPECT_EQ(f.specials, (std::vector<std::int64_t>{0, 1, 2, 99}));
  EXPECT_EQ(f.undo, 99);
}

TEST(DataDeviation, RandomInjectionKeepsTheGoldOutput) {
  Fixture f;
  DeviationSettings s;
  s.kind = DeviationKind::kRandom;
  s.minLength = 1;
  s.maxLength = 3;
  // Given the tokenizer, the injector excludes its special tokens by itself.
  const DeviationInjector inj(s, f.undo, f.tok.vocabSize(), nullptr, &f.tok);
  std::mt19937_64 rng(17);
  int lengthSeen[4] = {0, 0, 0, 0};
  for (const TrainingSequence& clean : cleanSequences(f, 20)) {
    for (int events : {1, 2, 3}) {
      const TrainingSequence dirty = inj.inject(clean, rng, events);
      const int points = static_cast<int>(clean.ids.size()) - clean.promptLength;
      EXPECT_EQ(dirty.events, std::min(events, points));
      for (const Found& d : checkInjected(clean, dirty, f.undo, f.specials)) {
        ASSERT_GE(d.tokens.size(), 1u);
        ASSERT_LE(d.tokens.size(), 3u);
        ++lengthSeen[d.tokens.size()];
      }
      // The length cap of a curriculum stage.
      const TrainingSequence capped = inj.inject(clean, rng, events, 1);
      for (const Found& d : checkInjected(clean, capped, f.undo, f.specials))
        EXPECT_EQ(d.tokens.size(), 1u);
    }
  }
  EXPECT_GT(lengthSeen[1], 0);
  EXPECT_GT(lengthSeen[2], 0);
  EXPECT_GT(lengthSeen[3], 0);
}

TEST(DataDeviation, InjectionIsDeterministicAndHandlesEdgeCases) {
  Fixture f;
  DeviationSettings s;
  s.excludedIds = f.specials;
  s.maxLength = 2;
  const DeviationInjector inj(s, f.undo, f.tok.vocabSize());
  const TrainingSequence clean =
      encodeExample(f.tok, makeTask("sorting")->fromPrompt("sort 3 1:"), f.eos);
  std::mt19937_64 a(3), b(3);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(inj.inject(clean, a, 2), inj.inject(clean, b, 2));

  // Every point used: events beyond the number of points are capped; a deviation may sit just
  // before EOS but never after it.
  const int points = static_cast<int>(clean.ids.size()) - clean.promptLength;
  const TrainingSequence all = inj.inject(clean, a, 100);
  EXPECT_EQ(all.events, points);
  EXPECT_EQ(all.ids.back(), f.eos);
  checkInjected(clean, all, f.undo, f.specials);

  EXPECT_EQ(inj.inject(clean, a, 0), clean);
  TrainingSequence promptOnly = clean;
  promptOnly.ids.resize(static_cast<std::size_t>(clean.promptLength));
  EXPECT_EQ(inj.inject(promptOnly, a, 3), promptOnly);
  DeviationSettings none = s;
  none.kind = DeviationKind::kNone;
  EXPECT_EQ(DeviationInjector(none, f.undo, f.tok.vocabSize()).inject(clean, a, 3), clean);

  EXPECT_DATA_ERROR(inj.inject(all, a, 1), "already holds UNDO at position");
}

TEST(DataDeviation, MaybeInjectHonoursFractionAndEventRange) {
  Fixture f;
  DeviationSettings s;
  s.excludedIds = f.specials;
  s.fraction = 0.5;
  s.minEvents = 1;
  s.maxEvents = 3;
  const DeviationInjector inj(s, f.undo, f.tok.vocabSize());
  const TrainingSequence clean =
      encodeExample(f.tok, makeTask("addition")->fromPrompt("1234+5678="), f.eos);
  std::mt19937_64 rng(8);
  int injected = 0;
  std::set<int> events;
  for (int i = 0; i < 400; ++i) {
    const TrainingSequence t = inj.maybeInject(clean, rng);
    if (t.events > 0) ++injected;
    events.insert(t.events);
  }
  EXPECT_GT(injected, 150);
  EXPECT_LT(injected, 250);
  EXPECT_EQ(events, (std::set<int>{0, 1, 2, 3}));
  // A curriculum override of the events.
  s.fraction = 1.0;
  const DeviationInjector always(s, f.undo, f.tok.vocabSize());
  for (const TrainingSequence& t :
       always.injectBatch(std::vector<TrainingSequence>(20, clean), rng, 4, 1)) {
    EXPECT_EQ(t.events, 4);
    EXPECT_EQ(t.deviationTokens, 4);
  }
  s.fraction = 0.0;
  const DeviationInjector never(s, f.undo, f.tok.vocabSize());
  for (const TrainingSequence& t : never.injectBatch(std::vector<TrainingSequence>(20, clean), rng))
    EXPECT_EQ(t, clean);
}

TEST(DataDeviation, ConfusableTokensComeFromTheModelsTopK) {
  Fixture f;
  for (ModelFamily family : {ModelFamily::Gpt2, ModelFamily::Llama}) {
    Transformer model = tinyModel(f.tok.vocabSize(), family);
    model->train();  // the injector must put it back
    DeviationSettings s;
    s.kind = DeviationKind::kConfusable;
    s.topK = 3;
    s.minLength = 1;
    s.maxLength = 2;
    s.excludedIds = f.specials;
    const DeviationInjector inj(s, f.undo, f.tok.vocabSize(), model);
    std::mt19937_64 rng(21);
    int checked = 0;
    for (const TrainingSequence& clean : cleanSequences(f, 5, 4)) {
      const TrainingSequence dirty = inj.inject(clean, rng, 2);
      EXPECT_TRUE(model->is_training());
      model->eval();
      for (const Found& d : checkInjected(clean, dirty, f.undo, f.specials)) {
        // The first token: top-k at the clean prefix; the second: after the first.
        std::vector<std::int64_t> prefix(clean.ids.begin(), clean.ids.begin() + d.cleanPoint);
        for (std::int64_t t : d.tokens) {
          const torch::Tensor logits = nextLogits(model, prefix);
          EXPECT_LT(rankAmongAllowed(logits, t, d.gold, f.specials, f.tok.vocabSize()), 3)
              << "token " << t << " is not in the top-3";
          prefix.push_back(t);
          ++checked;
        }
      }
      model->train();
    }
    EXPECT_GT(checked, 20);
  }
}

TEST(DataDeviation, SelfGeneratedTokensFollowTheModel) {
  Fixture f;
  Transformer model = tinyModel(f.tok.vocabSize());
  DeviationSettings self;
  self.kind = DeviationKind::kSelf;
  self.temperature = 1e-4;  // nearly greedy: the most likely allowed token
  self.excludedIds = f.specials;
  DeviationSettings top1 = self;
  top1.kind = DeviationKind::kConfusable;
  top1.topK = 1;
  const DeviationInjector greedy(self, f.undo, f.tok.vocabSize(), model);
  const DeviationInjector confusable(top1, f.undo, f.tok.vocabSize(), model);
  for (const TrainingSequence& clean : cleanSequences(f, 4, 9)) {
    std::mt19937_64 a(2), b(2);
    const TrainingSequence x = greedy.inject(clean, a, 2);
    checkInjected(clean, x, f.undo, f.specials);
    // Both pick the same points (same draws) and the same, most likely, token.
    EXPECT_EQ(x, confusable.inject(clean, b, 2));
  }

  // At temperature 1 the draws spread over several tokens, never the gold one, and are seeded.
  self.temperature = 1.0;
  self.maxLength = 2;
  const DeviationInjector sampler(self, f.undo, f.tok.vocabSize(), model);
  const TrainingSequence clean =
      encodeExample(f.tok, makeTask("addition")->fromPrompt("12+34="), f.eos);
  std::set<std::int64_t> firsts;
  std::mt19937_64 rng(6), again(6);
  for (int i = 0; i < 60; ++i) {
    const TrainingSequence x = sampler.inject(clean, rng, 1);
    EXPECT_EQ(x, sampler.inject(clean, again, 1));
    for (const Found& d : checkInjected(clean, x, f.undo, f.specials)) firsts.insert(d.tokens[0]);
  }
  EXPECT_GT(firsts.size(), 3u);
}

TEST(DataDeviation, SettingsJsonAndErrors) {
  const DeviationSettings s = DeviationSettings::fromJson(json{{"kind", "confusable"},
                                                               {"fraction", 0.25},
                                                               {"length", 2},
                                                               {"min_events", 1},
                                                               {"max_events", 3},
                                                               {"top_k", 4},
                                                               {"excluded_ids", {0, 1}}},
                                                          "deviation");
  EXPECT_EQ(s.kind, DeviationKind::kConfusable);
  EXPECT_EQ(s.minLength, 2);
  EXPECT_EQ(s.maxLength, 2);
  EXPECT_EQ(s.maxEvents, 3);
  EXPECT_EQ(s.excludedIds, (std::vector<std::int64_t>{0, 1}));
  const DeviationSettings back = DeviationSettings::fromJson(s.toJson(), "x");
  EXPECT_EQ(back.toJson(), s.toJson());
  EXPECT_EQ(DeviationSettings::fromJson(json{{"min_length", 3}}, "d").maxLength, 3);

  const auto bad = [](const json& j, const std::string& expected) {
    EXPECT_DATA_ERROR(DeviationSettings::fromJson(j, "experiment [deviation]"), expected);
  };
  bad(json{{"kind", "adversarial"}},
      "experiment [deviation]: field 'kind': unknown value 'adversarial' (expected one of none, "
      "random, confusable, self)");
  bad(json{{"fraction", 1.5}}, "field 'fraction': expected a number in [0, 1], got 1.5");
  bad(json{{"min_length", 3}, {"max_length", 2}},
      "field 'max_length': expected at least min_length (3), got 2");
  bad(json{{"length", 2}, {"max_length", 2}}, "field 'length': give either length or");
  bad(json{{"events", 0}}, "field 'events': expected an integer in [1, 64], got 0");
  bad(json{{"temperature", 0}}, "field 'temperature'");
  bad(json{{"excluded_ids", {1, -2}}}, "field 'excluded_ids': item 2 is not a non-negative");
  bad(json{{"topk", 3}}, "experiment [deviation]: unknown field 'topk'");

  Fixture f;
  DeviationSettings c;
  c.kind = DeviationKind::kConfusable;
  EXPECT_DATA_ERROR(DeviationInjector(c, f.undo, f.tok.vocabSize()),
                    "kind 'confusable' draws from the model's predictions, but no model was given");
  c.kind = DeviationKind::kRandom;
  c.fraction = -1;
  EXPECT_DATA_ERROR(DeviationInjector(c, f.undo, f.tok.vocabSize()),
                    "deviation settings: field 'fraction'");
  c.fraction = 1;
  c.excludedIds = {0, 1, 2};
  EXPECT_DATA_ERROR(DeviationInjector(c, 3, 4), "fewer than two token ids are left");
  EXPECT_DATA_ERROR(DeviationInjector(DeviationSettings{}, f.undo, 200, tinyModel(100)),
                    "vocabulary size 200 is larger than the model's (100)");
}
