#pragma once
/**
 * @file The AdamW optimizer state of a training checkpoint as plain data: optimizer.safetensors
 * (per parameter exp_avg, exp_avg_sq, max_exp_avg_sq with amsgrad, and the step count) and the
 * parameter groups' options in its metadata. Nothing in it is code: a checkpoint from someone else
 * can be resumed without loading a TorchScript archive (optimizer.pt, which earlier versions
 * wrote, is refused with a message that says how to continue from its weights).
 */
#include <filesystem>

namespace torch::optim {
class Optimizer;
}

namespace nmar::core {

/** The file name inside a checkpoint folder. */
inline constexpr const char* kOptimizerStateFile = "optimizer.safetensors";

/**
 * Throws Error unless @p dir holds optimizer.safetensors; for a folder with only the optimizer.pt
 * of earlier versions the message says it cannot be resumed and how to start from its weights.
 */
void requireOptimizerState(const std::filesystem::path& dir);

/**
 * Writes the state of @p optimizer (an AdamW) to @p file atomically. Tensor names are
 * "param.<i>.<field>" with i the parameter's index over all groups in order; metadata "format" is
 * "nmar-optimizer/1", "type" "adamw" and "groups" a JSON list of each group's options and
 * parameter count. Throws Error naming the file for another optimizer type or an I/O failure.
 */
void saveOptimizerState(torch::optim::Optimizer& optimizer, const std::filesystem::path& file);

/**
 * Replaces the state and group options of @p optimizer (an AdamW over the same parameters, in the
 * same order) with those in @p file. Everything is checked before anything changes: the format,
 * the group and parameter counts, every option's type and range, every tensor's name, dtype and
 * shape against its parameter, and the step counts (an integer >= 1 for each parameter with
 * state). Throws Error naming the file and the field or tensor; @p optimizer is untouched then.
 */
void loadOptimizerState(torch::optim::Optimizer& optimizer, const std::filesystem::path& file);

}  // namespace nmar::core
