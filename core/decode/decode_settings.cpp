// DecodeSettings validation, stop reason names and the decode() convenience loop.
#include <string>

#include "decode/pruned_decoder.h"
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
