#pragma once
/**
 * @file Answer verifiers for JSONL datasets (and any example with a plain answer): exact match,
 * numeric match within a tolerance, and regular-expression full match. Torch-free.
 */
#include <memory>
#include <optional>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "data/example.h"

namespace nmar::core {

/** The three ways a plain answer can be checked. */
enum class VerifierKind {
  kExact,    ///< the output, trimmed, equals the expected text, trimmed
  kNumeric,  ///< the output, trimmed, is a number within the tolerance of the expected number
  kRegex,    ///< the output, trimmed, fully matches the expected ECMAScript regular expression
};

/** Longest regex pattern a verifier compiles (patterns come from datasets of other people). */
inline constexpr std::size_t kMaxRegexPatternBytes = 1024;
/** Deepest nesting of groups in a verifier's regex (std::regex compiles by recursion). */
inline constexpr int kMaxRegexGroupDepth = 32;
/** Largest repeat count {n,m} in a verifier's regex (std::regex copies the atom n times; counts
 * past 2^63 overflowed inside libstdc++). */
inline constexpr long kMaxRegexRepeat = 1000;
/** Largest product of all repeat counts of a verifier's regex (a bound on the atoms it copies). */
inline constexpr long kMaxRegexExpansion = 100'000;
/** Longest output a regex verifier matches. std::regex matches by recursion, several frames per
 *  character: (a|b)* on 4,096 characters overflowed an 8 MB stack under AddressSanitizer (larger
 *  frames), so the bound leaves a wide margin in every build. */
inline constexpr std::size_t kMaxRegexTextBytes = 1024;

/** "exact", "numeric", "regex". */
std::string verifierKindName(VerifierKind kind);

/**
 * Checks an output against an expected answer. The expected value is the verifier's own value
 * when it has one (fromJson with "value"), else the example's answer (or its completion when the
 * answer is empty). Outputs are compared with leading and trailing whitespace removed. Immutable
 * once built, so verify() may run on several threads at once.
 */
class Verifier {
 public:
  /** An exact verifier without a value of its own. */
  Verifier() = default;

  /** An exact verifier; with @p value set, that text is expected. */
  static Verifier exact(std::optional<std::string> value = std::nullopt);

  /**
   * A numeric verifier: accepts x when |x - v| <= max(@p absTolerance, @p relTolerance * |v|).
   * @p value, when set, must be a finite number (Error otherwise).
   */
  static Verifier numeric(double absTolerance = 1e-9, double relTolerance = 0.0,
                          std::optional<std::string> value = std::nullopt);

  /**
   * A regex verifier (std::regex, ECMAScript, full match). When @p pattern is set it is compiled
   * now; Error "<where>: invalid regex /p/: reason" when it does not compile, is longer than
   * kMaxRegexPatternBytes, nests groups deeper than kMaxRegexGroupDepth, repeats more than
   * kMaxRegexRepeat times or kMaxRegexExpansion times in all. An output longer than
   * kMaxRegexTextBytes is judged wrong without matching (std::regex matches by recursion: a
   * 100,000-character output exhausts the stack).
   */
  static Verifier regex(std::optional<std::string> pattern = std::nullopt,
                        const std::string& where = "regex verifier");

  /**
   * Reads a verifier: a string (exact, that value) or an object {"type": "exact" | "numeric" |
   * "regex", "value": string (a number too for numeric), "tolerance": number >= 0 (absolute) or
   * {"abs": number, "rel": number}}; "value" may be left out (the example's answer is used).
   * Errors read "<where>: field '<field>.type': ..." (or "<where>: field 'type'" when @p field is
   * empty) and name what was expected: an unknown type, a bad tolerance, a regex that does not
   * compile, an unknown field.
   */
  static Verifier fromJson(const nlohmann::json& json, const std::string& where,
                           const std::string& field = {});

  /** {"type": ...} plus "value" when set and "tolerance": {"abs", "rel"} for numeric. */
  nlohmann::json toJson() const;

  /** Exact, numeric or regex. */
  VerifierKind kind() const { return m_kind; }
  /** The verifier's own expected value, if any. */
  const std::optional<std::string>& value() const { return m_value; }
  /** The same verifier without a value of its own (it then checks each example's answer). */
  Verifier withoutValue() const;

  /**
   * Judges @p output for @p example. process is 1 when correct, else 0; no steps. detail:
   * "expected 579, got 578", "expected a number within 0.01 of 3.5, got abc", "expected a match
   * of /[0-9]+/, got x", or "ok: ..." when correct. Throws Error naming the example's source when
   * the expected value cannot be used (a regex that does not compile, a numeric answer that is
   * not a number).
   */
  Verdict verify(const Example& example, const std::string& output) const;

 private:
  VerifierKind m_kind = VerifierKind::kExact;
  double m_abs = 1e-9, m_rel = 0.0;
  std::optional<std::string> m_value;
  std::shared_ptr<const std::regex> m_compiled;  // for a regex with its own value
};

/** Parses all of @p text (trimmed) as a finite number; nullopt when it is not one. */
std::optional<double> parseNumber(std::string_view text);

}  // namespace nmar::core
