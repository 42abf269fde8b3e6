#pragma once
/** @file A compiled PCRE2 regular expression in UTF + Unicode-properties mode (the HF split
 * patterns). */
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nmar::core {

/**
 * A PCRE2 pattern compiled with UTF and UCP (so \s, \w, \p{L} are Unicode-aware) and JIT where
 * available. Immutable after construction; findAll() may be called from several threads at once.
 */
class Regex {
 public:
  /** Compiles @p pattern. Throws Error naming @p where, the offset and PCRE2's message when
   * invalid. */
  Regex(const std::string& pattern, const std::string& where);

  /**
   * Appends the [start, end) byte ranges of every non-overlapping match in @p text (valid UTF-8),
   * left to right, to @p out. Empty matches are reported too (they act as split points).
   */
  void findAll(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;

  /** The source pattern. */
  const std::string& pattern() const { return m_pattern; }

 private:
  std::string m_pattern;
  std::shared_ptr<void> m_code;  // pcre2_code_8, freed with pcre2_code_free_8
};

}  // namespace nmar::core
