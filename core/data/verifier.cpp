#include "data/verifier.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "data/config_reader.h"
#include "util/error.h"

namespace nmar::core {

namespace {

/** Reads the decimal number at @p pos of @p s into @p value (stops growing past @p cap); returns
 * the index after its digits (@p pos when there are none). */
std::size_t readNumber(const std::string& s, std::size_t pos, long cap, long& value) {
  value = 0;
  for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos)
    if (value <= cap) value = value * 10 + (s[pos] - '0');
  return pos;
}

/**
 * Throws Error unless @p pattern is within the limits std::regex handles safely: its compiler
 * recurses per nested group, copies an atom n times for {n}, overflowed (UB inside libstdc++) on
 * repeat counts and back-references past 2^63, and its backtracking matcher takes exponential time
 * on an unbounded repeat of a group that itself repeats without bound, such as (a+)+.
 */
void checkRegexLimits(const std::string& pattern, const std::string& where) {
  if (pattern.size() > kMaxRegexPatternBytes)
    throw Error(where + ": regex of " + std::to_string(pattern.size()) +
                " bytes, longer than the limit of " + std::to_string(kMaxRegexPatternBytes));
  auto fail = [&](const std::string& what, std::size_t at) {
    return Error(where + ": regex " + what + " (at byte " + std::to_string(at) + ")");
  };
  auto tooLarge = [&](const char* what, std::size_t at) {
    return Error(where + ": regex " + what + " at byte " + std::to_string(at) +
                 " is larger than the limit of " + std::to_string(kMaxRegexRepeat));
  };
  const std::size_t n = pattern.size();
  std::vector<bool> unbounded{false};  // per open group: does it repeat without bound inside?
  bool closedUnbounded = false;        // the last atom is a group that repeats without bound
  bool afterQuantifier = false;        // the last token is a quantifier
  long value = 0;
  double expansion = 1;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = pattern[i];
    const bool counted = c == '{' && i + 1 < n && pattern[i + 1] >= '0' && pattern[i + 1] <= '9';
    if (c == '*' || c == '+' || c == '?' || counted) {
      if (c == '?' && afterQuantifier) {  // the lazy form *? +? ?? {n}?
        afterQuantifier = false;
        continue;
      }
      if (afterQuantifier) throw fail("repeats a repeat", i);
      bool isUnbounded = c == '*' || c == '+';
      if (counted) {  // {n}, {n,} or {n,m}
        std::size_t end = readNumber(pattern, i + 1, kMaxRegexRepeat, value);
        if (value > kMaxRegexRepeat) throw tooLarge("repeat count", i + 1);
        long copies = value;
        if (end < n && pattern[end] == ',') {
          const std::size_t second = end + 1;
          end = readNumber(pattern, second, kMaxRegexRepeat, value);
          if (value > kMaxRegexRepeat) throw tooLarge("repeat count", second);
          isUnbounded = end == second;
          copies = std::max(copies, value);
        }
        // Nested repeats multiply ((a{100}){100} is 10,000 copies): bound the product of all.
        expansion *= static_cast<double>(std::max(copies, 1L));
        if (expansion > kMaxRegexExpansion)
          throw fail(
              "repeats multiply to more than " + std::to_string(kMaxRegexExpansion) + " copies", i);
        if (end < n && pattern[end] == '}') i = end;
      }
      if (isUnbounded && closedUnbounded)
        throw fail(
            "repeats without bound a group that repeats without bound, like (a+)+, "
            "which can take exponential time",
            i);
      if (isUnbounded) unbounded.back() = true;
      afterQuantifier = true;
      closedUnbounded = false;
      continue;
    }
    afterQuantifier = false;
    closedUnbounded = false;
    if (c == '\\') {  // an escaped character (\( \[ ...) or a back-reference \N
      const std::size_t end = readNumber(pattern, i + 1, kMaxRegexRepeat, value);
      if (value > kMaxRegexRepeat) throw tooLarge("back-reference", i);
      i = end > i + 1 ? end - 1 : i + 1;
    } else if (c == '[') {  // a class: its characters are literals up to the closing ']'
      std::size_t j = i + 1;
      if (j < n && pattern[j] == '^') ++j;
      if (j < n && pattern[j] == ']') ++j;
      while (j < n && pattern[j] != ']') j += pattern[j] == '\\' ? 2 : 1;
      i = j;
    } else if (c == '(') {
      if (static_cast<int>(unbounded.size()) > kMaxRegexGroupDepth)
        throw Error(where + ": regex nests groups deeper than " +
                    std::to_string(kMaxRegexGroupDepth) + " levels (at byte " + std::to_string(i) +
                    ")");
      unbounded.push_back(false);
    } else if (c == ')' && unbounded.size() > 1) {
      closedUnbounded = unbounded.back();
      unbounded.pop_back();
      if (closedUnbounded) unbounded.back() = true;
    }
  }
}

std::shared_ptr<const std::regex> compileRegex(const std::string& pattern,
                                               const std::string& where) {
  checkRegexLimits(pattern, where);
  try {
    return std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw Error(where + ": invalid regex /" + pattern + "/: " + e.what());
  }
}

std::string numberText(double x) {
  std::ostringstream s;
  s.precision(12);
  s << x;
  return s.str();
}

Verdict outcome(bool correct, std::string detail) {
  Verdict v;
  v.correct = correct;
  v.process = correct ? 1.0 : 0.0;
  v.detail = std::move(detail);
  return v;
}

}  // namespace

std::string verifierKindName(VerifierKind kind) {
  switch (kind) {
    case VerifierKind::kExact:
      return "exact";
    case VerifierKind::kNumeric:
      return "numeric";
    case VerifierKind::kRegex:
      return "regex";
  }
  return "exact";
}

std::optional<double> parseNumber(std::string_view text) {
  const std::string s(trimWhitespace(text));
  if (s.empty()) return std::nullopt;
  // strtod would also read "inf", "nan" and hex floats: only decimal notation is a number here.
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.' ||
          c == 'e' || c == 'E'))
      return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(x)) return std::nullopt;
  return x;
}

Verifier Verifier::exact(std::optional<std::string> value) {
  Verifier v;
  v.m_kind = VerifierKind::kExact;
  v.m_value = std::move(value);
  return v;
}

Verifier Verifier::numeric(double absTolerance, double relTolerance,
                           std::optional<std::string> value) {
  if (!(absTolerance >= 0.0) || !(relTolerance >= 0.0) || !std::isfinite(absTolerance) ||
      !std::isfinite(relTolerance))
    throw Error("numeric verifier: tolerances must be finite and >= 0");
  if (value && !parseNumber(*value))
    throw Error("numeric verifier: the value \"" + *value + "\" is not a number");
  Verifier v;
  v.m_kind = VerifierKind::kNumeric;
  v.m_abs = absTolerance;
  v.m_rel = relTolerance;
  v.m_value = std::move(value);
  return v;
}

Verifier Verifier::regex(std::optional<std::string> pattern, const std::string& where) {
  Verifier v;
  v.m_kind = VerifierKind::kRegex;
  if (pattern) v.m_compiled = compileRegex(*pattern, where);
  v.m_value = std::move(pattern);
  return v;
}

Verifier Verifier::fromJson(const nlohmann::json& json, const std::string& where,
                            const std::string& field) {
  const std::string fieldPrefix = field.empty() ? "" : field + ".";
  if (json.is_string()) return exact(json.get<std::string>());
  if (!json.is_object())
    throw Error(where + (field.empty() ? "" : ": field '" + field + "'") +
                ": expected a string or an object {\"type\", \"value\", ...}, got " +
                jsonTypeName(json));
  ConfigReader r(json, where, field);
  if (!r.has("type")) r.fail("type", "is missing (expected exact, numeric or regex)");
  const std::string type = r.string("type", "", {"exact", "numeric", "regex"});
  std::optional<std::string> value;
  const nlohmann::json& rawValue = r.raw("value");
  if (!rawValue.is_null()) {
    if (rawValue.is_string())
      value = rawValue.get<std::string>();
    else if (type == "numeric" && rawValue.is_number())
      value = rawValue.dump();
    else
      r.fail("value", std::string("expected a string") + (type == "numeric" ? " or a number" : "") +
                          ", got " + jsonTypeName(rawValue));
  }
  Verifier v;
  if (type == "exact") {
    v = exact(value);
  } else if (type == "numeric") {
    double abs = 1e-9, rel = 0.0;
    const nlohmann::json& tol = r.raw("tolerance");
    if (tol.is_object()) {
      ConfigReader t(tol, where, fieldPrefix + "tolerance");
      abs = t.number("abs", 0.0, 0.0, 1e300);
      rel = t.number("rel", 0.0, 0.0, 1e300);
      t.rejectUnknown();
    } else if (!tol.is_null()) {
      abs = r.number("tolerance", abs, 0.0, 1e300);
    }
    if (value && !parseNumber(*value)) r.fail("value", "\"" + *value + "\" is not a number");
    v = numeric(abs, rel, value);
  } else {
    v = regex(value, where + ": field '" + fieldPrefix + "value'");
  }
  r.rejectUnknown();
  return v;
}

nlohmann::json Verifier::toJson() const {
  nlohmann::json j{{"type", verifierKindName(m_kind)}};
  if (m_value) j["value"] = *m_value;
  if (m_kind == VerifierKind::kNumeric) j["tolerance"] = {{"abs", m_abs}, {"rel", m_rel}};
  return j;
}

Verifier Verifier::withoutValue() const {
  Verifier v = *this;
  v.m_value.reset();
  v.m_compiled.reset();
  return v;
}

Verdict Verifier::verify(const Example& example, const std::string& output) const {
  const std::string expected = m_value ? *m_value : example.expected();
  const std::string_view got = trimWhitespace(output);
  const std::string where = example.source.empty() ? "example" : example.source;
  switch (m_kind) {
    case VerifierKind::kExact: {
      const std::string_view want = trimWhitespace(expected);
      if (got == want) return outcome(true, "ok: " + shownOutput(got));
      return outcome(false, "expected " + shownOutput(want) + ", got " + shownOutput(got));
    }
    case VerifierKind::kNumeric: {
      const std::optional<double> want = parseNumber(expected);
      if (!want) throw Error(where + ": the numeric answer \"" + expected + "\" is not a number");
      const double tol = std::max(m_abs, m_rel * std::fabs(*want));
      const std::string goal = "a number within " + numberText(tol) + " of " + numberText(*want);
      const std::optional<double> x = parseNumber(got);
      if (!x) return outcome(false, "expected " + goal + ", got " + shownOutput(got));
      if (std::fabs(*x - *want) <= tol) return outcome(true, "ok: " + shownOutput(got));
      return outcome(false, "expected " + goal + ", got " + shownOutput(got));
    }
    case VerifierKind::kRegex: {
      const std::shared_ptr<const std::regex> re =
          m_compiled ? m_compiled : compileRegex(expected, where + ": answer");
      if (got.size() > kMaxRegexTextBytes)
        return outcome(false, "expected a match of /" + expected + "/, got an output of " +
                                  std::to_string(got.size()) + " bytes (a regex verifier checks " +
                                  "at most " + std::to_string(kMaxRegexTextBytes) + ")");
      const std::string text(got);
      if (std::regex_match(text, *re)) return outcome(true, "ok: " + shownOutput(got));
      return outcome(false, "expected a match of /" + expected + "/, got " + shownOutput(got));
    }
  }
  return outcome(false, "unknown verifier");
}

}  // namespace nmar::core
