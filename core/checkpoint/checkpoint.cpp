#include "checkpoint/checkpoint.h"

#include <map>
#include <set>
#include <string>

#include "checkpoint/safetensors.h"
#include "checkpoint/shard_index.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace fs = std::filesystem;

namespace {

std::string inQuotes(const std::string& s) { return "'" + s + "'"; }

TensorMap readShardedWeights(const fs::path& dir, const fs::path& index) {
  const std::string what = "checkpoint index '" + index.string() + "'";
  const ShardIndex shardIndex = readShardIndex(index);
  const std::map<std::string, std::string>& weightMap = shardIndex.weightMap;
  std::map<std::string, std::string> firstTensorOf;  // shard -> a tensor it should hold
  for (const auto& [tensor, shard] : weightMap) firstTensorOf.emplace(shard, tensor);

  // Headers first: every inconsistency is reported before any tensor data is read.
  std::map<std::string, std::string> foundIn;  // tensor -> shard that holds it
  for (const auto& [shard, tensor] : firstTensorOf) {
    const fs::path file = dir / shard;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
      throw Error(what + ": shard " + inQuotes(shard) + " (listed for tensor " + inQuotes(tensor) +
                  ") does not exist in folder '" + dir.string() + "'");
    for (const SafetensorsEntry& e : readSafetensorsHeader(file).entries) {
      const auto [it, inserted] = foundIn.emplace(e.name, shard);
      if (!inserted)
        throw Error(what + ": tensor " + inQuotes(e.name) + " is in two shards, " +
                    inQuotes(it->second) + " and " + inQuotes(shard));
    }
  }
  for (const auto& [tensor, shard] : foundIn) {
    const auto listed = weightMap.find(tensor);
    if (listed == weightMap.end())
      throw Error("safetensors file '" + (dir / shard).string() + "' holds tensor " +
                  inQuotes(tensor) + ", which " + what + " does not list");
    if (listed->second != shard)
      throw Error(what + ": maps tensor " + inQuotes(tensor) + " to shard " +
                  inQuotes(listed->second) + ", but it is in shard " + inQuotes(shard));
  }
  for (const auto& [tensor, shard] : weightMap) {
    if (!foundIn.count(tensor))
      throw Error(what + ": tensor " + inQuotes(tensor) + " is listed for shard " +
                  inQuotes(shard) + ", but that shard does not hold it");
  }

  TensorMap tensors;
  std::uint64_t bytes = 0;
  for (const auto& [shard, unused] : firstTensorOf) {
    for (auto& [name, tensor] : readSafetensors(dir / shard)) {
      const auto listed = weightMap.find(name);
      if (listed == weightMap.end() || listed->second != shard)
        throw Error("safetensors file '" + (dir / shard).string() +
                    "' changed while the checkpoint was being read");
      bytes += safetensorsByteSize(tensor);
      tensors.emplace(name, std::move(tensor));
    }
  }
  if (tensors.size() != weightMap.size())
    throw Error(what + ": a shard changed while the checkpoint was being read");
  if (shardIndex.totalSize && *shardIndex.totalSize != static_cast<double>(bytes))
    logger("core.checkpoint")
        ->warn("{}: metadata.total_size is {} but the shards hold {} tensor bytes", index.string(),
               *shardIndex.totalSize, bytes);
  return tensors;
}

}  // namespace

TensorMap readCheckpointWeights(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error("checkpoint folder '" + dir.string() +
                (fs::exists(dir, ec) ? "' is not a folder" : "' does not exist"));
  const fs::path single = dir / kSafetensorsWeightsName;
  const fs::path index = dir / kSafetensorsIndexName;
  if (fs::exists(single, ec)) {
    if (fs::exists(index, ec))
      logger("core.checkpoint")
          ->warn("{} holds both {} and {}; reading {} (as transformers does)", dir.string(),
                 kSafetensorsWeightsName, kSafetensorsIndexName, kSafetensorsWeightsName);
    return readSafetensors(single);
  }
  if (fs::exists(index, ec)) return readShardedWeights(dir, index);
  std::string message = "checkpoint folder '" + dir.string() + "' has no weights: expected " +
                        kSafetensorsWeightsName + " or " + kSafetensorsIndexName;
  if (fs::exists(dir / "pytorch_model.bin", ec) ||
      fs::exists(dir / "pytorch_model.bin.index.json", ec))
    message +=
        " (it has pytorch_model.bin: PyTorch pickle weights are not supported, convert "
        "them to safetensors)";
  throw Error(message);
}

}  // namespace nmar::core
