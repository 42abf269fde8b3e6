#pragma once
/**
 * @file The deviation detector (issue 12): a small head on a frozen model's final hidden states
 * that gives, for each position, the probability that the token there is a deviation (will be
 * undone, or is wrong against the gold output). A linear layer or a 2-layer MLP (GELU). Saved
 * beside a checkpoint in the Hugging Face layout: `detector.safetensors` + `detector_config.json`.
 * Torch header: not for viz/ or widgets/.
 *
 * detector_config.json: {"model_type": "nmar_deviation_detector", "hidden_size": D,
 * "inner_size": H (0: linear), "activation": "gelu", "tau": t, "training": {...}}.
 * detector.safetensors: linear: "score.weight" [1, D], "score.bias" [1]; MLP: "fc.weight" [H, D],
 * "fc.bias" [H], "score.weight" [1, H], "score.bias" [1].
 */
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "decode/token_verifier.h"
#include "util/tensor_map.h"

namespace nmar::core {

inline constexpr const char* kDetectorWeightsFile = "detector.safetensors";
inline constexpr const char* kDetectorConfigFile = "detector_config.json";
inline constexpr const char* kDetectorModelType = "nmar_deviation_detector";

/** The shape of a detector and what it was trained on. Value type. */
struct DetectorConfig {
  std::int64_t hiddenSize = 0;  ///< D of the model it reads
  std::int64_t innerSize = 0;   ///< 0: linear head; > 0: MLP with this many hidden units
  double tau = 0.5;             ///< the default trigger threshold
  nlohmann::json training = nlohmann::json::object();  ///< free-form: task, steps, seed, metrics

  /** The detector_config.json object (see the file comment). */
  nlohmann::json toJson() const;
  /**
   * Reads @p j; throws Error "<source>: field 'hidden_size': ..." for a missing or ill-typed
   * field, a model_type other than kDetectorModelType, hidden_size < 1, inner_size < 0, an
   * activation other than "gelu", tau outside [0, 1] or unknown keys.
   */
  static DetectorConfig fromJson(const nlohmann::json& j, const std::string& source);
};

/**
 * The head. forward() maps hidden states `[..., D]` to logits `[...]` (sigmoid: the probability of
 * a deviation). Parameters are fp32 on the CPU until moved. Not thread-safe.
 */
class DetectorHeadImpl : public torch::nn::Module {
 public:
  /** Builds the head of @p config (throws Error for hiddenSize < 1 or innerSize < 0) and
   * initialises it from @p seed (normal(0, 1/sqrt(fan_in)) weights, zero biases). */
  explicit DetectorHeadImpl(DetectorConfig config, std::uint64_t seed = 0);

  /** Logits `[...]` for hidden states `[..., D]` (converted to the head's dtype and device).
   * Throws Error when the last dimension is not D. */
  at::Tensor forward(const at::Tensor& hidden);

  /** The tensors under their file names (aliases of the parameters, detached). */
  TensorMap stateDict() const;

  /** Strictly loads @p tensors: Error "<source>: tensor 'x': ..." for a missing, unexpected,
   * wrongly shaped or non-floating tensor. Nothing is modified when it throws. */
  void loadStateDict(const TensorMap& tensors, const std::string& source);

  const DetectorConfig& config() const { return m_config; }
  DetectorConfig& config() { return m_config; }

 private:
  DetectorConfig m_config;
  at::Tensor m_fcWeight, m_fcBias, m_scoreWeight, m_scoreBias;
};
TORCH_MODULE(DetectorHead);

/** Writes detector.safetensors and detector_config.json into @p dir (created; atomic files). */
void saveDetector(const std::filesystem::path& dir, const DetectorHead& head);

/** True when @p dir holds both detector files. */
bool hasDetector(const std::filesystem::path& dir);

/**
 * Loads the detector of @p dir. With @p modelHiddenSize, the config's hidden_size must equal it
 * (Error "<dir>/detector_config.json: field 'hidden_size': 64 does not match the model's hidden
 * size 128"). Throws Error naming the file for a missing file, bad JSON, a bad field (see
 * DetectorConfig::fromJson) or a bad tensor (see loadStateDict). The head is in eval mode.
 */
DetectorHead loadDetector(const std::filesystem::path& dir,
                          std::optional<std::int64_t> modelHiddenSize = std::nullopt);

/** A DetectorHead as the decoder's TokenVerifier: sigmoid(head(hidden)). Shares the head. */
class DetectorVerifier : public TokenVerifier {
 public:
  explicit DetectorVerifier(DetectorHead head) : m_head(std::move(head)) {}
  double score(const at::Tensor& hidden) const override;
  std::int64_t hiddenSize() const override { return m_head->config().hiddenSize; }

 private:
  mutable DetectorHead m_head;  // forward() is non-const; scoring does not change the head
};

}  // namespace nmar::core
