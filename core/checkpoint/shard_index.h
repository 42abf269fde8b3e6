#pragma once
/** @file The index of a sharded checkpoint (model.safetensors.index.json) and shard file names. */
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace nmar::core {

/** A parsed model.safetensors.index.json. */
struct ShardIndex {
  std::map<std::string, std::string> weightMap;  ///< tensor name -> shard file name
  std::optional<double> totalSize;               ///< metadata.total_size when present
};

/**
 * Reads and validates @p index. Throws Error naming the file (and the entry) when it is not valid
 * JSON, has duplicate keys, is not an object, has no object "weight_map" or an empty one, maps a
 * tensor to something other than a plain file name, or has a non-object "metadata" or a
 * non-numeric "metadata.total_size".
 */
ShardIndex readShardIndex(const std::filesystem::path& index);

/** Writes @p index atomically as transformers does: {"metadata": {"total_size": N}, "weight_map"}.
 */
void writeShardIndex(const std::filesystem::path& index,
                     const std::map<std::string, std::string>& weightMap, std::uint64_t totalSize);

/** True when @p name is a file name with no folder part ("a.safetensors", not "../a", not "b/a").
 */
bool isPlainFileName(const std::string& name);

/** "model-00002-of-00005.safetensors" for @p number 2 of @p count 5 (1-based). */
std::string shardFileName(std::size_t number, std::size_t count);

/** True for names shardFileName() makes, and for the temporary names they are written under. */
bool isShardFileName(const std::string& name);

}  // namespace nmar::core
