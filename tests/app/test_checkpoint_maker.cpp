#include "test_checkpoint_maker.h"

#include <torch/torch.h>

#include <cmath>

#include "model/pretrained.h"
#include "model/undo_token.h"
#include "tokenizer/char_tokenizer.h"
#include "train/detector.h"

namespace nmar::testing {

std::string writeUndoCheckpoint(const std::string& dir) {
  try {
    core::Pretrained p;
    p.tokenizer = std::make_shared<core::CharTokenizer>("0123456789+= ");
    core::ModelConfig config =
        core::ModelConfig::preset(core::ModelFamily::Llama, "tiny", p.tokenizer->vocabSize());
    if (auto eos = p.tokenizer->eosId()) config.eosTokenIds = {*eos};
    p.model = core::Transformer(config);
    p.model->initWeights(4);
    p.model->eval();
    core::addUndoToken(p);
    core::savePretrained(dir, p.model, p.tokenizer.get());
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string writeDetector(const std::string& dir, const std::string& checkpointDir, double score,
                          double tau, int hiddenDelta) {
  try {
    const core::Pretrained p = core::loadPretrained(checkpointDir);
    core::DetectorConfig config;
    config.hiddenSize = p.model->config().hiddenSize + hiddenDelta;
    config.tau = tau;
    core::DetectorHead head(config, 1);
    torch::NoGradGuard noGrad;
    core::TensorMap tensors = head->stateDict();  // aliases of the parameters
    tensors.at("score.weight").zero_();
    tensors.at("score.bias").fill_(std::log(score / (1.0 - score)));
    core::saveDetector(dir, head);
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace nmar::testing
