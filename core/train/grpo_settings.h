#pragma once
/**
 * @file The settings of a GRPO run (spec §7): the `[grpo]` and `[rewards]` tables of an
 * experiment file, with the names and defaults of TRL's GRPOConfig where one exists
 * (num_generations, epsilon, epsilon_high, num_iterations, beta, scale_rewards, loss_type,
 * temperature, max_completion_length). Torch-free.
 */
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace nmar::core {

/** How rewards are scaled after the group mean is subtracted (TRL's scale_rewards). */
enum class RewardScaling {
  kGroup,  ///< divide by the group's standard deviation (default)
  kBatch,  ///< divide by the standard deviation of every reward of the step
  kNone,   ///< do not divide (Dr. GRPO)
};

/** How per-token losses are reduced to one number (TRL's loss_type). */
enum class GrpoLossType {
  kGrpo,    ///< per-sequence token mean, then the mean over sequences
  kDapo,    ///< token mean over the whole batch (default, as in TRL)
  kDrGrpo,  ///< token sum / (sequences x max_completion_length): a constant normaliser
};

/** "group" / "batch" / "none". */
const char* rewardScalingName(RewardScaling scaling);
/** "grpo" / "dapo" / "dr_grpo". */
const char* grpoLossTypeName(GrpoLossType type);

/** The `[grpo]` table. */
struct GrpoSettings {
  int numGenerations = 8;    ///< G: completions per prompt (>= 2)
  int promptsPerStep = 4;    ///< prompts per optimiser step (batch = prompts x G)
  int numIterations = 1;     ///< inner optimiser updates per sampled batch
  double epsilon = 0.2;      ///< lower clip: ratio >= 1 - epsilon
  double epsilonHigh = 0.2;  ///< upper clip: ratio <= 1 + epsilon_high (default: epsilon)
  double beta = 0.0;         ///< KL (k3) coefficient; 0 skips the reference model
  RewardScaling scaleRewards = RewardScaling::kGroup;
  GrpoLossType lossType = GrpoLossType::kDapo;
  double temperature = 1.0;      ///< sampling temperature (> 0); the loss uses the same
  double undoLogitBias = 0.0;    ///< added to the UNDO logit when sampling and in the loss
  int maxCompletionLength = 64;  ///< decode steps (pushes and pops) per completion
  bool tokenCredit = false;      ///< add the token-level term to each token's advantage
  double creditAlpha = 0.5;      ///< +alpha for an UNDO of a wrong token, -alpha otherwise
  double creditBeta = 0.1;       ///< -beta for a pushed token that turned out wrong
  int traces = 1;                ///< groups per step stored as traces (with token scores)

  /** The table as JSON (snake_case keys, every field). */
  nlohmann::json toJson() const;
  /**
   * Reads @p table (null: all defaults). Errors read "<where>: field 'k': expected ...": unknown
   * keys, wrong types, out-of-range values (num_generations < 2, epsilon outside [0, 1),
   * temperature <= 0, ...).
   */
  static GrpoSettings fromJson(const nlohmann::json& table, const std::string& where);
};

/**
 * The `[rewards]` table: the weight of each reward function (0 turns one off) and their
 * parameters. The total reward of a completion is the weighted sum.
 */
struct RewardSettings {
  double outcome = 1.0;       ///< weight of: 1 when the verifier accepts the output, else 0
  double efficiency = 0.0;    ///< weight of: -undo_penalty per UNDO
  double process = 0.0;       ///< weight of: the verifier's per-step partial credit
  double format = 0.0;        ///< weight of: 1 when the completion ended with EOS, else 0
  double undoPenalty = 0.05;  ///< lambda of the efficiency reward
  int undoBudget = -1;  ///< more UNDOs than this: every reward of the completion is 0 (-1: none)

  /** The table as JSON (snake_case keys, every field). */
  nlohmann::json toJson() const;
  /** Reads @p table like GrpoSettings::fromJson; at least one weight must be non-zero. */
  static RewardSettings fromJson(const nlohmann::json& table, const std::string& where);
};

}  // namespace nmar::core
