#pragma once
/**
 * @file A completion of a GRPO group as the run store keeps it: the trace (verdict and rewards
 * filled) and one score per step. Torch-free.
 */
#include <cstdint>
#include <vector>

#include "store/run_record.h"
#include "trace/trace.h"

namespace nmar::core {

/**
 * One completion of group @c group. scores[k] belongs to trace.steps[k]: reward = the token-level
 * credit (spec §7; 0 where none), advantage = the advantage the loss used (sequence term plus the
 * token term when token credit is on), logprob = the sampling policy's, ratio = the importance
 * ratio at the last inner update.
 */
struct ScoredTrace {
  std::int64_t group = 0;
  Trace trace;
  std::vector<TokenScore> scores;
};

}  // namespace nmar::core
