#pragma once
/**
 * @file Stages of a suite (suite.h `from` and `undo_init`): finding the checkpoint of the run a
 * staged run starts from, and giving that checkpoint a freshly initialised UNDO token.
 * Torch inside (the .cpp); the header is plain.
 */
#include <cstdint>
#include <filesystem>
#include <string>

#include "experiments/suite.h"
#include "train/token_init_report.h"

namespace nmar::core {

class RunStore;

/**
 * The final checkpoint folder of @p from's finished run in @p store: the newest "checkpoint"
 * artifact the run recorded whose folder still exists. Throws Error naming @p from's run
 * ("claims/pretrain/clean/s1") when the store has no finished run of it, or none of its
 * checkpoints is on disk any more.
 */
std::filesystem::path stageCheckpoint(RunStore& store, const PlannedRun& from);

/**
 * Loads the checkpoint @p from (CPU), re-initialises its UNDO token (adds it when missing) with
 * @p strategy and @p seed, measuring the shift on the built-in held-out text (16 windows of 64
 * tokens), and saves the result with its tokenizer to @p to (replaced). Throws Error for a bad
 * checkpoint or strategy (initUndoToken's messages).
 */
TokenInitReport reinitUndoCheckpoint(const std::filesystem::path& from,
                                     const std::filesystem::path& to, const std::string& strategy,
                                     std::uint64_t seed);

}  // namespace nmar::core
