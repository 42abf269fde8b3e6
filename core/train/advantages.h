#pragma once
/**
 * @file Group-relative advantages (GRPO, spec §7) over plain vectors: each reward minus the mean
 * of its group, divided by the group's standard deviation, the batch's, or nothing. Pure
 * functions; tests check them against hand-computed values.
 */
#include <vector>

#include "train/grpo_settings.h"

namespace nmar::core {

/** The guard added to a standard deviation before dividing by it (as in TRL). */
inline constexpr double kAdvantageEpsilon = 1e-4;

/** Mean of @p values (0 when empty). */
double meanOf(const std::vector<double>& values);

/** Sample standard deviation of @p values (n - 1 in the denominator; 0 for fewer than 2). */
double stdOf(const std::vector<double>& values);

/**
 * Advantages of @p rewards laid out group after group, @p groupSize each:
 * A_i = (r_i - mean(group)) / (s + kAdvantageEpsilon) where s is the group's sample standard
 * deviation (kGroup), that of all rewards (kBatch), or A_i = r_i - mean(group) (kNone). Throws
 * Error when @p groupSize < 1 or does not divide the number of rewards.
 */
std::vector<double> groupAdvantages(const std::vector<double>& rewards, int groupSize,
                                    RewardScaling scaling);

/**
 * The fraction of groups whose rewards are all equal (|std| < 1e-8): they carry no learning
 * signal (TRL's frac_reward_zero_std). Same layout and errors as groupAdvantages().
 */
double fracZeroStdGroups(const std::vector<double>& rewards, int groupSize);

}  // namespace nmar::core
