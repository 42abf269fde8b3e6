#include "test_checkpoint_maker.h"

#include <torch/torch.h>

#include "model/pretrained.h"
#include "model/undo_token.h"
#include "tokenizer/char_tokenizer.h"

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

}  // namespace nmar::testing
