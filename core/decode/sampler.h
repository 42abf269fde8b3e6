#pragma once
/**
 * @file Seeded, reproducible next-token sampler for N-MAR decoding (spec §3): UNDO logit bias,
 * UNDO masking (nothing to pop, budget, consecutive limit), banned ids, repetition penalty,
 * temperature, top-k, top-p and min-p, then a draw from the sampler's own CPU generator.
 */
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/Generator.h>
#include <nlohmann/json.hpp>

namespace nmar::core {

/** Sampler settings; JSON keys are snake_case (temperature, top_k, top_p, min_p,
 * repetition_penalty, undo_logit_bias, undo_budget, max_consecutive_undos, max_new_tokens,
 * stop_at_eos, seed). */
struct SamplerSettings {
  double temperature = 1.0;        // 0 = greedy (argmax; ties -> lowest id)
  int topK = 0;                    // 0 = off
  double topP = 1.0;               // 1 = off
  double minP = 0.0;               // 0 = off (keep tokens with p >= minP * p_max)
  double repetitionPenalty = 1.0;  // 1 = off; HF/CTRL rule over the live (un-popped) trace tokens
  double undoLogitBias = 0.0;      // added to the UNDO logit before everything else
  int undoBudget = -1;             // -1 = unlimited; when used up, UNDO is masked
  int maxConsecutiveUndos = -1;    // -1 = unlimited; when reached, UNDO is masked
  int maxNewTokens = 64;           // steps (push or pop) before the decoder stops
  bool stopAtEos = true;
  std::uint64_t seed = 0;

  /** All fields under their snake_case keys. */
  nlohmann::json toJson() const;
  /** Reads the keys present in @p j (missing keys keep their defaults) and validates. Throws Error
   *  naming @p source and the field for a wrong type, an unknown key or an invalid value. */
  static SamplerSettings fromJson(const nlohmann::json& j, const std::string& source);
  /** Throws Error naming the field: temperature < 0, top_k < 0, top_p not in (0,1], min_p not in
   *  [0,1], repetition_penalty <= 0, undo_budget < -1, max_consecutive_undos < -1,
   *  max_new_tokens < 1, a non-finite value. */
  void validate() const;
};

/** What the sampler needs to know about the decoder's state at this step. */
struct SampleContext {
  std::int64_t undoId = -1;  // -1: model has no UNDO token
  std::int64_t eosId = -1;
  bool canPop = false;  // false -> UNDO is masked (no void UNDO is ever sampled)
  int undosUsed = 0;
  int consecutiveUndos = 0;
  std::vector<std::int64_t> liveTokens;  // trace tokens on the stack (for repetition penalty)
  std::vector<std::int64_t> banned;      // ids that must not be sampled (resample mode)
};

/** One draw of the sampler. */
struct SampleResult {
  std::int64_t token = -1;
  double logprob = 0.0;  // log p(token) under the final (processed) distribution
  double entropy = 0.0;  // entropy (nats) of the final distribution
  std::vector<std::pair<std::int64_t, double>> topk;  // top 5 (id, prob) of the final distribution
};

/** Seeded, reproducible sampler. Owns its own CPU torch::Generator; not thread-safe. */
class Sampler {
 public:
  /** Validates @p settings (throws Error naming the field) and seeds the generator. */
  explicit Sampler(SamplerSettings settings);
  const SamplerSettings& settings() const;
  /** Log-probabilities [V] (fp32, CPU) after bias, masking, penalty, temperature and filters;
   *  -inf for excluded tokens. @p logits is [V] on any device/dtype. Throws Error when @p logits
   *  is not 1-D or a context id is outside [0, V). With temperature 0 the result is the
   *  distribution before temperature (filters applied), which sample() reduces to its argmax. */
  at::Tensor logProbs(const at::Tensor& logits, const SampleContext& ctx) const;
  /** Samples one token (greedy when temperature == 0). Throws Error if every token is excluded. */
  SampleResult sample(const at::Tensor& logits, const SampleContext& ctx);
  /** The tokens with the highest raw probability, for forced deviations and hovers. */
  static std::vector<std::pair<std::int64_t, double>> topK(const at::Tensor& logits, int k);
  /** Reset the generator to the seed. */
  void reseed(std::uint64_t seed);

 private:
  SamplerSettings m_settings;
  at::Generator m_generator;
};

}  // namespace nmar::core
