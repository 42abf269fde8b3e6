// UNDO-token initialisation (spec §6): the four strategies give the rows they promise, the KL
// report measures what it claims, mean init barely moves a trained model while random init does,
// and bad input is refused before anything changes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "model/model_config.h"
#include "model/pretrained.h"
#include "tokenizer/char_tokenizer.h"
#include "train/held_out.h"
#include "train/token_init.h"
#include "util/error.h"

using namespace nmar::core;
using Windows = std::vector<std::vector<std::int32_t>>;

namespace {

/** An in-memory tiny model over the default character tokenizer. */
Pretrained makeModel(ModelFamily family, bool untied, std::uint64_t seed = 11, int padRows = 0) {
  auto tok = std::make_shared<CharTokenizer>(CharTokenizer::defaultAlphabet());
  ModelConfig c = ModelConfig::preset(family, "tiny", tok->vocabSize() + padRows);
  if (untied) c.tieWordEmbeddings = false;
  Transformer m(c);
  m->initWeights(seed);
  m->eval();
  return Pretrained{m, tok, {}};
}

std::string embeddingName(const Pretrained& p) {
  return p.model->config().family == ModelFamily::Gpt2 ? "transformer.wte.weight"
                                                       : "model.embed_tokens.weight";
}

at::Tensor row(const Pretrained& p, const std::string& name, std::int64_t id) {
  return p.model->stateDict().at(name)[id].clone();
}

/** Deterministic arithmetic lines ("12+345=357"), a different stream for each @p seed. */
std::string arithmetic(std::uint32_t seed, int lines) {
  std::string out;
  for (int i = 0; i < lines; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const int a = static_cast<int>((seed >> 8) % 1000);
    seed = seed * 1664525u + 1013904223u;
    const int b = static_cast<int>((seed >> 8) % 1000);
    out += std::to_string(a) + "+" + std::to_string(b) + "=" + std::to_string(a + b) + "\n";
  }
  return out;
}

Windows heldOut(const Pretrained& p) {
  return heldOutWindows(*p.tokenizer, arithmetic(99, 40), 32, 8);
}

/**
 * A few dozen Adam steps on arithmetic text. Like a real LM, the model then puts its probability
 * on the few characters it has seen, and the rows of the characters it never saw are pushed away
 * from the hidden states: the embedding rows get a common offset (anisotropy), which is what makes
 * a row drawn at random around zero stand out.
 */
void trainBriefly(Pretrained& p, int steps) {
  const Windows train = heldOutWindows(*p.tokenizer, arithmetic(7, 400), 32, 1000);
  std::vector<at::Tensor> rows;
  for (const auto& w : train)
    if (w.size() == 32) rows.push_back(at::tensor(std::vector<std::int64_t>(w.begin(), w.end())));
  const at::Tensor data = at::stack(rows);
  torch::optim::Adam opt(p.model->parameters(), torch::optim::AdamOptions(1e-2));
  p.model->train();
  for (int s = 0; s < steps; ++s) {
    const at::Tensor batch = data.narrow(0, (s * 16) % (data.size(0) - 16), 16);
    const at::Tensor logits = p.model->forward(batch).logits;
    const int64_t v = logits.size(-1);
    const at::Tensor loss = torch::nn::functional::cross_entropy(
        logits.narrow(1, 0, 31).reshape({-1, v}), batch.narrow(1, 1, 31).reshape({-1}));
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  p.model->eval();
}

/** Log-probabilities `[L, V]` (fp64) of every window. */
std::vector<at::Tensor> logProbs(Pretrained& p, const Windows& windows) {
  torch::NoGradGuard g;
  std::vector<at::Tensor> out;
  for (const auto& w : windows) {
    const at::Tensor ids = at::tensor(std::vector<std::int64_t>(w.begin(), w.end())).unsqueeze(0);
    out.push_back(at::log_softmax(p.model->forward(ids).logits[0].to(at::kDouble), -1));
  }
  return out;
}

template <typename F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(TokenInit, StrategyNamesParseBothWays) {
  for (TokenInitStrategy s : allTokenInitStrategies())
    EXPECT_EQ(parseTokenInitStrategy(tokenInitStrategyName(s)), s);
  EXPECT_EQ(parseTokenInitStrategy("mean+noise"), TokenInitStrategy::kHewitt);
  EXPECT_EQ(allTokenInitStrategies().size(), 4u);
  const std::string e = errorOf([] { parseTokenInitStrategy("sideways"); });
  EXPECT_NE(e.find("'sideways'"), std::string::npos) << e;
  EXPECT_NE(e.find("random, mean, semantic, hewitt"), std::string::npos) << e;
}

TEST(TokenInit, MeanShiftsATrainedModelLittleAndRandomClearlyMore) {
  Pretrained p = makeModel(ModelFamily::Llama, /*untied=*/false, 3);
  trainBriefly(p, 60);
  const Windows windows = heldOut(p);
  TokenInitOptions opt;
  opt.seed = 5;
  const TokenInitComparison c = compareStrategies(p, opt, windows);
  ASSERT_EQ(c.reports.size(), 4u) << c.toJson().dump(2);
  const TokenInitReport& random = c.reports[0];
  const TokenInitReport& mean = c.reports[1];
  ASSERT_EQ(random.strategy, TokenInitStrategy::kRandom);
  ASSERT_EQ(mean.strategy, TokenInitStrategy::kMean);
  for (const TokenInitReport& r : c.reports)
    std::printf("%-8s KL full %.3e  KL renorm %.1e  P(UNDO) mean %.3e max %.3e  norm %.3f / %.3f\n",
                tokenInitStrategyName(r.strategy).c_str(), r.klFull, r.klRenormalised, r.pUndoMean,
                r.pUndoMax, r.embeddingNorm, r.meanRowNorm);
  // Mean init: the mean row's logit is the mean logit, so by Jensen P(UNDO) <= 1/V at every
  // position and KL <= -log(1 - 1/V) ~ 0.01; on a trained model it is far below that bound
  // (2e-6 here, at most 1.3e-4 over the seeds and step counts below).
  EXPECT_LT(mean.klFull, 1e-3);
  EXPECT_LT(mean.pUndoMax, 1.0 / static_cast<double>(mean.vocabBefore));
  // A random row is short and points nowhere in particular: its logit is ~0, while the mean logit
  // is negative (training pushed the rows of the many never-seen characters away from the hidden
  // states), so P(UNDO) is about exp(-mean logit) times larger than with mean init. Over seeds 3-6
  // and 30-120 training steps that factor measured 14x to 150x (100x here); 5x leaves room for
  // other LibTorch/BLAS versions.
  EXPECT_GT(random.klFull, 5.0 * mean.klFull);
  EXPECT_GT(random.pUndoMean, mean.pUndoMax);
  for (const TokenInitReport& r : c.reports) {
    EXPECT_LT(r.klRenormalised, 1e-9) << tokenInitStrategyName(r.strategy);
    EXPECT_GE(r.klFull, r.pUndoMean * 0.999) << "-log(1-p) >= p";  // tied head: KL = -log(1-p)
    EXPECT_EQ(r.heldOutWindows, static_cast<std::int64_t>(windows.size()));
  }
  // The comparison worked on copies: the model and tokenizer are as they were.
  EXPECT_EQ(p.model->config().vocabSize, p.tokenizer->vocabSize());
  EXPECT_FALSE(p.tokenizer->tokenId("<|undo|>").has_value());
}

TEST(TokenInit, ReportedShiftEqualsADirectComputation) {
  for (const bool untied : {false, true}) {
    Pretrained p = makeModel(untied ? ModelFamily::Llama : ModelFamily::Gpt2, untied, 21);
    const Windows windows = heldOut(p);
    const std::vector<at::Tensor> before = logProbs(p, windows);
    TokenInitOptions opt;
    opt.strategy = TokenInitStrategy::kRandom;
    opt.seed = 9;
    const TokenInitReport r = initUndoToken(p, opt, windows);
    const std::vector<at::Tensor> after = logProbs(p, windows);
    const std::int64_t v = r.vocabBefore;
    ASSERT_EQ(r.id, v);
    double kl = 0, klR = 0, pSum = 0, pMax = 0, logOneMinusP = 0;
    std::int64_t n = 0;
    for (std::size_t w = 0; w < windows.size(); ++w) {
      const at::Tensor a = after[w].narrow(-1, 0, v);
      kl += (before[w].exp() * (before[w] - a)).sum().item<double>();
      const at::Tensor ra = at::log_softmax(a, -1);
      klR += (before[w].exp() * (before[w] - ra)).sum().item<double>();
      const at::Tensor pu = after[w].select(-1, r.id).exp();
      pSum += pu.sum().item<double>();
      pMax = std::max(pMax, pu.max().item<double>());
      logOneMinusP += (-at::log1p(-pu)).sum().item<double>();
      n += before[w].size(0);
    }
    EXPECT_EQ(r.heldOutPositions, n);
    EXPECT_NEAR(r.klFull, kl / n, 1e-6 * std::max(1.0, kl / n)) << "untied " << untied;
    EXPECT_NEAR(r.klRenormalised, klR / n, 1e-6);
    EXPECT_NEAR(r.pUndoMean, pSum / n, 1e-7);
    EXPECT_NEAR(r.pUndoMax, pMax, 1e-7);
    if (!untied) {
      EXPECT_NEAR(r.klFull, logOneMinusP / n, 1e-6) << "tied: KL = -log(1 - P(UNDO))";
    }
    EXPECT_EQ(r.tiedHead, !untied);
  }
}

TEST(TokenInit, MeanRowsForEmbeddingAndUntiedHead) {
  Pretrained p = makeModel(ModelFamily::Llama, /*untied=*/true);
  const std::int64_t v = p.model->config().vocabSize;
  const at::Tensor meanE = p.model->stateDict().at(embeddingName(p)).mean(0).clone();
  const at::Tensor meanH = p.model->stateDict().at("lm_head.weight").mean(0).clone();
  TokenInitOptions opt;
  const TokenInitReport r = initUndoToken(p, opt, heldOut(p));
  EXPECT_TRUE(r.added);
  EXPECT_FALSE(r.tiedHead);
  EXPECT_EQ(r.vocabBefore, v);
  EXPECT_EQ(r.vocabAfter, v + 1);
  EXPECT_EQ(p.tokenizer->tokenId("<|undo|>").value_or(-1), r.id);
  EXPECT_TRUE(torch::allclose(row(p, embeddingName(p), r.id), meanE, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(row(p, "lm_head.weight", r.id), meanH, 1e-6, 1e-7));
  EXPECT_NEAR(r.embeddingNorm, meanE.norm().item<double>(), 1e-6);
  EXPECT_NEAR(r.headNorm, meanH.norm().item<double>(), 1e-6);
  EXPECT_GT(r.meanRowNorm, r.embeddingNorm) << "the mean of random rows is short";
  ASSERT_EQ(r.nearest.size(), 10u);
  for (std::size_t i = 1; i < r.nearest.size(); ++i)
    EXPECT_GE(r.nearest[i - 1].cosine, r.nearest[i].cosine);
  EXPECT_NE(r.nearest[0].id, r.id);
  EXPECT_EQ(r.nearest[0].text, p.tokenizer->tokenText(static_cast<int32_t>(r.nearest[0].id)));
  // The neighbour's cosine is the real one.
  const at::Tensor e = row(p, embeddingName(p), r.id);
  const at::Tensor nb = row(p, embeddingName(p), r.nearest[0].id);
  EXPECT_NEAR(r.nearest[0].cosine, (e.dot(nb) / (e.norm() * nb.norm())).item<double>(), 1e-5);
}

TEST(TokenInit, SemanticIsTheMeanOfEachWordsAveragedPieces) {
  Pretrained p = makeModel(ModelFamily::Llama, /*untied=*/true);
  const TensorMap w = p.model->stateDict();
  auto pieceMean = [&](const std::string& name, const std::string& word) {
    at::Tensor sum = at::zeros({w.at(name).size(1)});
    for (char c : word) sum += w.at(name)[*p.tokenizer->tokenId(std::string(1, c))];
    return sum / static_cast<double>(word.size());
  };
  const at::Tensor expectE =
      (pieceMean(embeddingName(p), "undo") + pieceMean(embeddingName(p), "x")) / 2;
  const at::Tensor expectH =
      (pieceMean("lm_head.weight", "undo") + pieceMean("lm_head.weight", "x")) / 2;
  TokenInitOptions opt;
  opt.strategy = TokenInitStrategy::kSemantic;
  opt.words = {"undo", "\xE2\x82\xAC", "x", "", "<|eos|>"};  // "€" is not in the alphabet
  const TokenInitReport r = initUndoToken(p, opt, heldOut(p));
  EXPECT_TRUE(torch::allclose(row(p, embeddingName(p), r.id), expectE, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(row(p, "lm_head.weight", r.id), expectH, 1e-6, 1e-7));
  EXPECT_EQ(r.wordsUsed, (std::vector<std::string>{"undo", "x"}));
  ASSERT_EQ(r.wordsSkipped.size(), 3u);
  EXPECT_EQ(r.wordsSkipped[0].word, "\xE2\x82\xAC");
  EXPECT_NE(r.wordsSkipped[0].reason.find("cannot be encoded"), std::string::npos);
  EXPECT_EQ(r.wordsSkipped[1].reason, "empty word");
  EXPECT_EQ(r.wordsSkipped[2].reason, "tokenises only to special tokens");

  // The default list: every word is plain ASCII, so all eight are used.
  Pretrained q = makeModel(ModelFamily::Gpt2, false);
  TokenInitOptions def;
  def.strategy = TokenInitStrategy::kSemantic;
  const TokenInitReport d = initUndoToken(q, def, heldOut(q));
  EXPECT_EQ(d.wordsUsed, defaultSemanticWords());
  EXPECT_TRUE(d.wordsSkipped.empty());
}

TEST(TokenInit, HewittSamplesHaveTheRowsMeanAndScaledCovariance) {
  torch::manual_seed(1);
  const at::Tensor rows = torch::randn({40, 5}) * torch::tensor({1.0, 0.5, 2.0, 0.1, 1.0}) +
                          torch::tensor({3.0, -1.0, 0.0, 0.5, 2.0});
  // Correlate two columns so that the covariance is not diagonal.
  rows.select(1, 4).add_(rows.select(1, 0));
  const at::Tensor mean = rows.mean(0);
  const at::Tensor cov = at::matmul((rows - mean).t(), rows - mean) / 39.0;
  const double scale = 0.5;
  const std::int64_t n = 40000;
  const at::Tensor s = sampleHewittRows(rows, n, scale, 123);
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{n, 5}));
  const at::Tensor sMean = s.mean(0);
  const at::Tensor sCov = at::matmul((s - sMean).t(), s - sMean) / static_cast<double>(n - 1);
  // Standard errors: sqrt(scale * var / n) for the mean; ~sqrt(2/n) relative for the covariance.
  const at::Tensor se = (cov.diagonal() * scale / static_cast<double>(n)).sqrt();
  EXPECT_TRUE(((sMean - mean).abs() < 5 * se).all().item<bool>()) << sMean << mean;
  const double relErr = ((sCov - scale * cov).norm() / (scale * cov).norm()).item<double>();
  EXPECT_LT(relErr, 0.05) << sCov << scale * cov;
  // Same seed, same samples; another seed, others.
  const at::Tensor three = sampleHewittRows(rows, 3, scale, 123);
  EXPECT_TRUE(torch::equal(sampleHewittRows(rows, 3, scale, 123), three));
  EXPECT_FALSE(torch::equal(sampleHewittRows(rows, 3, scale, 124), three));
  EXPECT_NE(errorOf([&] { sampleHewittRows(rows.narrow(0, 0, 1), 1, 1.0, 0); }).find("two rows"),
            std::string::npos);

  // initUndoToken's hewitt row is that sample (embedding: seed; untied head: seed + 1).
  Pretrained p = makeModel(ModelFamily::Llama, /*untied=*/true);
  const TensorMap w = p.model->stateDict();
  const at::Tensor expectE = sampleHewittRows(w.at(embeddingName(p)), 1, 0.25, 42)[0].clone();
  const at::Tensor expectH = sampleHewittRows(w.at("lm_head.weight"), 1, 0.25, 43)[0].clone();
  TokenInitOptions opt;
  opt.strategy = TokenInitStrategy::kHewitt;
  opt.seed = 42;
  opt.hewittScale = 0.25;
  const TokenInitReport r = initUndoToken(p, opt, heldOut(p));
  EXPECT_TRUE(torch::allclose(row(p, embeddingName(p), r.id), expectE, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(row(p, "lm_head.weight", r.id), expectH, 1e-5, 1e-6));
  EXPECT_DOUBLE_EQ(r.hewittScale, 0.25);
}

TEST(TokenInit, RandomRowsUseTheInitStdAndTheSeed) {
  auto draw = [](std::uint64_t seed) {
    Pretrained p = makeModel(ModelFamily::Llama, /*untied=*/true);
    TokenInitOptions opt;
    opt.strategy = TokenInitStrategy::kRandom;
    opt.seed = seed;
    const TokenInitReport r = initUndoToken(p, opt, heldOut(p));
    return std::make_pair(row(p, embeddingName(p), r.id), row(p, "lm_head.weight", r.id));
  };
  const auto a = draw(1), b = draw(1), c = draw(2);
  EXPECT_TRUE(torch::equal(a.first, b.first));
  EXPECT_TRUE(torch::equal(a.second, b.second));
  EXPECT_FALSE(torch::equal(a.first, c.first));
  EXPECT_FALSE(torch::equal(a.first, a.second)) << "the head row has its own draw";
  const at::Tensor both = torch::cat({a.first, a.second, c.first, c.second});  // 256 draws
  EXPECT_NEAR(both.std().item<double>(), 0.02, 0.004);  // initializer_range of the preset
  EXPECT_NEAR(both.mean().item<double>(), 0.0, 0.004);

  // The model was initialised with seed 11: init-token's seed 11 must not replay that stream (the
  // new row would be a copy of row 0, cosine 1).
  Pretrained p = makeModel(ModelFamily::Gpt2, false, /*seed=*/11);
  TokenInitOptions opt;
  opt.strategy = TokenInitStrategy::kRandom;
  opt.seed = 11;
  const TokenInitReport r = initUndoToken(p, opt, heldOut(p));
  ASSERT_FALSE(r.nearest.empty());
  EXPECT_LT(r.nearest[0].cosine, 0.9) << r.nearest[0].text;
}

TEST(TokenInit, ReinitialisingReplacesTheRowWithoutGrowing) {
  Pretrained p = makeModel(ModelFamily::Gpt2, false);
  const Windows windows = heldOut(p);
  TokenInitOptions opt;
  opt.strategy = TokenInitStrategy::kRandom;
  const TokenInitReport first = initUndoToken(p, opt, windows);
  const std::int64_t v = p.model->config().vocabSize;
  const std::size_t specials = p.tokenizer->specialTokens().size();
  opt.strategy = TokenInitStrategy::kMean;
  const TokenInitReport again = initUndoToken(p, opt, windows);
  EXPECT_FALSE(again.added);
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.vocabBefore, v);
  EXPECT_EQ(again.vocabAfter, v);
  EXPECT_EQ(p.model->config().vocabSize, v);
  EXPECT_EQ(p.tokenizer->specialTokens().size(), specials);
  // The mean is over the other rows: the old UNDO row does not count.
  const at::Tensor others = p.model->stateDict().at(embeddingName(p)).narrow(0, 0, first.id);
  EXPECT_TRUE(torch::allclose(row(p, embeddingName(p), first.id), others.mean(0), 1e-6, 1e-7));
  // Re-running the same init gives the same row and a zero shift.
  const at::Tensor meanRow = row(p, embeddingName(p), first.id);
  const TokenInitReport third = initUndoToken(p, opt, windows);
  EXPECT_TRUE(torch::equal(row(p, embeddingName(p), first.id), meanRow));
  EXPECT_NEAR(third.klFull, 0.0, 1e-9);
}

TEST(TokenInit, PaddedVocabularyUsesTheFirstFreeRow) {
  Pretrained p = makeModel(ModelFamily::Llama, /*untied=*/false, 11, /*padRows=*/3);
  const std::int64_t regular = p.tokenizer->vocabSize();
  const std::int64_t v = p.model->config().vocabSize;
  const at::Tensor mean =
      p.model->stateDict().at(embeddingName(p)).narrow(0, 0, regular).mean(0).clone();
  TokenInitOptions opt;
  const TokenInitReport r = initUndoToken(p, opt, heldOut(p));
  EXPECT_EQ(r.id, regular);
  EXPECT_EQ(r.vocabAfter, v);
  EXPECT_TRUE(torch::allclose(row(p, embeddingName(p), r.id), mean, 1e-6, 1e-7));
  EXPECT_GT(r.klFull, 0.0);
  EXPECT_LT(r.klRenormalised, 1e-9);
}

TEST(TokenInit, BadInputIsRefusedBeforeAnythingChanges) {
  Pretrained p = makeModel(ModelFamily::Llama, false);
  const Windows windows = heldOut(p);
  const std::int64_t v = p.model->config().vocabSize;
  TokenInitOptions opt;
  auto unchanged = [&] {
    EXPECT_EQ(p.model->config().vocabSize, v);
    EXPECT_FALSE(p.tokenizer->tokenId("<|undo|>").has_value());
  };

  EXPECT_NE(errorOf([&] { initUndoToken(p, opt, {}); }).find("no held-out windows"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              initUndoToken(p, opt, {{1, 2}, {}});
            }).find("held-out window 1 is empty"),
            std::string::npos);
  const std::string badId = errorOf([&] { initUndoToken(p, opt, {{1, 2, 999}}); });
  EXPECT_NE(badId.find("held-out window 0, position 2: id 999"), std::string::npos) << badId;

  TokenInitOptions semantic = opt;
  semantic.strategy = TokenInitStrategy::kSemantic;
  semantic.words = {};
  EXPECT_NE(errorOf([&] { initUndoToken(p, semantic, windows); }).find("at least one word"),
            std::string::npos);
  semantic.words = {"\xE2\x82\xAC", ""};
  const std::string none = errorOf([&] { initUndoToken(p, semantic, windows); });
  EXPECT_NE(none.find("no word of the word list gives a usable token piece"), std::string::npos)
      << none;
  EXPECT_NE(none.find("'\xE2\x82\xAC': cannot be encoded"), std::string::npos) << none;
  EXPECT_NE(none.find("'': empty word"), std::string::npos) << none;

  TokenInitOptions hewitt = opt;
  hewitt.strategy = TokenInitStrategy::kHewitt;
  hewitt.hewittScale = 0.0;
  EXPECT_NE(errorOf([&] { initUndoToken(p, hewitt, windows); }).find("scale must be a positive"),
            std::string::npos);
  hewitt.hewittScale = std::nan("");
  EXPECT_NE(errorOf([&] { initUndoToken(p, hewitt, windows); }).find("scale"), std::string::npos);
  unchanged();

  Pretrained noTok = makeModel(ModelFamily::Llama, false);
  noTok.tokenizer.reset();
  EXPECT_NE(errorOf([&] { initUndoToken(noTok, opt, windows); }).find("no tokenizer"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { compareStrategies(noTok, opt, windows); }).find("no tokenizer"),
            std::string::npos);

  // A GPT-2 window longer than its positions.
  Pretrained g = makeModel(ModelFamily::Gpt2, false);
  const std::vector<std::int32_t> longWindow(
      static_cast<std::size_t>(g.model->config().maxPositions + 1), 5);
  EXPECT_NE(errorOf([&] { initUndoToken(g, opt, {longWindow}); }).find("positions"),
            std::string::npos);
}

TEST(TokenInit, ComparisonListsAStrategyThatCannotRun) {
  Pretrained p = makeModel(ModelFamily::Llama, true);
  const TensorMap before = p.model->stateDict();
  std::map<std::string, at::Tensor> copy;
  for (const auto& [k, t] : before) copy[k] = t.clone();
  TokenInitOptions opt;
  opt.words = {"\xE2\x82\xAC"};
  const TokenInitComparison c = compareStrategies(p, opt, heldOut(p));
  ASSERT_EQ(c.reports.size(), 3u);
  ASSERT_EQ(c.failures.size(), 1u);
  EXPECT_EQ(c.failures[0].strategy, TokenInitStrategy::kSemantic);
  EXPECT_NE(c.failures[0].message.find("usable token piece"), std::string::npos);
  const nlohmann::json j = c.toJson();
  EXPECT_EQ(j["reports"].size(), 3u);
  EXPECT_EQ(j["failures"][0]["strategy"], "semantic");
  for (const auto& [k, t] : p.model->stateDict()) EXPECT_TRUE(torch::equal(t, copy.at(k))) << k;
}

TEST(TokenInit, ReportJsonRoundTrip) {
  Pretrained p = makeModel(ModelFamily::Llama, true);
  TokenInitOptions opt;
  opt.strategy = TokenInitStrategy::kSemantic;
  opt.words = {"undo", "\xE2\x82\xAC"};
  opt.seed = 77;
  const TokenInitReport r = initUndoToken(p, opt, heldOut(p));
  const nlohmann::json j = r.toJson();
  for (const char* key : {"strategy",
                          "content",
                          "id",
                          "added",
                          "vocab_before",
                          "vocab_after",
                          "tied_head",
                          "seed",
                          "hewitt_scale",
                          "words_used",
                          "words_skipped",
                          "held_out_windows",
                          "held_out_positions",
                          "kl_full",
                          "kl_renormalised",
                          "p_undo_mean",
                          "p_undo_max",
                          "embedding_norm",
                          "mean_row_norm",
                          "head_norm",
                          "mean_head_row_norm",
                          "nearest",
                          "init_ms",
                          "report_ms"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["strategy"], "semantic");
  EXPECT_EQ(j["content"], "<|undo|>");
  const TokenInitReport back = TokenInitReport::fromJson(nlohmann::json::parse(j.dump()), "r.json");
  EXPECT_EQ(back.toJson(), j);
  EXPECT_EQ(back.strategy, r.strategy);
  EXPECT_EQ(back.id, r.id);
  EXPECT_EQ(back.seed, 77u);
  EXPECT_EQ(back.wordsSkipped.size(), 1u);
  EXPECT_EQ(back.nearest.size(), r.nearest.size());
  EXPECT_DOUBLE_EQ(back.klFull, r.klFull);

  nlohmann::json missing = j;
  missing.erase("kl_full");
  EXPECT_NE(errorOf([&] {
              TokenInitReport::fromJson(missing, "r.json");
            }).find("r.json: missing field 'kl_full'"),
            std::string::npos);
  nlohmann::json wrong = j;
  wrong["strategy"] = "sideways";
  EXPECT_NE(
      errorOf([&] { TokenInitReport::fromJson(wrong, "r.json"); }).find("r.json: field 'strategy'"),
      std::string::npos);
  wrong = j;
  wrong["nearest"][0]["cosine"] = "high";
  EXPECT_NE(errorOf([&] { TokenInitReport::fromJson(wrong, "r.json"); }).find("nearest[0]"),
            std::string::npos);
}

TEST(TokenInit, HeldOutWindowsAndTheBuiltInText) {
  const CharTokenizer tok(CharTokenizer::defaultAlphabet());
  const Windows w = heldOutWindows(tok, "0123456789", 4, 10);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].size(), 4u);
  EXPECT_EQ(w[2].size(), 2u);
  EXPECT_EQ(w[1][0], *tok.tokenId("4"));
  EXPECT_EQ(heldOutWindows(tok, "0123456789", 4, 2).size(), 2u);
  EXPECT_NE(errorOf([&] { heldOutWindows(tok, "abc", 0, 2); }).find("window length"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { heldOutWindows(tok, "abc", 4, 0); }).find("number of windows"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { heldOutWindows(tok, "", 4, 2); }).find("encodes to no tokens"),
            std::string::npos);

  const HeldOutText full = builtInHeldOutText(tok);
  EXPECT_NE(full.text.find('+'), std::string::npos);
  EXPECT_NE(full.text.find("The workbench"), std::string::npos);
  EXPECT_EQ(full.description.find("keeping only"), std::string::npos);
  EXPECT_GT(heldOutWindows(tok, full.text, 64, 100).size(), 8u);

  const CharTokenizer digits("0123456789+-*=\n");
  const HeldOutText part = builtInHeldOutText(digits);
  EXPECT_NE(part.description.find("keeping only"), std::string::npos) << part.description;
  EXPECT_EQ(part.text.find_first_not_of("0123456789+-*=\n"), std::string::npos);
  EXPECT_GT(part.text.size(), 200u);

  const CharTokenizer odd("#@");
  EXPECT_NE(errorOf([&] { builtInHeldOutText(odd); }).find("give a held-out text file"),
            std::string::npos);
}
