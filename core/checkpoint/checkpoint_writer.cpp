#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "util/atomic_file.h"
#include "checkpoint/checkpoint.h"
#include "checkpoint/safetensors.h"
#include "checkpoint/safetensors_format.h"
#include "checkpoint/shard_index.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace fs = std::filesystem;

namespace {

const std::map<std::string, std::string> kShardMetadata = {{"format", "pt"}};

/** Weight files in @p dir that belong to whatever save was there before (shards, old index). */
std::set<std::string> existingShardFiles(const fs::path& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (isShardFileName(name)) names.insert(name);
  }
  const fs::path index = dir / kSafetensorsIndexName;
  if (fs::exists(index, ec)) {
    try {
      for (const auto& [tensor, shard] : readShardIndex(index).weightMap) {
        const bool weights =
            shard.size() > 12 && shard.compare(shard.size() - 12, 12, ".safetensors") == 0;
        if (weights || isShardFileName(shard)) names.insert(shard);
      }
    } catch (const Error& e) {
      logger("core.checkpoint")
          ->warn("the previous index is unreadable, only its usual shard names are cleaned up: {}",
                 e.what());
    }
  }
  return names;
}

/** Removes @p names from @p dir, warning (not failing) when one cannot be removed. */
void removeStale(const fs::path& dir, const std::set<std::string>& names) {
  for (const std::string& name : names) {
    std::error_code ec;
    fs::remove(dir / name, ec);
    if (ec)
      logger("core.checkpoint")
          ->warn("cannot remove stale weight file '{}': {}", (dir / name).string(), ec.message());
  }
}

/** Fills shards of at most @p maxBytes tensor bytes in name order; big tensors get their own. */
std::vector<TensorMap> planShards(const TensorMap& tensors, std::uint64_t maxBytes) {
  std::vector<TensorMap> shards(1);
  std::uint64_t used = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::uint64_t bytes = safetensorsByteSize(tensor);
    if (!shards.back().empty() && used + bytes > maxBytes) {
      shards.emplace_back();
      used = 0;
    }
    shards.back().emplace(name, tensor);
    used += bytes;
  }
  return shards;
}

/** True when the file system of @p file supports hard links (probed by linking it once). */
bool canHardLink(const fs::path& file) {
  const fs::path probe = temporaryPathFor(file);
  if (::link(file.c_str(), probe.c_str()) != 0) return false;
  ::unlink(probe.c_str());
  return true;
}

/** Atomically replaces @p target by a second name of @p source (which keeps its own name). */
void replaceByHardLink(const fs::path& source, const fs::path& target) {
  const fs::path link = temporaryPathFor(target);
  if (::link(source.c_str(), link.c_str()) != 0)
    throw Error("cannot write '" + target.string() + "': cannot link '" + source.string() +
                "': " + std::strerror(errno));
  if (::rename(link.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(link.c_str());
    throw Error("cannot write '" + target.string() + "': cannot rename '" + link.string() +
                "' into place: " + std::strerror(error));
  }
}

void writeSharded(const fs::path& dir, const std::vector<TensorMap>& shards,
                  std::uint64_t totalBytes, const std::set<std::string>& previous) {
  const std::size_t count = shards.size();
  if (count > 99999)
    throw Error("cannot write checkpoint '" + dir.string() + "': " + std::to_string(count) +
                " shards is more than the 99999 that shard names allow; raise the shard size");
  std::vector<std::unique_ptr<AtomicFile>> files;
  std::map<std::string, std::string> finalMap;
  std::map<std::string, std::string> tempMap;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string name = shardFileName(i + 1, count);
    files.push_back(std::make_unique<AtomicFile>(dir / name));
    writeSafetensorsTo(*files.back(), shards[i], kShardMetadata);
    files.back()->finish();
    for (const auto& [tensor, unused] : shards[i]) {
      finalMap[tensor] = name;
      tempMap[tensor] = files.back()->tempPath().filename().string();
    }
  }

  const fs::path index = dir / kSafetensorsIndexName;
  if (canHardLink(files.front()->tempPath())) {
    // Publish the complete new shards under their temporary names first, so that the index always
    // points at complete files of one save while the final names are replaced one by one.
    writeShardIndex(index, tempMap, totalBytes);
    for (auto& file : files) file->keep();
    for (auto& file : files) replaceByHardLink(file->tempPath(), file->target());
    writeShardIndex(index, finalMap, totalBytes);
    for (auto& file : files) ::unlink(file->tempPath().c_str());
  } else {
    for (auto& file : files) file->commit();
    writeShardIndex(index, finalMap, totalBytes);
  }
  syncDirectory(dir);

  // The single file takes precedence over the index when both exist: it must go.
  const fs::path single = dir / kSafetensorsWeightsName;
  std::error_code ec;
  fs::remove(single, ec);
  if (ec)
    throw Error("checkpoint '" + dir.string() + "': the new shards are written but the previous '" +
                single.string() + "', which readers prefer, cannot be removed: " + ec.message());
  std::set<std::string> stale;
  for (const std::string& name : previous)
    if (!std::count_if(finalMap.begin(), finalMap.end(),
                       [&](const auto& kv) { return kv.second == name; }))
      stale.insert(name);
  removeStale(dir, stale);
}

}  // namespace

void writeCheckpointWeights(const fs::path& dir, const TensorMap& tensors,
                            std::uint64_t maxShardBytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw Error("cannot create checkpoint folder '" + dir.string() +
                "': " + (ec ? ec.message() : std::string("a file of that name exists")));
  const fs::path single = dir / kSafetensorsWeightsName;
  checkWritableTensors(single.string(), tensors);  // nothing is written when a tensor is bad

  std::uint64_t totalBytes = 0;
  for (const auto& [name, tensor] : tensors) totalBytes += safetensorsByteSize(tensor);
  const std::set<std::string> previous = existingShardFiles(dir);

  if (maxShardBytes == 0 || totalBytes <= maxShardBytes || tensors.size() <= 1) {
    writeSafetensors(single, tensors, kShardMetadata);
    removeStale(dir, {kSafetensorsIndexName});  // the index first: it names the shards
    removeStale(dir, previous);
  } else {
    writeSharded(dir, planShards(tensors, maxShardBytes), totalBytes, previous);
  }
  logger("core.checkpoint")
      ->debug("saved {} tensors ({} bytes) to {}", tensors.size(), totalBytes, dir.string());
}

}  // namespace nmar::core
