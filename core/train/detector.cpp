#include "train/detector.h"

#include <cmath>
#include <set>
#include <sstream>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "checkpoint/safetensors.h"
#include "util/error.h"
#include "util/json_file.h"

namespace nmar::core {
namespace {

std::string shapeText(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << ']';
  return out.str();
}

std::int64_t intField(const nlohmann::json& j, const char* key, const std::string& source,
                      bool required, std::int64_t fallback) {
  const auto it = j.find(key);
  if (it == j.end()) {
    if (required) throw Error(source + ": missing field '" + key + "'");
    return fallback;
  }
  if (!it->is_number_integer())
    throw Error(source + ": field '" + key + "': expected an integer, got " + it->type_name());
  return it->get<std::int64_t>();
}

}  // namespace

nlohmann::json DetectorConfig::toJson() const {
  return {{"model_type", kDetectorModelType}, {"hidden_size", hiddenSize},
          {"inner_size", innerSize},          {"activation", "gelu"},
          {"tau", tau},                       {"training", training}};
}

DetectorConfig DetectorConfig::fromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": expected a JSON object, got " + j.type_name());
  static const std::set<std::string> kKnown = {"model_type", "hidden_size", "inner_size",
                                               "activation", "tau",         "training"};
  for (const auto& [key, value] : j.items())
    if (kKnown.count(key) == 0) throw Error(source + ": unknown field '" + key + "'");
  const auto type = j.find("model_type");
  if (type == j.end()) throw Error(source + ": missing field 'model_type'");
  if (!type->is_string() || type->get<std::string>() != kDetectorModelType)
    throw Error(source + ": field 'model_type': expected \"" + kDetectorModelType + "\", got " +
                type->dump());
  DetectorConfig c;
  c.hiddenSize = intField(j, "hidden_size", source, true, 0);
  if (c.hiddenSize < 1 || c.hiddenSize > (1 << 20))
    throw Error(source + ": field 'hidden_size': " + std::to_string(c.hiddenSize) +
                " is outside [1, 1048576]");
  c.innerSize = intField(j, "inner_size", source, false, 0);
  if (c.innerSize < 0 || c.innerSize > (1 << 16))
    throw Error(source + ": field 'inner_size': " + std::to_string(c.innerSize) +
                " is outside [0, 65536] (0: linear)");
  if (const auto a = j.find("activation"); a != j.end() && *a != "gelu")
    throw Error(source + ": field 'activation': expected \"gelu\", got " + a->dump());
  if (const auto t = j.find("tau"); t != j.end()) {
    if (!t->is_number())
      throw Error(source + ": field 'tau': expected a number, got " + t->type_name());
    c.tau = t->get<double>();
    if (!(c.tau >= 0.0 && c.tau <= 1.0))
      throw Error(source + ": field 'tau': " + t->dump() + " is outside [0, 1]");
  }
  if (const auto t = j.find("training"); t != j.end()) {
    if (!t->is_object())
      throw Error(source + ": field 'training': expected an object, got " + t->type_name());
    c.training = *t;
  }
  return c;
}

DetectorHeadImpl::DetectorHeadImpl(DetectorConfig config, std::uint64_t seed)
    : m_config(std::move(config)) {
  const std::int64_t d = m_config.hiddenSize, h = m_config.innerSize;
  if (d < 1) throw Error("detector: hidden_size must be >= 1");
  if (h < 0) throw Error("detector: inner_size must be >= 0 (0: linear)");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const std::int64_t in = h > 0 ? h : d;
  if (h > 0) {
    m_fcWeight = register_parameter(
        "fc_weight", at::normal(0.0, 1.0 / std::sqrt(double(d)), {h, d}, gen, at::kFloat));
    m_fcBias = register_parameter("fc_bias", at::zeros({h}, at::kFloat));
  }
  m_scoreWeight = register_parameter(
      "score_weight", at::normal(0.0, 1.0 / std::sqrt(double(in)), {1, in}, gen, at::kFloat));
  m_scoreBias = register_parameter("score_bias", at::zeros({1}, at::kFloat));
}

at::Tensor DetectorHeadImpl::forward(const at::Tensor& hidden) {
  if (hidden.dim() < 1 || hidden.size(-1) != m_config.hiddenSize)
    throw Error("detector: hidden states of shape " + shapeText(hidden.sizes()) +
                ", expected a last dimension of " + std::to_string(m_config.hiddenSize));
  at::Tensor x = hidden.to(m_scoreWeight.device(), m_scoreWeight.scalar_type());
  if (m_fcWeight.defined()) x = at::gelu(at::linear(x, m_fcWeight, m_fcBias));
  return at::linear(x, m_scoreWeight, m_scoreBias).squeeze(-1);
}

TensorMap DetectorHeadImpl::stateDict() const {
  TensorMap out;
  if (m_fcWeight.defined()) {
    out["fc.weight"] = m_fcWeight.detach();
    out["fc.bias"] = m_fcBias.detach();
  }
  out["score.weight"] = m_scoreWeight.detach();
  out["score.bias"] = m_scoreBias.detach();
  return out;
}

void DetectorHeadImpl::loadStateDict(const TensorMap& tensors, const std::string& source) {
  const TensorMap mine = stateDict();
  for (const auto& [name, t] : tensors)
    if (mine.count(name) == 0)
      throw Error(source + ": unexpected tensor '" + name + "' (a " +
                  (m_fcWeight.defined() ? "2-layer MLP" : "linear") + " detector has " +
                  (m_fcWeight.defined() ? "fc.weight, fc.bias, " : "") +
                  "score.weight, score.bias)");
  for (const auto& [name, target] : mine) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(source + ": missing tensor '" + name + "'");
    const at::Tensor& t = it->second;
    if (!at::isFloatingType(t.scalar_type()))
      throw Error(source + ": tensor '" + name + "': dtype " +
                  std::string(c10::toString(t.scalar_type())) + " is not a floating type");
    if (!t.sizes().equals(target.sizes()))
      throw Error(source + ": tensor '" + name + "': shape " + shapeText(t.sizes()) +
                  ", expected " + shapeText(target.sizes()) + " (hidden_size " +
                  std::to_string(m_config.hiddenSize) + ", inner_size " +
                  std::to_string(m_config.innerSize) + ")");
    if (!at::isfinite(t).all().item<bool>())
      throw Error(source + ": tensor '" + name + "': holds NaN or infinite values");
  }
  torch::NoGradGuard noGrad;
  for (const auto& [name, target] : mine) target.copy_(tensors.at(name));
}

void saveDetector(const std::filesystem::path& dir, const DetectorHead& head) {
  std::filesystem::create_directories(dir);
  writeSafetensors(dir / kDetectorWeightsFile, head->stateDict(),
                   {{"format", "pt"}, {"model_type", kDetectorModelType}});
  writeJsonFile(dir / kDetectorConfigFile, head->config().toJson());
}

bool hasDetector(const std::filesystem::path& dir) {
  return std::filesystem::is_regular_file(dir / kDetectorWeightsFile) &&
         std::filesystem::is_regular_file(dir / kDetectorConfigFile);
}

DetectorHead loadDetector(const std::filesystem::path& dir,
                          std::optional<std::int64_t> modelHiddenSize) {
  const std::filesystem::path configFile = dir / kDetectorConfigFile;
  const std::filesystem::path weightsFile = dir / kDetectorWeightsFile;
  if (!std::filesystem::is_regular_file(configFile))
    throw Error(configFile.string() + ": no detector config (train one with `nmar detector " +
                "train`, or give the folder that holds detector_config.json)");
  if (!std::filesystem::is_regular_file(weightsFile))
    throw Error(weightsFile.string() + ": no detector weights beside " + kDetectorConfigFile);
  const DetectorConfig config =
      DetectorConfig::fromJson(readJsonFile(configFile), configFile.string());
  if (modelHiddenSize && *modelHiddenSize != config.hiddenSize)
    throw Error(configFile.string() + ": field 'hidden_size': " +
                std::to_string(config.hiddenSize) + " does not match the model's hidden size " +
                std::to_string(*modelHiddenSize));
  DetectorHead head(config);
  head->loadStateDict(readSafetensors(weightsFile), weightsFile.string());
  head->eval();
  return head;
}

double DetectorVerifier::score(const at::Tensor& hidden) const {
  torch::NoGradGuard noGrad;
  const double logit = m_head->forward(hidden.reshape({-1})).item<double>();
  return 1.0 / (1.0 + std::exp(-logit));
}

}  // namespace nmar::core
