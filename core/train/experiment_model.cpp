#include "train/experiment_model.h"

#include "model/undo_token.h"
#include "tokenizer/char_tokenizer.h"
#include "train/token_init.h"
#include "train/train_observer.h"
#include "util/device.h"
#include "util/error.h"

namespace nmar::core {

Pretrained buildExperimentModel(const ExperimentConfig& config, TrainObserver* observer) {
  const std::string where = config.source.string() + ": [model]";
  const c10::Device device = parseDevice(config.device);
  if (config.dtype == "bf16" && !device.is_cuda()) {
    throw Error(config.source.string() + ": [run].dtype: bf16 needs a CUDA device (device is " +
                config.device + ")");
  }
  Pretrained p;
  if (!config.model.checkpoint.empty()) {
    p = loadPretrained(config.model.checkpoint, device);
    if (!p.tokenizer) {
      throw Error(where + ".checkpoint: " + config.model.checkpoint.string() +
                  " has no tokenizer files");
    }
    if (!undoTokenId(p)) {
      TokenInitOptions init;
      init.strategy = parseTokenInitStrategy(config.model.undoInit);
      init.seed = config.seed;
      TokenInitReport report = initUndoToken(p, init, {});
      if (observer) {
        observer->onMessage("added " + std::string(kDefaultUndoToken) + " as id " +
                            std::to_string(report.id) + " (" + config.model.undoInit + " init)");
      }
    }
  } else {
    std::shared_ptr<Tokenizer> tok;
    if (config.model.tokenizer.empty()) {
      tok = std::make_shared<CharTokenizer>(CharTokenizer::defaultAlphabet());
    } else {
      try {
        tok = loadTokenizer(config.model.tokenizer);
      } catch (const Error& e) {
        throw Error(where + ".tokenizer: " + e.what());
      }
    }
    if (!tok->tokenId(kDefaultUndoToken)) tok->addSpecialToken(kDefaultUndoToken);
    ModelFamily family = config.model.family == "gpt2" ? ModelFamily::Gpt2 : ModelFamily::Llama;
    ModelConfig mc = ModelConfig::preset(family, config.model.preset, tok->vocabSize());
    if (!config.model.overrides.empty()) {
      nlohmann::json j = mc.toJson();
      j.merge_patch(config.model.overrides);
      mc = ModelConfig::fromJson(j, where + ".config");
    }
    p.model = Transformer(mc);
    p.model->initWeights(config.seed);
    p.model->to(device);
    p.tokenizer = tok;
  }
  return p;
}

Transformer frozenCopy(const Transformer& model) {
  Transformer copy(model->config());
  copy->to(model->device());
  copy->loadStateDict(model->stateDict(), "reference model");
  copy->eval();
  for (auto& param : copy->parameters()) param.set_requires_grad(false);
  return copy;
}

}  // namespace nmar::core
