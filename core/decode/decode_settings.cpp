// DecodeSettings validation, stop reason names, the trace header and texts shared by the decoders,
// and the decode() convenience loop.
#include <cmath>
#include <string>

#include "decode/pruned_decoder.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace nmar::core {

std::string stopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kNone:
      return "running";
    case StopReason::kEos:
      return "eos";
    case StopReason::kMaxNewTokens:
      return "max_new_tokens";
    case StopReason::kMaxPositions:
      return "max_positions";
    case StopReason::kCancelled:
      return "cancelled";
  }
  return "running";
}

void DecodeSettings::validate(std::int64_t vocabSize) const {
  sampler.validate();
  const std::string range = " is outside the vocabulary [0, " + std::to_string(vocabSize) + ")";
  if (undoId < -1 || undoId >= vocabSize)
    throw Error("decode settings: undo_id " + std::to_string(undoId) + range + " (-1: none)");
  if (eosId < -1 || eosId >= vocabSize)
    throw Error("decode settings: eos_id " + std::to_string(eosId) + range + " (-1: none)");
  if (undoId >= 0 && undoId == eosId)
    throw Error("decode settings: undo_id and eos_id are both " + std::to_string(undoId) +
                " (expected two different tokens)");
  if (deviationTopK < 1)
    throw Error("decode settings: deviation_top_k " + std::to_string(deviationTopK) +
                " must be >= 1");
  validateForcedDeviations(forced, sampler.maxNewTokens, vocabSize, undoId);
  verifier.validate();
}

nlohmann::json VerifierSettings::toJson() const {
  if (!active()) return nullptr;
  return {{"source", name},
          {"tau", tau},
          {"bias", bias ? nlohmann::json(*bias) : nlohmann::json()},
          {"hidden_size", verifier->hiddenSize()}};
}

void VerifierSettings::validate() const {
  if (!(tau >= 0.0 && tau <= 1.0))
    throw Error("decode settings: field 'verifier.tau': " + std::to_string(tau) +
                " is outside [0, 1]");
  if (bias && !std::isfinite(*bias))
    throw Error("decode settings: field 'verifier.bias': expected a finite number");
}

void validateDecodePrompt(const ModelConfig& config, const std::vector<std::int64_t>& promptIds) {
  const auto m = static_cast<std::int64_t>(promptIds.size());
  if (m == 0) throw Error("decode: the prompt is empty (expected at least one token, e.g. BOS)");
  for (std::size_t i = 0; i < promptIds.size(); ++i)
    if (promptIds[i] < 0 || promptIds[i] >= config.vocabSize)
      throw Error("decode: prompt token " + std::to_string(i) + " (id " +
                  std::to_string(promptIds[i]) + ") is outside the vocabulary [0, " +
                  std::to_string(config.vocabSize) + ")");
  if (config.family == ModelFamily::Gpt2 && m >= config.maxPositions)
    throw Error("decode: a prompt of " + std::to_string(m) + " tokens leaves no position for " +
                "decoding (n_positions = " + std::to_string(config.maxPositions) + ")");
}

StopReason decodeStopReason(const DecodeSettings& settings, const ModelConfig& config,
                            const std::vector<TraceStep>& steps, std::int64_t nextPosition) {
  if (settings.sampler.stopAtEos && settings.eosId >= 0 && !steps.empty() &&
      steps.back().kind == StepKind::kPush && steps.back().token == settings.eosId)
    return StopReason::kEos;
  if (static_cast<int>(steps.size()) >= settings.sampler.maxNewTokens)
    return StopReason::kMaxNewTokens;
  // A resample pop feeds nothing, but every other step needs the next position.
  if (config.family == ModelFamily::Gpt2 && nextPosition >= config.maxPositions)
    return StopReason::kMaxPositions;
  return StopReason::kNone;
}

Trace newDecodeTrace(const DecodeSettings& settings, std::int64_t vocabSize,
                     const std::vector<std::int64_t>& promptIds, const std::string& promptText) {
  Trace t;
  t.model = settings.modelName;
  t.tokenizer = settings.tokenizerName;
  t.mode = settings.mode;
  t.sampler = settings.sampler.toJson();
  t.seed = settings.sampler.seed;
  t.promptIds = promptIds;
  t.promptText = promptText;
  t.undoId = settings.undoId >= 0 ? settings.undoId : vocabSize;
  t.eosId = settings.eosId;
  nlohmann::json forced = nlohmann::json::array();
  for (const ForcedDeviation& f : settings.forced)
    forced.push_back({{"step", f.step},
                      {"token", f.token == kRandomDeviation ? nlohmann::json("random")
                                                            : nlohmann::json(f.token)}});
  t.meta = {{"stop_reason", stopReasonName(StopReason::kNone)},
            {"forced_deviations", forced},
            {"deviation_top_k", settings.deviationTopK}};
  if (settings.undoId < 0) t.meta["undo_token"] = "none";
  if (settings.verifier.active()) t.meta["verifier"] = settings.verifier.toJson();
  return t;
}

std::string decodeTokenText(const Tokenizer* tokenizer, std::int64_t id) {
  if (tokenizer == nullptr) return "";
  try {
    return tokenizer->tokenText(static_cast<int32_t>(id));
  } catch (const Error&) {
    return "<id " + std::to_string(id) + ">";  // a model vocabulary larger than the tokenizer's
  }
}

std::string decodeOutputText(const Tokenizer* tokenizer, const std::vector<std::int64_t>& ids) {
  if (tokenizer == nullptr) return "";
  std::vector<int32_t> ids32(ids.begin(), ids.end());
  try {
    return tokenizer->decode(ids32);
  } catch (const Error&) {  // ids beyond the tokenizer: show them piece by piece
    std::string text;
    for (std::int64_t id : ids) text += decodeTokenText(tokenizer, id);
    return text;
  }
}

Trace decode(Transformer model, const std::vector<std::int64_t>& promptIds,
             const DecodeSettings& settings, DecodeEventSink* sink, const std::atomic<bool>* cancel,
             const Tokenizer* tokenizer, const std::string& promptText) {
  PrunedDecoder decoder(std::move(model), settings, tokenizer);
  decoder.setSink(sink);
  decoder.start(promptIds, promptText);
  while (!decoder.done()) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      decoder.stop(StopReason::kCancelled);
      break;
    }
    decoder.step();
  }
  return decoder.trace();
}

}  // namespace nmar::core
