#include "decode/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <set>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>

#include "util/error.h"

namespace nmar::core {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Cumulative sums of probabilities are compared with this slack, so that a set whose mass is
// top_p up to rounding counts as reaching it.
constexpr double kTopPSlack = 1e-7;
constexpr int kResultTopK = 5;

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

[[noreturn]] void badField(const std::string& field, const std::string& expected, double got) {
  throw Error("sampler settings: field '" + field + "': expected " + expected + ", got " +
              num(got));
}

void requireFinite(const std::string& field, double v) {
  if (!std::isfinite(v)) badField(field, "a finite number", v);
}

/** Raw logits [V] as doubles on the CPU; Error when not 1-D or empty. */
std::vector<double> toVector(const at::Tensor& logits, const char* what) {
  if (!logits.defined() || logits.dim() != 1 || logits.size(0) == 0)
    throw Error(std::string(what) + ": expected logits of shape [V] with V > 0, got " +
                (logits.defined()
                     ? std::to_string(logits.dim()) + "-D " + num(logits.numel()) + " elements"
                     : std::string("an undefined tensor")));
  const at::Tensor cpu = logits.detach().to(at::kCPU, at::kDouble).contiguous();
  const double* p = cpu.data_ptr<double>();
  return std::vector<double>(p, p + cpu.numel());
}

void checkId(std::int64_t id, std::int64_t vocab, const std::string& field, bool allowNone) {
  if ((allowNone && id == -1) || (id >= 0 && id < vocab)) return;
  throw Error("sample context: " + field + " = " + std::to_string(id) + " is outside [" +
              (allowNone ? "-1" : "0") + ", " + std::to_string(vocab) + ")");
}

/** Softmax of @p x (which has at least one finite entry) in place of a copy. */
std::vector<double> softmax(const std::vector<double>& x) {
  const double mx = *std::max_element(x.begin(), x.end());
  std::vector<double> p(x.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) sum += (p[i] = std::exp(x[i] - mx));
  for (double& v : p) v /= sum;
  return p;
}

bool anyFinite(const std::vector<double>& x) {
  return std::any_of(x.begin(), x.end(), [](double v) { return v > kNegInf; });
}

/** Ids of the entries of @p x above @p floor, by value descending, ties by lower id first. */
std::vector<std::int64_t> rankedIds(const std::vector<double>& x, double floor) {
  std::vector<std::int64_t> ids;
  ids.reserve(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i] > floor) ids.push_back(static_cast<std::int64_t>(i));
  std::stable_sort(ids.begin(), ids.end(), [&](std::int64_t a, std::int64_t b) {
    return x[static_cast<std::size_t>(a)] > x[static_cast<std::size_t>(b)];
  });
  return ids;
}

void applyTopK(std::vector<double>& x, int k) {
  if (k <= 0 || static_cast<std::size_t>(k) >= x.size()) return;
  std::vector<double> sorted(x);
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<>());
  const double kth = sorted[static_cast<std::size_t>(k - 1)];
  for (double& v : x)
    if (v < kth) v = kNegInf;  // ties with the k-th value are kept (as in HF)
}

void applyTopP(std::vector<double>& x, double topP) {
  if (topP >= 1.0) return;
  const std::vector<double> p = softmax(x);
  const std::vector<std::int64_t> ids = rankedIds(p, 0.0);
  double cum = 0.0;
  std::size_t keep = 0;
  for (; keep < ids.size(); ++keep) {
    if (keep > 0 && cum >= topP - kTopPSlack) break;
    cum += p[static_cast<std::size_t>(ids[keep])];
  }
  for (std::size_t r = keep; r < ids.size(); ++r) x[static_cast<std::size_t>(ids[r])] = kNegInf;
}

void applyMinP(std::vector<double>& x, double minP) {
  if (minP <= 0.0) return;
  const std::vector<double> p = softmax(x);
  const double threshold = minP * *std::max_element(p.begin(), p.end()) * (1.0 - 1e-12);
  for (std::size_t i = 0; i < x.size(); ++i)
    if (p[i] < threshold) x[i] = kNegInf;
}

/** The processed log-probabilities as doubles (see Sampler::logProbs). */
std::vector<double> processedLogProbs(const SamplerSettings& s, const at::Tensor& logits,
                                      const SampleContext& ctx) {
  std::vector<double> x = toVector(logits, "sampler");
  const auto vocab = static_cast<std::int64_t>(x.size());
  checkId(ctx.undoId, vocab, "undoId", true);
  checkId(ctx.eosId, vocab, "eosId", true);
  for (std::size_t i = 0; i < ctx.liveTokens.size(); ++i)
    checkId(ctx.liveTokens[i], vocab, "liveTokens[" + std::to_string(i) + "]", false);
  for (std::size_t i = 0; i < ctx.banned.size(); ++i)
    checkId(ctx.banned[i], vocab, "banned[" + std::to_string(i) + "]", false);
  for (double& v : x)
    if (std::isnan(v) || v == std::numeric_limits<double>::infinity())
      throw Error("sampler: logits hold NaN or +inf");

  // 1. UNDO bias, 2. masks.
  if (ctx.undoId >= 0) {
    double& u = x[static_cast<std::size_t>(ctx.undoId)];
    u += s.undoLogitBias;
    const bool budgetUsed = s.undoBudget >= 0 && ctx.undosUsed >= s.undoBudget;
    const bool runTooLong =
        s.maxConsecutiveUndos >= 0 && ctx.consecutiveUndos >= s.maxConsecutiveUndos;
    if (!ctx.canPop || budgetUsed || runTooLong) u = kNegInf;
  }
  for (std::int64_t id : ctx.banned) x[static_cast<std::size_t>(id)] = kNegInf;

  // 3. Repetition penalty (HF/CTRL) over the distinct live tokens.
  if (s.repetitionPenalty != 1.0) {
    const std::set<std::int64_t> live(ctx.liveTokens.begin(), ctx.liveTokens.end());
    for (std::int64_t id : live) {
      double& v = x[static_cast<std::size_t>(id)];
      if (v == kNegInf) continue;
      v = v > 0 ? v / s.repetitionPenalty : v * s.repetitionPenalty;
    }
  }
  if (!anyFinite(x))
    throw Error("sampler: every token is excluded (UNDO masked" +
                std::string(ctx.banned.empty()
                                ? ""
                                : ", " + std::to_string(ctx.banned.size()) + " banned ids") +
                ", vocabulary of " + std::to_string(vocab) + ")");

  // 4. Temperature (0 = greedy: the distribution is left unscaled), 5.-7. filters.
  if (s.temperature > 0.0 && s.temperature != 1.0)
    for (double& v : x) v /= s.temperature;
  applyTopK(x, s.topK);
  applyTopP(x, s.topP);
  applyMinP(x, s.minP);

  const double mx = *std::max_element(x.begin(), x.end());
  double sum = 0.0;
  for (double v : x) sum += std::exp(v - mx);
  const double logZ = mx + std::log(sum);
  for (double& v : x) v -= logZ;  // -inf stays -inf
  return x;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SamplerSettings

nlohmann::json SamplerSettings::toJson() const {
  return {{"temperature", temperature},
          {"top_k", topK},
          {"top_p", topP},
          {"min_p", minP},
          {"repetition_penalty", repetitionPenalty},
          {"undo_logit_bias", undoLogitBias},
          {"undo_budget", undoBudget},
          {"max_consecutive_undos", maxConsecutiveUndos},
          {"max_new_tokens", maxNewTokens},
          {"stop_at_eos", stopAtEos},
          {"seed", seed}};
}

SamplerSettings SamplerSettings::fromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object())
    throw Error(source + ": sampler settings: expected a JSON object, got " +
                std::string(j.type_name()));
  SamplerSettings s;
  auto fail = [&](const std::string& key, const std::string& expected, const nlohmann::json& v) {
    throw Error(source + ": sampler settings: field '" + key + "': expected " + expected +
                ", got " + std::string(v.type_name()) + " " + v.dump());
  };
  auto real = [&](const std::string& key, const nlohmann::json& v, double& out) {
    if (!v.is_number()) fail(key, "a number", v);
    out = v.get<double>();
  };
  auto integer = [&](const std::string& key, const nlohmann::json& v, int& out) {
    if (!v.is_number_integer()) fail(key, "an integer", v);
    const auto i = v.get<std::int64_t>();
    if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max())
      fail(key, "a 32-bit integer", v);
    out = static_cast<int>(i);
  };
  for (const auto& [key, v] : j.items()) {
    if (key == "temperature")
      real(key, v, s.temperature);
    else if (key == "top_k")
      integer(key, v, s.topK);
    else if (key == "top_p")
      real(key, v, s.topP);
    else if (key == "min_p")
      real(key, v, s.minP);
    else if (key == "repetition_penalty")
      real(key, v, s.repetitionPenalty);
    else if (key == "undo_logit_bias")
      real(key, v, s.undoLogitBias);
    else if (key == "undo_budget")
      integer(key, v, s.undoBudget);
    else if (key == "max_consecutive_undos")
      integer(key, v, s.maxConsecutiveUndos);
    else if (key == "max_new_tokens")
      integer(key, v, s.maxNewTokens);
    else if (key == "stop_at_eos") {
      if (!v.is_boolean()) fail(key, "true or false", v);
      s.stopAtEos = v.get<bool>();
    } else if (key == "seed") {
      if (!v.is_number_unsigned()) fail(key, "a non-negative integer", v);
      s.seed = v.get<std::uint64_t>();
    } else {
      throw Error(source + ": sampler settings: unknown field '" + key +
                  "' (expected temperature, top_k, top_p, min_p, repetition_penalty, "
                  "undo_logit_bias, undo_budget, max_consecutive_undos, max_new_tokens, "
                  "stop_at_eos, seed)");
    }
  }
  try {
    s.validate();
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
  return s;
}

void SamplerSettings::validate() const {
  requireFinite("temperature", temperature);
  if (temperature < 0.0) badField("temperature", "a value >= 0 (0 = greedy)", temperature);
  if (topK < 0) badField("top_k", "a value >= 0 (0 = off)", topK);
  requireFinite("top_p", topP);
  if (!(topP > 0.0 && topP <= 1.0)) badField("top_p", "a value in (0, 1] (1 = off)", topP);
  requireFinite("min_p", minP);
  if (!(minP >= 0.0 && minP <= 1.0)) badField("min_p", "a value in [0, 1] (0 = off)", minP);
  requireFinite("repetition_penalty", repetitionPenalty);
  if (repetitionPenalty <= 0.0)
    badField("repetition_penalty", "a value > 0 (1 = off)", repetitionPenalty);
  requireFinite("undo_logit_bias", undoLogitBias);
  if (undoBudget < -1) badField("undo_budget", "a value >= -1 (-1 = unlimited)", undoBudget);
  if (maxConsecutiveUndos < -1)
    badField("max_consecutive_undos", "a value >= -1 (-1 = unlimited)", maxConsecutiveUndos);
  if (maxNewTokens < 1) badField("max_new_tokens", "a value >= 1", maxNewTokens);
}

// ---------------------------------------------------------------------------------------------
// Sampler

Sampler::Sampler(SamplerSettings settings)
    : m_settings(settings), m_generator(at::make_generator<at::CPUGeneratorImpl>(settings.seed)) {
  m_settings.validate();
}

const SamplerSettings& Sampler::settings() const { return m_settings; }

at::Tensor Sampler::logProbs(const at::Tensor& logits, const SampleContext& ctx) const {
  const std::vector<double> lp = processedLogProbs(m_settings, logits, ctx);
  return at::tensor(lp, at::TensorOptions().dtype(at::kDouble)).to(at::kFloat);
}

SampleResult Sampler::sample(const at::Tensor& logits, const SampleContext& ctx) {
  const std::vector<double> lp = processedLogProbs(m_settings, logits, ctx);
  std::vector<double> p(lp.size());
  for (std::size_t i = 0; i < lp.size(); ++i) p[i] = std::exp(lp[i]);

  SampleResult r;
  if (m_settings.temperature == 0.0) {
    // Greedy: the first maximum (lowest id on ties).
    r.token = static_cast<std::int64_t>(std::max_element(lp.begin(), lp.end()) - lp.begin());
  } else {
    const at::Tensor probs = at::tensor(p, at::TensorOptions().dtype(at::kDouble));
    // multinomial never picks a zero-probability id in exact arithmetic; the re-draw guards the
    // (vanishingly rare) rounding case so that a masked UNDO can never come out.
    for (int attempt = 0; attempt < 8 && r.token < 0; ++attempt) {
      const std::int64_t t = at::multinomial(probs, 1, false, m_generator).item<std::int64_t>();
      if (p[static_cast<std::size_t>(t)] > 0.0) r.token = t;
    }
    if (r.token < 0) throw Error("sampler: drew only excluded tokens in 8 attempts");
  }
  r.logprob = lp[static_cast<std::size_t>(r.token)];
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] > 0.0) r.entropy -= p[i] * lp[i];
  const std::vector<std::int64_t> ranked = rankedIds(lp, kNegInf);
  for (std::size_t i = 0; i < ranked.size() && i < static_cast<std::size_t>(kResultTopK); ++i)
    r.topk.emplace_back(ranked[i], p[static_cast<std::size_t>(ranked[i])]);
  return r;
}

std::vector<std::pair<std::int64_t, double>> Sampler::topK(const at::Tensor& logits, int k) {
  const std::vector<double> x = toVector(logits, "Sampler::topK");
  std::vector<std::pair<std::int64_t, double>> out;
  if (k <= 0 || !anyFinite(x)) return out;
  const std::vector<double> p = softmax(x);
  const std::vector<std::int64_t> ranked = rankedIds(p, 0.0);
  for (std::size_t i = 0; i < ranked.size() && i < static_cast<std::size_t>(k); ++i)
    out.emplace_back(ranked[i], p[static_cast<std::size_t>(ranked[i])]);
  return out;
}

void Sampler::reseed(std::uint64_t seed) {
  m_settings.seed = seed;
  std::lock_guard<std::mutex> lock(m_generator.mutex());
  m_generator.set_current_seed(seed);
}

}  // namespace nmar::core
