#include "checkpoint/shard_index.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "util/json_file.h"
#include "util/error.h"

namespace nmar::core {
namespace fs = std::filesystem;
using nlohmann::json;

ShardIndex readShardIndex(const fs::path& index) {
  const std::string what = "checkpoint index '" + index.string() + "'";
  const json root = readJsonFile(index, DuplicateKeys::kReject);
  if (!root.is_object()) throw Error(what + ": must be a JSON object, got " + root.type_name());

  ShardIndex result;
  if (root.contains("metadata")) {
    const json& metadata = root.at("metadata");
    if (!metadata.is_object() && !metadata.is_null())
      throw Error(what + ": 'metadata' must be an object, got " + metadata.type_name());
    if (metadata.is_object() && metadata.contains("total_size")) {
      const json& total = metadata.at("total_size");
      if (!total.is_number())
        throw Error(what + ": 'metadata.total_size' must be a number, got " + total.type_name());
      result.totalSize = total.get<double>();
    }
  }
  if (!root.contains("weight_map")) throw Error(what + ": missing field 'weight_map'");
  const json& weightMap = root.at("weight_map");
  if (!weightMap.is_object())
    throw Error(what + ": 'weight_map' must be an object, got " + weightMap.type_name());
  if (weightMap.empty()) throw Error(what + ": 'weight_map' is empty");

  for (const auto& item : weightMap.items()) {
    const std::string where = what + ": 'weight_map' entry '" + item.key() + "'";
    if (!item.value().is_string())
      throw Error(where + " must be a shard file name (a string), got " + item.value().type_name());
    const std::string shard = item.value().get<std::string>();
    if (!isPlainFileName(shard))
      throw Error(where + ": shard '" + shard +
                  "' must be a file name inside the checkpoint folder (no folders, no '..')");
    result.weightMap.emplace(item.key(), shard);
  }
  return result;
}

void writeShardIndex(const fs::path& index, const std::map<std::string, std::string>& weightMap,
                     std::uint64_t totalSize) {
  json root = {{"metadata", {{"total_size", totalSize}}}, {"weight_map", weightMap}};
  writeJsonFile(index, root);
}

bool isPlainFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of("/\\") == std::string::npos && name.find('\0') == std::string::npos;
}

std::string shardFileName(std::size_t number, std::size_t count) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "model-%05zu-of-%05zu.safetensors", number, count);
  return buffer;
}

bool isShardFileName(const std::string& name) {
  auto digits = [](std::string_view s, std::size_t n) {
    return (n == 0 ? !s.empty() : s.size() == n) &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  // "model-NNNNN-of-NNNNN.safetensors"
  auto isFinal = [&](std::string_view s) {
    return s.size() == 32 && s.substr(0, 6) == "model-" && digits(s.substr(6, 5), 5) &&
           s.substr(11, 4) == "-of-" && digits(s.substr(15, 5), 5) &&
           s.substr(20) == ".safetensors";
  };
  const std::string_view s = name;
  if (isFinal(s)) return true;
  // ".model-NNNNN-of-NNNNN.safetensors.tmp-<pid>-<n>", as temporaryPathFor() names it
  if (s.size() < 1 + 32 + 5 || s[0] != '.' || !isFinal(s.substr(1, 32)) ||
      s.substr(33, 5) != ".tmp-")
    return false;
  const std::string_view rest = s.substr(38);
  const std::size_t dash = rest.find('-');
  return dash != std::string_view::npos && digits(rest.substr(0, dash), 0) &&
         digits(rest.substr(dash + 1), 0);
}

}  // namespace nmar::core
