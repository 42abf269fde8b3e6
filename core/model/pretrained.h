#pragma once
/**
 * @file A model, its tokenizer and its folder: loading and saving checkpoints in the Hugging Face
 * layout (config.json, model.safetensors or a sharded index, tokenizer files).
 */
#include <cstdint>
#include <filesystem>
#include <memory>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

namespace nmar::core {

/** A loaded checkpoint. The tokenizer is null when the folder has no tokenizer files. */
struct Pretrained {
  Transformer model{nullptr};
  std::shared_ptr<Tokenizer> tokenizer;
  std::filesystem::path dir;
};

/**
 * Loads config.json, the weights (single file or sharded) and the tokenizer from @p dir, strictly:
 * a missing or unexpected tensor, a wrong shape or a tokenizer larger than the embedding is an Error
 * naming the file and tensor. The model is moved to @p device / @p dtype and put in eval mode.
 */
Pretrained loadPretrained(const std::filesystem::path& dir, c10::Device device = c10::kCPU,
                          c10::ScalarType dtype = c10::kFloat);

/**
 * Writes @p model (config.json + weights, sharded above @p maxShardBytes when non-zero) and, when
 * given, @p tokenizer to @p dir, creating it. Every file is written atomically (temp + rename), so a
 * failure never leaves a half-written checkpoint over a good one.
 */
void savePretrained(const std::filesystem::path& dir, const Transformer& model,
                    const Tokenizer* tokenizer, std::uint64_t maxShardBytes = 0);

/** True when @p dir holds a config.json and weights (single file or index). */
bool looksLikeCheckpoint(const std::filesystem::path& dir);

}  // namespace nmar::core
