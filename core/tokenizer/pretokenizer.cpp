#include "tokenizer/pretokenizer.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_io.h"
#include "tokenizer/regex.h"

namespace nmar::core {

namespace {

SplitBehavior parseBehavior(const nlohmann::json& j, const std::string& file,
                            const std::string& field, SplitBehavior fallback) {
  const std::string b = tokjson::optString(j, "behavior", file, field, "");
  if (b.empty()) return fallback;
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  tokjson::fieldError(file, field,
                      "is '" + b +
                          "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or "
                          "Contiguous)");
}

struct Span {
  std::size_t start, end;
  bool match;
};

// Combines matches and gaps following HF's SplitDelimiterBehavior rules.
std::vector<Span> combine(const std::vector<Span>& spans, SplitBehavior behavior) {
  std::vector<Span> acc;
  bool previousMatch = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      return spans;
    case SplitBehavior::kRemoved:
      for (const Span& s : spans)
        if (!s.match) acc.push_back(s);
      return acc;
    case SplitBehavior::kMergedWithPrevious:
      for (const Span& s : spans) {
        if (s.match && !previousMatch && !acc.empty()) {
          acc.back().end = s.end;
        } else {
          acc.push_back(s);
        }
        previousMatch = s.match;
      }
      return acc;
    case SplitBehavior::kMergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->match && !previousMatch && !acc.empty()) {
          acc.back().start = it->start;
        } else {
          acc.push_back(*it);
        }
        previousMatch = it->match;
      }
      return {acc.rbegin(), acc.rend()};
    case SplitBehavior::kContiguous:
      for (std::size_t i = 0; i < spans.size(); ++i) {
        if (i > 0 && spans[i].match == previousMatch) {
          acc.back().end = spans[i].end;
        } else {
          acc.push_back(spans[i]);
        }
        previousMatch = spans[i].match;
      }
      return acc;
  }
  return acc;
}

void replaceSpaces(std::string& s, const std::string& replacement) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (char c : s) {
    if (c == ' ') {
      out += replacement;
    } else {
      out += c;
    }
  }
  s = std::move(out);
}

}  // namespace

PreTokenizer PreTokenizer::fromJson(const nlohmann::json& j, const std::string& file,
                                    const std::string& field) {
  PreTokenizer p;
  if (!j.is_null()) p.parse(j, file, field);
  return p;
}

void PreTokenizer::addRegexSplit(const std::string& pattern, SplitBehavior behavior, bool invert,
                                 const std::string& where, const std::string& origin) {
  Step s;
  s.kind = StepKind::kSplit;
  s.origin = origin;
  s.regex = std::make_shared<Regex>(pattern, where);
  s.behavior = behavior;
  s.invert = invert;
  m_steps.push_back(std::move(s));
}

void PreTokenizer::parse(const nlohmann::json& j, const std::string& file,
                         const std::string& field) {
  if (!j.is_object())
    tokjson::fieldError(file, field, "is " + tokjson::typeName(j) + ", expected an object");
  const std::string type =
      tokjson::require(j, "type", file, field + ".type", "a pre-tokenizer type").get<std::string>();
  const std::string where = file + ": field '" + field + "'";
  if (type == "Sequence") {
    const auto& list =
        tokjson::require(j, "pretokenizers", file, field + ".pretokenizers", "an array");
    if (!list.is_array()) tokjson::fieldError(file, field + ".pretokenizers", "is not an array");
    for (std::size_t i = 0; i < list.size(); ++i)
      if (!list[i].is_null())
        parse(list[i], file, field + ".pretokenizers[" + std::to_string(i) + "]");
  } else if (type == "Split") {
    const auto& pattern = tokjson::require(j, "pattern", file, field + ".pattern",
                                           "{\"String\": ...} or {\"Regex\": ...}");
    const SplitBehavior behavior =
        parseBehavior(j, file, field + ".behavior", SplitBehavior::kIsolated);
    const bool invert = tokjson::optBool(j, "invert", file, field + ".invert", false);
    if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
      addRegexSplit(pattern["Regex"].get<std::string>(), behavior, invert,
                    where + " (pattern.Regex)", type);
    } else if (pattern.contains("String") && pattern["String"].is_string() &&
               !pattern["String"].get<std::string>().empty()) {
      Step s;
      s.kind = StepKind::kSplit;
      s.origin = "Split";
      s.literal = pattern["String"].get<std::string>();
      s.behavior = behavior;
      s.invert = invert;
      m_steps.push_back(std::move(s));
    } else {
      tokjson::fieldError(file, field + ".pattern",
                          "must be {\"String\": \"<non-empty>\"} or {\"Regex\": \"...\"}");
    }
  } else if (type == "ByteLevel") {
    Step s;
    s.kind = StepKind::kByteLevel;
    s.origin = "ByteLevel";
    s.prefix = tokjson::optBool(j, "add_prefix_space", file, field + ".add_prefix_space", false);
    m_steps.push_back(std::move(s));
    if (tokjson::optBool(j, "use_regex", file, field + ".use_regex", true))
      addRegexSplit(kGpt2SplitPattern, SplitBehavior::kIsolated, false, where, "ByteLevel");
  } else if (type == "Metaspace") {
    Step s;
    s.kind = StepKind::kMetaspace;
    s.origin = "Metaspace";
    s.literal = tokjson::optString(j, "replacement", file, field + ".replacement", "\u2581");
    if (s.literal.empty()) tokjson::fieldError(file, field + ".replacement", "is empty");
    s.prepend = tokjson::optString(j, "prepend_scheme", file, field + ".prepend_scheme", "");
    if (s.prepend.empty())  // the pre-0.19 form: add_prefix_space (default true)
      s.prepend = tokjson::optBool(j, "add_prefix_space", file, field + ".add_prefix_space", true)
                      ? "always"
                      : "never";
    if (s.prepend != "always" && s.prepend != "first" && s.prepend != "never")
      tokjson::fieldError(file, field + ".prepend_scheme",
                          "is '" + s.prepend + "' (expected always, first or never)");
    s.splitWords = tokjson::optBool(j, "split", file, field + ".split", true);
    m_steps.push_back(std::move(s));
  } else if (type == "Digits") {
    const bool individual =
        tokjson::optBool(j, "individual_digits", file, field + ".individual_digits", false);
    addRegexSplit(R"(\p{N})", individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous,
                  false, where, type);
  } else if (type == "Whitespace") {
    addRegexSplit(R"(\w+|[^\w\s]+)", SplitBehavior::kRemoved, true, where, type);
  } else if (type == "WhitespaceSplit") {
    addRegexSplit(R"(\s+)", SplitBehavior::kRemoved, false, where, type);
  } else if (type == "Punctuation") {
    addRegexSplit(R"([!-/:-@\[-`{-~]|\p{P})",
                  parseBehavior(j, file, field + ".behavior", SplitBehavior::kIsolated), false,
                  where, type);
  } else {
    tokjson::fieldError(file, field + ".type",
                        "is '" + type +
                            "', which is not supported (expected Sequence, Split, ByteLevel, "
                            "Metaspace, Digits, Whitespace, WhitespaceSplit or Punctuation)");
  }
}

bool PreTokenizer::has(const std::string& type) const {
  for (const auto& s : m_steps)
    if (s.origin == type) return true;
  return false;
}

void PreTokenizer::applySplit(const Step& step, const std::string& piece,
                              std::vector<std::string>& out) {
  thread_local std::vector<std::pair<std::size_t, std::size_t>> hits;
  hits.clear();
  if (step.regex) {
    step.regex->findAll(piece, hits);
  } else {
    for (std::size_t pos = piece.find(step.literal); pos != std::string::npos;
         pos = piece.find(step.literal, pos + step.literal.size()))
      hits.emplace_back(pos, pos + step.literal.size());
  }
  const auto emit = [&](std::size_t a, std::size_t b) {
    if (b > a) out.emplace_back(piece, a, b - a);
  };
  if (step.behavior == SplitBehavior::kIsolated && !step.invert) {  // the common case, no copies
    std::size_t prev = 0;
    for (const auto& [a, b] : hits) {
      emit(prev, a);
      emit(a, b);
      prev = b;
    }
    emit(prev, piece.size());
    return;
  }
  std::vector<Span> spans;
  std::size_t prev = 0;
  for (const auto& [a, b] : hits) {
    if (a > prev) spans.push_back({prev, a, false});
    spans.push_back({a, b, true});
    prev = b;
  }
  if (prev < piece.size()) spans.push_back({prev, piece.size(), false});
  if (step.invert)
    for (Span& s : spans) s.match = !s.match;
  for (const Span& s : combine(spans, step.behavior)) emit(s.start, s.end);
}

void PreTokenizer::split(std::string_view text, bool atInputStart,
                         std::vector<std::string>& words) const {
  words.clear();
  if (text.empty()) return;
  words.emplace_back(text);
  thread_local std::vector<std::string> next;
  for (const Step& step : m_steps) {
    next.clear();
    for (std::size_t i = 0; i < words.size(); ++i) {
      std::string& piece = words[i];
      if (step.kind == StepKind::kSplit) {
        applySplit(step, piece, next);
        continue;
      }
      if (step.kind == StepKind::kByteLevel) {
        if (step.prefix && piece[0] != ' ') piece.insert(piece.begin(), ' ');
        next.push_back(std::move(piece));
        continue;
      }
      // Metaspace: spaces become the replacement, which is prepended per the scheme.
      replaceSpaces(piece, step.literal);
      const bool startsWithIt = piece.compare(0, step.literal.size(), step.literal) == 0;
      if (!startsWithIt &&
          (step.prepend == "always" || (step.prepend == "first" && atInputStart && i == 0)))
        piece.insert(0, step.literal);
      if (!step.splitWords) {
        next.push_back(std::move(piece));
        continue;
      }
      Step literal;
      literal.literal = step.literal;
      literal.behavior = SplitBehavior::kMergedWithNext;
      applySplit(literal, piece, next);
    }
    words.swap(next);
  }
}

}  // namespace nmar::core
