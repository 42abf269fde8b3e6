#pragma once
/**
 * @file Comparing the configs of runs: a config (JSON) flattened to dotted keys, and the rows
 * of a diff between two of them. Plain functions, any thread.
 */
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmar::widgets {

/**
 * The leaves of @p config as (key, value text) pairs in key order: object members join with
 * ".", array elements as "[i]" ("optim.lr", "curriculum.stages[1].steps"); values are compact
 * JSON ("0.001", "\"addition\"", "true", "null"); an empty object or array is a leaf ("{}", "[]").
 */
std::vector<std::pair<std::string, std::string>> flattenConfig(const nlohmann::json& config);

/** How a key compares between the two configs. */
enum class DiffState { kSame, kChanged, kOnlyLeft, kOnlyRight };

/** One row of a config diff; a missing side has an empty text. */
struct ConfigDiffRow {
  std::string key;
  std::string left;
  std::string right;
  DiffState state = DiffState::kSame;
};

/** Every key of either config, in key order; only the differing ones when @p onlyDifferences. */
std::vector<ConfigDiffRow> diffConfigs(const nlohmann::json& left, const nlohmann::json& right,
                                       bool onlyDifferences);

}  // namespace nmar::widgets
