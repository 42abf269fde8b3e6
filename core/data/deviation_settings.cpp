// DeviationSettings: names, JSON and validation; specialTokenIds.
#include <algorithm>

#include "data/config_reader.h"
#include "data/deviation.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace nmar::core {

namespace {
constexpr int kMaxLength = 64;
constexpr int kMaxEvents = 64;
}  // namespace

std::string deviationKindName(DeviationKind kind) {
  switch (kind) {
    case DeviationKind::kNone:
      return "none";
    case DeviationKind::kRandom:
      return "random";
    case DeviationKind::kConfusable:
      return "confusable";
    case DeviationKind::kSelf:
      return "self";
  }
  return "none";
}

DeviationKind parseDeviationKind(const std::string& name, const std::string& where) {
  for (DeviationKind k : {DeviationKind::kNone, DeviationKind::kRandom, DeviationKind::kConfusable,
                          DeviationKind::kSelf})
    if (deviationKindName(k) == name) return k;
  throw Error(where + ": unknown deviation kind '" + name +
              "' (expected none, random, confusable or self)");
}

DeviationSettings DeviationSettings::fromJson(const nlohmann::json& j, const std::string& where) {
  ConfigReader r(j, where);
  DeviationSettings s;
  s.kind = parseDeviationKind(
      r.string("kind", deviationKindName(s.kind), {"none", "random", "confusable", "self"}), where);
  s.fraction = r.number("fraction", s.fraction, 0.0, 1.0);
  const auto pair = [&r](const char* both, const char* lo, const char* hi, int& min, int& max,
                         int limit) {
    if (r.has(both)) {
      if (r.has(lo) || r.has(hi))
        r.fail(both, std::string("give either ") + both + " or " + lo + "/" + hi + ", not both");
      min = max = static_cast<int>(r.integer(both, min, 1, limit));
      return;
    }
    min = static_cast<int>(r.integer(lo, min, 1, limit));
    max = static_cast<int>(r.integer(hi, std::max(max, min), 1, limit));
    if (min > max)
      r.fail(hi, "expected at least " + std::string(lo) + " (" + std::to_string(min) + "), got " +
                     std::to_string(max));
  };
  pair("length", "min_length", "max_length", s.minLength, s.maxLength, kMaxLength);
  pair("events", "min_events", "max_events", s.minEvents, s.maxEvents, kMaxEvents);
  s.topK = static_cast<int>(r.integer("top_k", s.topK, 1, 1 << 20));
  s.temperature = r.number("temperature", s.temperature, 1e-6, 1e6);
  const nlohmann::json& ex = r.raw("excluded_ids");
  if (!ex.is_null()) {
    if (!ex.is_array())
      r.fail("excluded_ids", "expected an array of token ids, got " + jsonTypeName(ex));
    for (std::size_t i = 0; i < ex.size(); ++i) {
      if (!ex[i].is_number_integer() || ex[i].get<std::int64_t>() < 0)
        r.fail("excluded_ids", "item " + std::to_string(i + 1) +
                                   " is not a non-negative integer token id (got " + ex[i].dump() +
                                   ")");
      s.excludedIds.push_back(ex[i].get<std::int64_t>());
    }
  }
  r.rejectUnknown();
  return s;
}

nlohmann::json DeviationSettings::toJson() const {
  return {{"kind", deviationKindName(kind)},
          {"fraction", fraction},
          {"min_length", minLength},
          {"max_length", maxLength},
          {"min_events", minEvents},
          {"max_events", maxEvents},
          {"top_k", topK},
          {"temperature", temperature},
          {"excluded_ids", excludedIds}};
}

void DeviationSettings::validate(const std::string& where) const {
  // The JSON form is the single place of the rules: re-read it.
  (void)fromJson(toJson(), where);
}

std::vector<std::int64_t> specialTokenIds(const Tokenizer& tok) {
  std::vector<std::int64_t> ids;
  for (const AddedToken& t : tok.addedTokens())
    if (t.special) ids.push_back(t.id);
  for (const auto& role : {tok.bosId(), tok.eosId(), tok.padId(), tok.unkId()})
    if (role) ids.push_back(*role);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace nmar::core
