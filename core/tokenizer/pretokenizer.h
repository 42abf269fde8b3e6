#pragma once
/**
 * @file The Hugging Face `pre_tokenizer` stage of a tokenizer.json: regex/string splits (PCRE2 in
 * UTF mode, patterns taken verbatim from the file), ByteLevel, Metaspace, Digits, Whitespace, ...
 */
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace nmar::core {

class Regex;

/** GPT-2's split pattern, used by the ByteLevel pre-tokenizer when "use_regex" is true. */
inline constexpr const char* kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

/** How a Split keeps the delimiters it finds (the HF SplitDelimiterBehavior). */
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

/**
 * Splits normalised text into words before the model sees them. Built from tokenizer.json's
 * "pre_tokenizer" (null: the whole text is one word). Supported types: Sequence, Split, ByteLevel,
 * Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation. The byte-to-character mapping of
 * ByteLevel is not done here: byte-level models work on raw bytes. Immutable and thread-safe.
 */
class PreTokenizer {
 public:
  /** The no-op pre-tokenizer. */
  PreTokenizer() = default;

  /** Builds from @p j. Throws Error naming @p file and the field for unsupported/malformed steps.
   */
  static PreTokenizer fromJson(const nlohmann::json& j, const std::string& file,
                               const std::string& field = "pre_tokenizer");

  /**
   * Splits @p text (valid UTF-8, one piece between added tokens) into @p words (cleared first).
   * @p atInputStart says whether @p text starts at offset 0 of the encoded input (Metaspace's
   * prepend_scheme "first" depends on it). Empty words are never produced.
   */
  void split(std::string_view text, bool atInputStart, std::vector<std::string>& words) const;

  /** True when a step of @p type ("ByteLevel", "Metaspace", "Split", ...) is part of the chain. */
  bool has(const std::string& type) const;

 private:
  enum class StepKind { kSplit, kByteLevel, kMetaspace };
  struct Step {
    StepKind kind = StepKind::kSplit;
    std::shared_ptr<const Regex> regex;  // Split: the pattern (or null for a literal string)
    std::string literal;                 // Split: literal pattern; Metaspace: the replacement
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool prefix = false;     // ByteLevel: add_prefix_space
    bool splitWords = true;  // Metaspace: split
    std::string prepend;     // Metaspace: "always", "first" or "never"
    std::string origin;      // the HF type this step came from (for has())
  };
  void parse(const nlohmann::json& j, const std::string& file, const std::string& field);
  void addRegexSplit(const std::string& pattern, SplitBehavior behavior, bool invert,
                     const std::string& where, const std::string& origin);
  static void applySplit(const Step& step, const std::string& piece, std::vector<std::string>& out);

  std::vector<Step> m_steps;
};

}  // namespace nmar::core
