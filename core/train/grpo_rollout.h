#pragma once
/**
 * @file GRPO rollouts: a group of completions of one prompt sampled with the pruned decoder from
 * the current policy, each verified and scored (rewards, token credit). Torch header: not for
 * viz/ or widgets/.
 */
#include <cstdint>
#include <vector>

#include "data/example.h"
#include "decode/pruned_decoder.h"
#include "train/rewards.h"
#include "train/token_credit.h"

namespace nmar::core {

class Tokenizer;

/** One sampled completion with what GRPO knows about it. */
struct Rollout {
  int group = 0;                   ///< the prompt's index in the step
  Example example;                 ///< the prompt with its gold completion
  std::vector<std::int64_t> gold;  ///< gold completion ids (EOS appended when the model has one)
  Trace trace;                     ///< the decode (per-step logprob of the sampling policy)
  CompletionFacts facts;           ///< verdict, UNDOs, EOS
  RewardBreakdown rewards;         ///< per reward function and the weighted total
  TokenCredit credit;              ///< per-step token-level credit against the gold
  double advantage = 0.0;          ///< the group-normalised sequence advantage
};

/** How a group is sampled and scored. */
struct RolloutSettings {
  DecodeSettings decode;                ///< mode, sampler (temperature, length), UNDO and EOS ids
  int numGenerations = 8;               ///< G
  std::vector<RewardFunction> rewards;  ///< weighted reward functions
  int undoBudget = -1;                  ///< see scoreCompletion()
  double creditAlpha = 0.5;
  double creditBeta = 0.1;
};

/**
 * Samples @p settings.numGenerations completions of @p example from @p model in one batch
 * (decodeGroup; resample mode falls back to one PrunedDecoder per completion); completion g is
 * seeded with mixSeed(@p seed, g). Then verifies and scores each. Runs under a NoGradGuard.
 * Throws what the decoder throws (a bad id, NaN logits).
 */
std::vector<Rollout> sampleGroup(Transformer model, const Tokenizer& tokenizer,
                                 const Example& example, int group, const RolloutSettings& settings,
                                 std::uint64_t seed);

/** A well-mixed 64-bit seed from @p a and @p b (splitmix64 of a combination). */
std::uint64_t mixSeed(std::uint64_t a, std::uint64_t b);

}  // namespace nmar::core
