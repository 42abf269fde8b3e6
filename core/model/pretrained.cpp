#include "model/pretrained.h"

#include <torch/torch.h>

#include "checkpoint/checkpoint.h"
#include "util/json_file.h"
#include "model/model_config.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace fs = std::filesystem;

namespace {
bool hasTokenizerFiles(const fs::path& dir) {
  for (const char* name : {"tokenizer.json", "vocab.json", "encoder.json", "tokenizer.model"})
    if (fs::exists(dir / name)) return true;
  return false;
}
}  // namespace

bool looksLikeCheckpoint(const fs::path& dir) {
  return fs::is_directory(dir) && fs::exists(dir / "config.json") &&
         (fs::exists(dir / "model.safetensors") || fs::exists(dir / "model.safetensors.index.json"));
}

Pretrained loadPretrained(const fs::path& dir, c10::Device device, c10::ScalarType dtype) {
  if (!fs::is_directory(dir))
    throw Error(dir.string() + ": not a checkpoint folder (expected a directory with config.json)");
  const fs::path configFile = dir / "config.json";
  const ModelConfig config = ModelConfig::fromJson(readJsonFile(configFile), configFile.string());

  Pretrained p;
  p.dir = dir;
  p.model = Transformer(config);
  {
    torch::NoGradGuard noGrad;
    const TensorMap weights = readCheckpointWeights(dir);
    p.model->loadStateDict(weights, dir.string());
  }
  p.model->to(device, dtype);
  p.model->eval();

  if (hasTokenizerFiles(dir)) {
    p.tokenizer = loadTokenizer(dir);
    if (p.tokenizer->vocabSize() > config.vocabSize)
      throw Error(dir.string() + ": the tokenizer has " + std::to_string(p.tokenizer->vocabSize()) +
                  " tokens but config.json vocab_size is " + std::to_string(config.vocabSize));
  }
  logger("core.model")
      ->info("loaded {} ({}, {} parameters) on {}", dir.string(), config.modelType,
             p.model->parameterCount(), device.str());
  return p;
}

void savePretrained(const fs::path& dir, const Transformer& model, const Tokenizer* tokenizer,
                    std::uint64_t maxShardBytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create folder: " + ec.message());
  writeCheckpointWeights(dir, model->stateDict(), maxShardBytes);
  writeJsonFile(dir / "config.json", model->config().toJson());
  if (tokenizer) tokenizer->save(dir);
  logger("core.model")->info("saved checkpoint to {}", dir.string());
}

}  // namespace nmar::core
