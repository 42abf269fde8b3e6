#pragma once
/**
 * @file The verifier trigger of pruned decoding (issue 12): a scorer that reads the model's final
 * hidden state of a pushed token and says how likely that token is a deviation; when the score
 * exceeds tau the decoder forces an UNDO (or raises the UNDO logit). Torch header: not for viz/
 * or widgets/. The deviation detector of core/train implements TokenVerifier.
 */
#include <memory>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace nmar::core {

/** Scores one token from the model's final (normed) hidden state at its position. */
class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  /**
   * P(the token whose hidden state is @p hidden is a deviation), in [0, 1]. @p hidden is `[D]`
   * (any dtype, on the model's device). Called on the decoding thread under a NoGradGuard; must
   * not keep @p hidden. Throws Error when D does not match the verifier.
   */
  virtual double score(const at::Tensor& hidden) const = 0;
  /** The hidden size the verifier expects. */
  virtual std::int64_t hiddenSize() const = 0;
};

/** How a decode uses a TokenVerifier. Value type (the verifier is shared, never copied). */
struct VerifierSettings {
  std::shared_ptr<const TokenVerifier> verifier;  ///< null: no trigger, no scores
  double tau = 0.5;  ///< trigger when the last pushed token's score is > tau
  /**
   * Unset: the trigger forces an UNDO. Set: the trigger adds this amount to the UNDO logit for
   * the next sample instead (the model may still decline).
   */
  std::optional<double> bias;
  std::string name;  ///< where the verifier came from (a folder), for the trace's meta

  bool active() const { return verifier != nullptr; }
  /** {"source", "tau", "bias" (null: force)}; null when not active. */
  nlohmann::json toJson() const;
  /** tau in [0, 1], a finite bias. Throws Error "decode settings: field 'verifier.tau': ...". */
  void validate() const;
};

}  // namespace nmar::core
