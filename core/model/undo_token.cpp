#include "model/undo_token.h"

#include <torch/torch.h>

#include "util/error.h"
#include "util/log.h"

namespace nmar::core {

std::optional<std::int64_t> undoTokenId(const Pretrained& p, const std::string& content) {
  if (!p.tokenizer) return std::nullopt;
  if (auto id = p.tokenizer->tokenId(content)) return *id;
  return std::nullopt;
}

UndoTokenReport addUndoToken(Pretrained& p, const std::string& content) {
  if (!p.tokenizer)
    throw Error(p.dir.string() + ": the checkpoint has no tokenizer, so an UNDO token cannot be added");
  UndoTokenReport r;
  r.vocabBefore = p.model->config().vocabSize;
  if (auto existing = undoTokenId(p, content)) {
    r.id = *existing;
    r.vocabAfter = r.vocabBefore;
    if (r.id >= r.vocabBefore)
      throw Error(p.dir.string() + ": the tokenizer has '" + content + "' as id " +
                  std::to_string(r.id) + " but the model has only " +
                  std::to_string(r.vocabBefore) + " embedding rows");
    return r;
  }
  const std::int64_t regular = p.tokenizer->vocabSize();  // rows the mean is taken over
  r.id = p.tokenizer->addSpecialToken(content);
  r.added = true;
  torch::NoGradGuard noGrad;
  if (r.id >= r.vocabBefore) {
    p.model->resizeVocab(r.id + 1);  // new rows default to the mean of the existing rows
  } else {
    // Padded vocabulary: the row exists but was never trained; give it the mean of the real rows.
    const TensorMap weights = p.model->stateDict();  // shares memory with the parameters
    for (const auto& [name, w] : weights) {
      const bool isEmbedding = name.find("wte.weight") != std::string::npos ||
                               name.find("embed_tokens.weight") != std::string::npos ||
                               name == "lm_head.weight";
      if (!isEmbedding) continue;
      const at::Tensor mean = w.narrow(0, 0, regular).to(at::kFloat).mean(0);
      w[r.id].copy_(mean.to(w.scalar_type()));
    }
  }
  r.vocabAfter = p.model->config().vocabSize;
  logger("core.model")
      ->info("added UNDO token '{}' as id {} (vocabulary {} -> {}, mean initialisation)", content,
             r.id, r.vocabBefore, r.vocabAfter);
  return r;
}

}  // namespace nmar::core
