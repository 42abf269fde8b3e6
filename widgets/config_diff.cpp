#include "widgets/config_diff.h"

#include <map>

namespace nmar::widgets {
namespace {

void flatten(const nlohmann::json& j, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>* out) {
  if (j.is_object() && !j.empty()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else if (j.is_array() && !j.empty()) {
    for (std::size_t i = 0; i < j.size(); ++i)
      flatten(j[i], prefix + "[" + std::to_string(i) + "]", out);
  } else {
    out->emplace_back(prefix, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> flattenConfig(const nlohmann::json& config) {
  std::vector<std::pair<std::string, std::string>> out;
  flatten(config, "", &out);
  return out;
}

std::vector<ConfigDiffRow> diffConfigs(const nlohmann::json& left, const nlohmann::json& right,
                                       bool onlyDifferences) {
  std::map<std::string, std::pair<const std::string*, const std::string*>> keys;
  const auto l = flattenConfig(left);
  const auto r = flattenConfig(right);
  for (const auto& [k, v] : l) keys[k].first = &v;
  for (const auto& [k, v] : r) keys[k].second = &v;
  std::vector<ConfigDiffRow> rows;
  for (const auto& [key, sides] : keys) {
    ConfigDiffRow row;
    row.key = key;
    if (sides.first) row.left = *sides.first;
    if (sides.second) row.right = *sides.second;
    row.state = !sides.second  ? DiffState::kOnlyLeft
                : !sides.first ? DiffState::kOnlyRight
                : row.left == row.right ? DiffState::kSame
                                        : DiffState::kChanged;
    if (onlyDifferences && row.state == DiffState::kSame) continue;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace nmar::widgets
