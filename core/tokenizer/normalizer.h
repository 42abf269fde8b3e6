#pragma once
/** @file The Hugging Face `normalizer` stage of a tokenizer.json (NFC, Prepend, Replace, ...). */
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace nmar::core {

class Regex;

/**
 * A chain of text normalisers as described by tokenizer.json's "normalizer" field. Supported types:
 * Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace (String or Regex pattern), Strip.
 * Immutable after construction and safe to use from several threads.
 */
class Normalizer {
 public:
  /** The identity normaliser (a null "normalizer"). */
  Normalizer() = default;

  /**
   * Builds from the JSON value @p j (null gives the identity). Throws Error naming @p file and the
   * field (e.g. "normalizer.normalizers[1].type") for unsupported or malformed entries.
   */
  static Normalizer fromJson(const nlohmann::json& j, const std::string& file,
                             const std::string& field = "normalizer");

  /** Applies the chain to one piece of text (valid UTF-8) that lies between added tokens. */
  std::string apply(std::string_view text) const;

  /** True when apply() returns its input unchanged. */
  bool isIdentity() const { return m_steps.empty(); }

  /** True when the chain contains a step of @p type ("Prepend", "Replace", "NFC", ...). */
  bool has(const std::string& type) const;

 private:
  struct Step {
    std::string type;
    std::string a, b;                    // Prepend: a = text; Replace: a = pattern, b = content
    bool left = false, right = false;    // Strip
    std::shared_ptr<const Regex> regex;  // Replace with a Regex pattern
  };
  void parse(const nlohmann::json& j, const std::string& file, const std::string& field);

  std::vector<Step> m_steps;
};

}  // namespace nmar::core
