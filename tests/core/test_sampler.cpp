// The N-MAR sampler: each processing stage on hand-made logits, greedy, seeding, UNDO masking,
// the empirical distribution of many draws, and the settings JSON.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <vector>

#include "decode/sampler.h"
#include "util/error.h"

using namespace nmar::core;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/** Logits whose softmax is exactly @p probs (0 -> -inf), as doubles. */
at::Tensor logitsOf(const std::vector<double>& probs) {
  std::vector<double> l;
  for (double p : probs) l.push_back(p > 0 ? std::log(p) : -kInf);
  return torch::tensor(l, torch::kDouble);
}

at::Tensor raw(const std::vector<double>& logits) { return torch::tensor(logits, torch::kDouble); }

/** exp(logProbs) as a vector. */
std::vector<double> probsOf(const Sampler& s, const at::Tensor& logits, const SampleContext& ctx) {
  const at::Tensor lp = s.logProbs(logits, ctx);
  EXPECT_EQ(lp.scalar_type(), at::kFloat);
  EXPECT_EQ(lp.device().type(), c10::kCPU);
  EXPECT_EQ(lp.dim(), 1);
  std::vector<double> out;
  for (int64_t i = 0; i < lp.size(0); ++i) out.push_back(std::exp(lp[i].item<double>()));
  return out;
}

void expectProbs(const std::vector<double>& got, const std::vector<double>& want,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-6) << what << ": id " << i;
}

std::vector<double> softmax(const std::vector<double>& x) {
  double mx = -kInf, sum = 0;
  for (double v : x) mx = std::max(mx, v);
  std::vector<double> p;
  for (double v : x) p.push_back(std::exp(v - mx));
  for (double v : p) sum += v;
  for (double& v : p) v /= sum;
  return p;
}

Sampler make(SamplerSettings s) { return Sampler(s); }

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Sampler, DefaultsLeaveTheDistributionAlone) {
  const Sampler s(SamplerSettings{});
  expectProbs(probsOf(s, logitsOf({0.5, 0.3, 0.2}), {}), {0.5, 0.3, 0.2}, "defaults");
  // float inputs are accepted too.
  expectProbs(probsOf(s, logitsOf({0.5, 0.3, 0.2}).to(at::kFloat), {}), {0.5, 0.3, 0.2}, "fp32");
}

TEST(Sampler, UndoBiasAndUndoMasks) {
  SamplerSettings st;
  st.undoLogitBias = std::log(3.0);
  SampleContext ctx;
  ctx.undoId = 3;
  ctx.canPop = true;
  const at::Tensor flat = raw({0, 0, 0, 0});
  expectProbs(probsOf(make(st), flat, ctx), {1 / 6.0, 1 / 6.0, 1 / 6.0, 0.5}, "bias");

  // Nothing to pop: UNDO is masked, however large the bias.
  st.undoLogitBias = 1000;
  ctx.canPop = false;
  expectProbs(probsOf(make(st), flat, ctx), {1 / 3.0, 1 / 3.0, 1 / 3.0, 0}, "cannot pop");

  // Budget: masked once undosUsed reaches it.
  st.undoLogitBias = 0;
  st.undoBudget = 2;
  ctx.canPop = true;
  ctx.undosUsed = 1;
  expectProbs(probsOf(make(st), flat, ctx), {0.25, 0.25, 0.25, 0.25}, "budget left");
  ctx.undosUsed = 2;
  expectProbs(probsOf(make(st), flat, ctx), {1 / 3.0, 1 / 3.0, 1 / 3.0, 0}, "budget used");

  // Consecutive limit.
  st.undoBudget = -1;
  st.maxConsecutiveUndos = 2;
  ctx.consecutiveUndos = 1;
  expectProbs(probsOf(make(st), flat, ctx), {0.25, 0.25, 0.25, 0.25}, "run below limit");
  ctx.consecutiveUndos = 2;
  expectProbs(probsOf(make(st), flat, ctx), {1 / 3.0, 1 / 3.0, 1 / 3.0, 0}, "run at limit");

  // A budget of 0 disables UNDO entirely.
  st.maxConsecutiveUndos = -1;
  st.undoBudget = 0;
  ctx.undosUsed = 0;
  EXPECT_EQ(probsOf(make(st), flat, ctx)[3], 0.0);

  // No UNDO in the model: the bias touches nothing.
  st = SamplerSettings{};
  st.undoLogitBias = 5;
  expectProbs(probsOf(make(st), flat, SampleContext{}), {0.25, 0.25, 0.25, 0.25}, "no undo");
}

TEST(Sampler, BannedIds) {
  SampleContext ctx;
  ctx.banned = {0, 2, 2};
  expectProbs(probsOf(make({}), logitsOf({0.4, 0.3, 0.2, 0.1}), ctx), {0, 0.75, 0, 0.25}, "ban");
}

TEST(Sampler, RepetitionPenaltyFollowsTheHfRuleOverDistinctLiveTokens) {
  SamplerSettings st;
  st.repetitionPenalty = 2.0;
  SampleContext ctx;
  ctx.liveTokens = {0, 1, 1};  // id 1 twice: penalised once
  // 2 -> 1 (positive: divided), -1 -> -2 (negative: multiplied), 1 and 0.5 untouched.
  expectProbs(probsOf(make(st), raw({2, -1, 1, 0.5}), ctx), softmax({1, -2, 1, 0.5}), "penalty");
  st.repetitionPenalty = 0.5;  // < 1 favours repeats
  expectProbs(probsOf(make(st), raw({2, -1, 1, 0.5}), ctx), softmax({4, -0.5, 1, 0.5}), "reward");
}

TEST(Sampler, Temperature) {
  SamplerSettings st;
  st.temperature = 0.5;
  expectProbs(probsOf(make(st), raw({1, 2, 3}), {}), softmax({2, 4, 6}), "T=0.5");
  st.temperature = 4;
  expectProbs(probsOf(make(st), raw({1, 2, 3}), {}), softmax({0.25, 0.5, 0.75}), "T=4");
}

TEST(Sampler, TopK) {
  SamplerSettings st;
  st.topK = 2;
  expectProbs(probsOf(make(st), raw({1, 3, 2, 0}), {}),
              {0, softmax({3, 2})[0], softmax({3, 2})[1], 0}, "k=2");
  st.topK = 1;
  expectProbs(probsOf(make(st), raw({1, 3, 2, 0}), {}), {0, 1, 0, 0}, "k=1");
  st.topK = 10;  // larger than V: off
  expectProbs(probsOf(make(st), raw({1, 3, 2, 0}), {}), softmax({1, 3, 2, 0}), "k>V");
  // Ties with the k-th value are kept (as in Hugging Face).
  st.topK = 2;
  expectProbs(probsOf(make(st), raw({3, 2, 2, 1}), {}),
              {softmax({3, 2, 2})[0], softmax({3, 2, 2})[1], softmax({3, 2, 2})[2], 0}, "tie");
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  SamplerSettings st;
  const at::Tensor l = logitsOf({0.5, 0.15, 0.3, 0.05});
  st.topP = 0.8;  // 0.5 + 0.3 = 0.8 reaches it exactly
  expectProbs(probsOf(make(st), l, {}), {0.625, 0, 0.375, 0}, "p=0.8");
  st.topP = 0.81;
  expectProbs(probsOf(make(st), l, {}), {0.5 / 0.95, 0.15 / 0.95, 0.3 / 0.95, 0}, "p=0.81");
  st.topP = 0.4;  // the top token alone already exceeds it
  expectProbs(probsOf(make(st), l, {}), {1, 0, 0, 0}, "p=0.4");
  st.topP = 1e-9;  // always at least one
  expectProbs(probsOf(make(st), l, {}), {1, 0, 0, 0}, "p tiny");
  st.topP = 1.0;
  expectProbs(probsOf(make(st), l, {}), {0.5, 0.15, 0.3, 0.05}, "off");
}

TEST(Sampler, MinP) {
  SamplerSettings st;
  const at::Tensor l = logitsOf({0.5, 0.3, 0.15, 0.05});
  st.minP = 0.3;  // threshold 0.15: the boundary token stays
  expectProbs(probsOf(make(st), l, {}), {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0}, "min_p=0.3");
  st.minP = 0.5;  // threshold 0.25
  expectProbs(probsOf(make(st), l, {}), {0.625, 0.375, 0, 0}, "min_p=0.5");
  st.minP = 1.0;
  expectProbs(probsOf(make(st), l, {}), {1, 0, 0, 0}, "min_p=1");
}

TEST(Sampler, StagesRunInTheDocumentedOrder) {
  // top-k before top-p: after k=2 the top token has 4/7 >= 0.5, so top-p keeps it alone. (top-p
  // first would keep two tokens.)
  SamplerSettings st;
  st.topK = 2;
  st.topP = 0.5;
  expectProbs(probsOf(make(st), logitsOf({0.4, 0.3, 0.2, 0.1}), {}), {1, 0, 0, 0}, "k then p");

  // Temperature before top-p: at T=2 the first two tokens hold 0.737 < 0.75, so all three stay
  // (top-p on the unscaled distribution would keep two).
  st = SamplerSettings{};
  st.temperature = 2;
  st.topP = 0.75;
  const std::vector<double> scaled =
      softmax({std::log(0.5) / 2, std::log(0.3) / 2, std::log(0.2) / 2});
  expectProbs(probsOf(make(st), logitsOf({0.5, 0.3, 0.2}), {}), scaled, "T then p");

  // Banned ids are masked before top-k, so top-k picks among the rest.
  st = SamplerSettings{};
  st.topK = 1;
  SampleContext ctx;
  ctx.banned = {0};
  expectProbs(probsOf(make(st), raw({5, 4, 3}), ctx), {0, 1, 0}, "ban then k");
}

TEST(Sampler, GreedyTakesTheLowestIdAmongTies) {
  SamplerSettings st;
  st.temperature = 0;
  Sampler s(st);
  for (int i = 0; i < 5; ++i) {
    const SampleResult r = s.sample(raw({1, 5, 5, 2}), {});
    EXPECT_EQ(r.token, 1);
    EXPECT_NEAR(r.logprob, std::log(softmax({1, 5, 5, 2})[1]), 1e-9);
  }
  // The argmax is UNDO but nothing can be popped: the next best.
  SampleContext ctx;
  ctx.undoId = 2;
  EXPECT_EQ(s.sample(raw({1, 2, 9, 0}), ctx).token, 1);
}

TEST(Sampler, ResultCarriesLogprobEntropyAndTopK) {
  Sampler s(SamplerSettings{});
  const SampleResult r = s.sample(logitsOf({0.5, 0.3, 0.2, 0}), {});
  const std::vector<double> p = {0.5, 0.3, 0.2, 0};
  ASSERT_GE(r.token, 0);
  ASSERT_LT(r.token, 3);
  EXPECT_NEAR(r.logprob, std::log(p[static_cast<std::size_t>(r.token)]), 1e-9);
  EXPECT_NEAR(r.entropy, -(0.5 * std::log(0.5) + 0.3 * std::log(0.3) + 0.2 * std::log(0.2)), 1e-9);
  ASSERT_EQ(r.topk.size(), 3u);  // zero-probability ids are not listed
  EXPECT_EQ(r.topk[0].first, 0);
  EXPECT_EQ(r.topk[1].first, 1);
  EXPECT_EQ(r.topk[2].first, 2);
  EXPECT_NEAR(r.topk[1].second, 0.3, 1e-9);

  // Top 5 of the final (filtered) distribution.
  SamplerSettings st;
  st.topK = 2;
  Sampler k(st);
  const SampleResult rk = k.sample(raw({0, 1, 2, 3, 4, 5, 6}), {});
  ASSERT_EQ(rk.topk.size(), 2u);
  EXPECT_EQ(rk.topk[0].first, 6);
  EXPECT_NEAR(rk.topk[0].second + rk.topk[1].second, 1.0, 1e-9);
  EXPECT_TRUE(rk.token == 5 || rk.token == 6);
}

TEST(Sampler, SameSeedSameSamplesDifferentSeedDifferent) {
  SamplerSettings st;
  st.seed = 42;
  const at::Tensor l = raw({0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  auto draws = [&](Sampler& s) {
    std::vector<int64_t> out;
    for (int i = 0; i < 200; ++i) out.push_back(s.sample(l, {}).token);
    return out;
  };
  Sampler a(st), b(st);
  const auto da = draws(a);
  EXPECT_EQ(da, draws(b));
  st.seed = 43;
  Sampler c(st);
  EXPECT_NE(da, draws(c));
  // reseed() restarts the sequence and is recorded in the settings.
  c.reseed(42);
  EXPECT_EQ(c.settings().seed, 42u);
  EXPECT_EQ(da, draws(c));
}

TEST(Sampler, VoidUndoIsNeverSampled) {
  SamplerSettings st;
  st.undoLogitBias = 1000;
  st.seed = 7;
  Sampler s(st);
  SampleContext ctx;
  ctx.undoId = 0;
  ctx.canPop = false;
  const at::Tensor l = raw({0, 0, 0, 0});
  for (int i = 0; i < 1000; ++i) ASSERT_NE(s.sample(l, ctx).token, 0) << "draw " << i;
  // With something to pop, the same bias makes UNDO (all but) certain: the mask is what stops it.
  ctx.canPop = true;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(s.sample(l, ctx).token, 0) << "draw " << i;
}

TEST(Sampler, BudgetConsecutiveLimitAndBansHoldUnderSampling) {
  SamplerSettings st;
  st.undoLogitBias = 1000;
  st.undoBudget = 3;
  st.maxConsecutiveUndos = 2;
  Sampler s(st);
  SampleContext ctx;
  ctx.undoId = 1;
  ctx.canPop = true;
  ctx.undosUsed = 2;
  ctx.consecutiveUndos = 1;
  const at::Tensor l = raw({0, 0, 0});
  EXPECT_EQ(s.sample(l, ctx).token, 1);
  ctx.undosUsed = 3;
  for (int i = 0; i < 300; ++i) ASSERT_NE(s.sample(l, ctx).token, 1);
  ctx.undosUsed = 0;
  ctx.consecutiveUndos = 2;
  for (int i = 0; i < 300; ++i) ASSERT_NE(s.sample(l, ctx).token, 1);
  ctx.consecutiveUndos = 0;
  ctx.banned = {1, 2};
  for (int i = 0; i < 300; ++i) ASSERT_EQ(s.sample(l, ctx).token, 0);
}

TEST(Sampler, EmpiricalDistributionMatchesProcessedProbabilities) {
  SamplerSettings st;
  st.temperature = 0.8;
  st.topK = 6;
  st.topP = 0.95;
  st.minP = 0.02;
  st.repetitionPenalty = 1.3;
  st.undoLogitBias = 0.7;
  st.seed = 1234;
  Sampler s(st);
  SampleContext ctx;
  ctx.undoId = 7;
  ctx.canPop = true;
  ctx.liveTokens = {2, 3};
  const at::Tensor l = raw({1.2, 0.3, 1.5, 0.9, -0.4, 0.1, -2.0, 0.2});
  const std::vector<double> p = probsOf(s, l, ctx);
  int kept = 0;
  for (double v : p) kept += v > 0;
  ASSERT_GE(kept, 4);  // a non-trivial distribution
  ASSERT_LE(kept, 6);

  constexpr int kDraws = 10000;
  std::map<int64_t, int> counts;
  for (int i = 0; i < kDraws; ++i) ++counts[s.sample(l, ctx).token];
  double chi2 = 0;
  for (std::size_t id = 0; id < p.size(); ++id) {
    const int n = counts.count(static_cast<int64_t>(id)) ? counts[static_cast<int64_t>(id)] : 0;
    if (p[id] == 0) {
      EXPECT_EQ(n, 0) << "excluded id " << id << " was sampled";
      continue;
    }
    const double expected = kDraws * p[id];
    chi2 += (n - expected) * (n - expected) / expected;
  }
  // Critical value of chi-square with 5 degrees of freedom at p = 0.001 is 20.5.
  EXPECT_LT(chi2, 20.5);
}

TEST(Sampler, EveryTokenExcludedIsAnError) {
  Sampler s(SamplerSettings{});
  SampleContext ctx;
  ctx.undoId = 1;
  ctx.banned = {0};
  const std::string msg = errorOf([&] { s.sample(raw({0, 0}), ctx); });
  EXPECT_NE(msg.find("every token is excluded"), std::string::npos) << msg;
}

TEST(Sampler, BadInputsAreNamed) {
  Sampler s(SamplerSettings{});
  EXPECT_NE(errorOf([&] {
              s.logProbs(torch::zeros({2, 3}), {});
            }).find("shape [V]"),
            std::string::npos);
  SampleContext ctx;
  ctx.undoId = 9;
  EXPECT_NE(errorOf([&] { s.logProbs(raw({0, 0}), ctx); }).find("undoId = 9"), std::string::npos);
  ctx = {};
  ctx.liveTokens = {0, -3};
  EXPECT_NE(errorOf([&] {
              s.logProbs(raw({0, 0}), ctx);
            }).find("liveTokens[1]"),
            std::string::npos);
  ctx = {};
  ctx.banned = {2};
  EXPECT_NE(errorOf([&] { s.logProbs(raw({0, 0}), ctx); }).find("banned[0]"), std::string::npos);
  EXPECT_NE(errorOf([&] {
              s.logProbs(raw({0, std::nan("")}), {});
            }).find("NaN"),
            std::string::npos);
}

TEST(Sampler, StaticTopKUsesRawProbabilities) {
  const auto top = Sampler::topK(logitsOf({0.1, 0.4, 0.2, 0.3}).to(at::kFloat), 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].first, 1);
  EXPECT_EQ(top[1].first, 3);
  EXPECT_EQ(top[2].first, 2);
  EXPECT_NEAR(top[0].second, 0.4, 1e-6);
  EXPECT_EQ(Sampler::topK(raw({0, 1}), 10).size(), 2u);
  EXPECT_TRUE(Sampler::topK(raw({0, 1}), 0).empty());
}

TEST(SamplerSettings, JsonRoundTrip) {
  SamplerSettings s;
  s.temperature = 0.7;
  s.topK = 40;
  s.topP = 0.9;
  s.minP = 0.05;
  s.repetitionPenalty = 1.1;
  s.undoLogitBias = -1.5;
  s.undoBudget = 4;
  s.maxConsecutiveUndos = 2;
  s.maxNewTokens = 128;
  s.stopAtEos = false;
  s.seed = 18446744073709551615ull;
  const nlohmann::json j = s.toJson();
  EXPECT_EQ(j["top_k"], 40);
  EXPECT_EQ(j["max_consecutive_undos"], 2);
  EXPECT_EQ(j.size(), 11u);
  const SamplerSettings r = SamplerSettings::fromJson(nlohmann::json::parse(j.dump()), "s.json");
  EXPECT_EQ(r.toJson(), j);
  EXPECT_EQ(r.seed, s.seed);
  EXPECT_EQ(r.stopAtEos, false);
  EXPECT_DOUBLE_EQ(r.minP, 0.05);
  // Missing keys keep their defaults.
  const SamplerSettings d = SamplerSettings::fromJson({{"top_p", 0.5}}, "s.json");
  EXPECT_DOUBLE_EQ(d.topP, 0.5);
  EXPECT_DOUBLE_EQ(d.temperature, 1.0);
  EXPECT_EQ(d.maxNewTokens, 64);
}

TEST(SamplerSettings, EachInvalidFieldIsNamed) {
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"temperature", -0.1}}, "'temperature'"},
      {{{"temperature", "hot"}}, "'temperature': expected a number"},
      {{{"top_k", -1}}, "'top_k'"},
      {{{"top_k", 2.5}}, "'top_k': expected an integer"},
      {{{"top_p", 0.0}}, "'top_p': expected a value in (0, 1]"},
      {{{"top_p", 1.5}}, "'top_p'"},
      {{{"min_p", -0.1}}, "'min_p'"},
      {{{"min_p", 1.5}}, "'min_p'"},
      {{{"repetition_penalty", 0}}, "'repetition_penalty'"},
      {{{"undo_logit_bias", "x"}}, "'undo_logit_bias'"},
      {{{"undo_budget", -2}}, "'undo_budget'"},
      {{{"max_consecutive_undos", -3}}, "'max_consecutive_undos'"},
      {{{"max_new_tokens", 0}}, "'max_new_tokens'"},
      {{{"stop_at_eos", 1}}, "'stop_at_eos': expected true or false"},
      {{{"seed", -1}}, "'seed': expected a non-negative integer"},
      {{{"topk", 3}}, "unknown field 'topk'"},
      {nlohmann::json::array(), "expected a JSON object"},
  };
  for (const auto& [json, want] : cases) {
    const std::string msg = errorOf([&] { SamplerSettings::fromJson(json, "cfg.json"); });
    EXPECT_NE(msg.find(want), std::string::npos) << json.dump() << " -> " << msg;
    EXPECT_EQ(msg.rfind("cfg.json: ", 0), 0u) << msg;
  }
  // validate() and the constructor name the field too.
  SamplerSettings bad;
  bad.topP = 2;
  EXPECT_NE(errorOf([&] { bad.validate(); }).find("'top_p'"), std::string::npos);
  EXPECT_NE(errorOf([&] { Sampler{bad}; }).find("'top_p'"), std::string::npos);
  bad = {};
  bad.temperature = std::nan("");
  EXPECT_NE(errorOf([&] { bad.validate(); }).find("'temperature': expected a finite number"),
            std::string::npos);
}
