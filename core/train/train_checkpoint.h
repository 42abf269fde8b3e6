#pragma once
/**
 * @file Training checkpoints: a Hugging Face checkpoint folder (config.json, model.safetensors,
 * tokenizer files) plus optimizer.safetensors (train/optimizer_state.h) and trainer_state.json,
 * written into a temporary folder and renamed into place, so a crash never leaves a half-written checkpoint-N.
 */
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "model/pretrained.h"
#include "util/error.h"
#include "util/tensor_map.h"

namespace torch::optim {
class Optimizer;
}

namespace nmar::core {

/** A NaN or infinite loss or gradient: the run stops, failed, keeping its last good checkpoint. */
class NonFiniteLoss : public Error {
 public:
  using Error::Error;
};

/** What readTrainCheckpoint() found. */
struct TrainCheckpoint {
  TensorMap weights;     ///< model.safetensors (or shards), strictly read
  nlohmann::json state;  ///< trainer_state.json
};

/**
 * Writes outDir/checkpoint-<step> (replacing one of that name) from @p p, @p optimizer and
 * @p state; then deletes the oldest checkpoint-N folders beyond the newest @p keep (0 keeps all).
 * @p extraFiles (may be empty) writes further files (e.g. the jointly trained deviation detector)
 * into the temporary folder before it is renamed into place, so they are part of the same atomic
 * checkpoint. Returns the folder. Throws Error naming the file when a write fails; earlier
 * checkpoints are untouched then.
 */
std::filesystem::path writeTrainCheckpoint(
    const std::filesystem::path& outDir, std::int64_t step, const Pretrained& p,
    torch::optim::Optimizer& optimizer, const nlohmann::json& state, int keep,
    const std::function<void(const std::filesystem::path& dir)>& extraFiles = {});

/** Reads the weights and trainer state of a checkpoint folder; Error naming the file if corrupt. */
TrainCheckpoint readTrainCheckpoint(const std::filesystem::path& dir);

/**
 * Throws Error (naming @p where and the first differing key) when the experiment @p saved
 * differs from @p current in anything that changes the trained weights: model, data, deviation,
 * curriculum, optimiser, seed, the train section except steps and log_every, and the detector
 * except its evaluation settings (tau, eval_trigger, eval_natural).
 */
void checkResumable(const nlohmann::json& saved, const nlohmann::json& current,
                    const std::string& where);

}  // namespace nmar::core
