#include "train/token_init_report.h"

#include "util/error.h"

namespace nmar::core {
namespace {

/** json[key] as T, or an Error naming @p source and the field. */
template <typename T>
T field(const nlohmann::json& json, const char* key, const std::string& source) {
  auto it = json.find(key);
  if (it == json.end()) throw Error(source + ": missing field '" + key + "'");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(source + ": field '" + key + "' has the wrong type (" + it->type_name() + ")");
  }
}

}  // namespace

TokenInitStrategy parseTokenInitStrategy(const std::string& name) {
  if (name == "random") return TokenInitStrategy::kRandom;
  if (name == "mean") return TokenInitStrategy::kMean;
  if (name == "semantic") return TokenInitStrategy::kSemantic;
  if (name == "hewitt" || name == "mean+noise") return TokenInitStrategy::kHewitt;
  throw Error("unknown token-init strategy '" + name +
              "' (expected random, mean, semantic, hewitt or mean+noise)");
}

std::string tokenInitStrategyName(TokenInitStrategy strategy) {
  switch (strategy) {
    case TokenInitStrategy::kRandom:
      return "random";
    case TokenInitStrategy::kMean:
      return "mean";
    case TokenInitStrategy::kSemantic:
      return "semantic";
    case TokenInitStrategy::kHewitt:
      return "hewitt";
  }
  return "unknown";
}

const std::vector<TokenInitStrategy>& allTokenInitStrategies() {
  static const std::vector<TokenInitStrategy> all = {
      TokenInitStrategy::kRandom, TokenInitStrategy::kMean, TokenInitStrategy::kSemantic,
      TokenInitStrategy::kHewitt};
  return all;
}

nlohmann::json TokenInitReport::toJson() const {
  nlohmann::json j;
  j["strategy"] = tokenInitStrategyName(strategy);
  j["content"] = content;
  j["id"] = id;
  j["added"] = added;
  j["vocab_before"] = vocabBefore;
  j["vocab_after"] = vocabAfter;
  j["tied_head"] = tiedHead;
  j["seed"] = seed;
  j["hewitt_scale"] = hewittScale;
  j["words_used"] = wordsUsed;
  nlohmann::json skipped = nlohmann::json::array();
  for (const SkippedWord& w : wordsSkipped)
    skipped.push_back({{"word", w.word}, {"reason", w.reason}});
  j["words_skipped"] = skipped;
  j["held_out_windows"] = heldOutWindows;
  j["held_out_positions"] = heldOutPositions;
  j["kl_full"] = klFull;
  j["kl_renormalised"] = klRenormalised;
  j["p_undo_mean"] = pUndoMean;
  j["p_undo_max"] = pUndoMax;
  j["embedding_norm"] = embeddingNorm;
  j["mean_row_norm"] = meanRowNorm;
  j["head_norm"] = headNorm;
  j["mean_head_row_norm"] = meanHeadRowNorm;
  nlohmann::json near = nlohmann::json::array();
  for (const TokenNeighbour& n : nearest)
    near.push_back({{"id", n.id}, {"text", n.text}, {"cosine", n.cosine}});
  j["nearest"] = near;
  j["init_ms"] = initMs;
  j["report_ms"] = reportMs;
  return j;
}

TokenInitReport TokenInitReport::fromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": expected a JSON object for the token-init report");
  TokenInitReport r;
  try {
    r.strategy = parseTokenInitStrategy(field<std::string>(j, "strategy", source));
  } catch (const Error& e) {
    throw Error(source + ": field 'strategy': " + e.what());
  }
  r.content = field<std::string>(j, "content", source);
  r.id = field<std::int64_t>(j, "id", source);
  r.added = field<bool>(j, "added", source);
  r.vocabBefore = field<std::int64_t>(j, "vocab_before", source);
  r.vocabAfter = field<std::int64_t>(j, "vocab_after", source);
  r.tiedHead = field<bool>(j, "tied_head", source);
  r.seed = field<std::uint64_t>(j, "seed", source);
  r.hewittScale = field<double>(j, "hewitt_scale", source);
  r.wordsUsed = field<std::vector<std::string>>(j, "words_used", source);
  const auto skipped = field<nlohmann::json>(j, "words_skipped", source);
  if (!skipped.is_array()) throw Error(source + ": field 'words_skipped' must be an array");
  for (std::size_t i = 0; i < skipped.size(); ++i) {
    const std::string where = source + ": words_skipped[" + std::to_string(i) + "]";
    r.wordsSkipped.push_back({field<std::string>(skipped[i], "word", where),
                              field<std::string>(skipped[i], "reason", where)});
  }
  r.heldOutWindows = field<std::int64_t>(j, "held_out_windows", source);
  r.heldOutPositions = field<std::int64_t>(j, "held_out_positions", source);
  r.klFull = field<double>(j, "kl_full", source);
  r.klRenormalised = field<double>(j, "kl_renormalised", source);
  r.pUndoMean = field<double>(j, "p_undo_mean", source);
  r.pUndoMax = field<double>(j, "p_undo_max", source);
  r.embeddingNorm = field<double>(j, "embedding_norm", source);
  r.meanRowNorm = field<double>(j, "mean_row_norm", source);
  r.headNorm = field<double>(j, "head_norm", source);
  r.meanHeadRowNorm = field<double>(j, "mean_head_row_norm", source);
  const auto near = field<nlohmann::json>(j, "nearest", source);
  if (!near.is_array()) throw Error(source + ": field 'nearest' must be an array");
  for (std::size_t i = 0; i < near.size(); ++i) {
    const std::string where = source + ": nearest[" + std::to_string(i) + "]";
    r.nearest.push_back({field<std::int64_t>(near[i], "id", where),
                         field<std::string>(near[i], "text", where),
                         field<double>(near[i], "cosine", where)});
  }
  r.initMs = field<double>(j, "init_ms", source);
  r.reportMs = field<double>(j, "report_ms", source);
  return r;
}

nlohmann::json TokenInitComparison::toJson() const {
  nlohmann::json j;
  j["reports"] = nlohmann::json::array();
  for (const TokenInitReport& r : reports) j["reports"].push_back(r.toJson());
  j["failures"] = nlohmann::json::array();
  for (const TokenInitFailure& f : failures)
    j["failures"].push_back(
        {{"strategy", tokenInitStrategyName(f.strategy)}, {"message", f.message}});
  return j;
}

}  // namespace nmar::core
