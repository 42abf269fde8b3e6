#pragma once
/**
 * @file The weights of a Hugging Face checkpoint folder: "model.safetensors", or shards
 * "model-00001-of-0000N.safetensors" listed by "model.safetensors.index.json".
 */
#include <cstdint>
#include <filesystem>

#include "util/tensor_map.h"

namespace nmar::core {

/** File name of single-file weights. */
inline constexpr char kSafetensorsWeightsName[] = "model.safetensors";
/** File name of the index of sharded weights. */
inline constexpr char kSafetensorsIndexName[] = "model.safetensors.index.json";

/**
 * Reads the weights of the checkpoint folder @p dir into CPU tensors: "model.safetensors" when it
 * exists (preferred, as transformers does; a warning is logged when an index exists too), else the
 * index and every shard it lists. Throws Error naming the folder or file when there are no weights,
 * when the index is malformed (not an object, no "weight_map", a value that is not a plain file
 * name, a duplicate key), a shard is missing, a tensor of the weight_map is absent from its shard,
 * a shard holds a tensor the index does not list or maps to another shard, or the same tensor is
 * in two shards; and for every error of readSafetensors().
 */
TensorMap readCheckpointWeights(const std::filesystem::path& dir);

/**
 * Writes @p tensors into the folder @p dir (created when missing): one "model.safetensors" when
 * @p maxShardBytes is 0 or all tensor bytes fit, else shards of at most @p maxShardBytes tensor
 * bytes each (a larger tensor gets a shard of its own), filled in name order, plus the index with
 * metadata.total_size. Every file carries the metadata {"format": "pt"} that transformers expects.
 * Weight files of a previous save that the new one does not use (the other layout, extra shards)
 * are removed only after the new files and index are complete. A failure leaves the previous
 * weights readable: new shards are first written under temporary names and published through the
 * index before they replace the old names (hard links; on file systems without them the old shards
 * are replaced by renames just before the new index is written). Throws Error naming the file and
 * tensor (see writeSafetensors) or the folder.
 */
void writeCheckpointWeights(const std::filesystem::path& dir, const TensorMap& tensors,
                            std::uint64_t maxShardBytes = 0);

}  // namespace nmar::core
