#pragma once
// Shared helpers for the pruned-decoder tests: tiny random models with an UNDO id taken from the
// vocabulary, settings that make UNDO frequent, and a runner that drives a decoder to the end.
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "decode/pruned_decoder.h"
#include "model/model_config.h"
#include "model/transformer.h"
#include "util/error.h"
#include "test_common.h"  // errorOf, TempDir

namespace nmar::core::testing {

constexpr std::int64_t kVocab = 48;
constexpr std::int64_t kUndo = 7;  // an ordinary id of the vocabulary serves as UNDO
constexpr std::int64_t kEos = 2;

/** One architecture the data-driven tests run over. */
struct DecodeModelCase {
  std::string name;
  ModelConfig config;
};

/** GPT-2 tiny (learned positions, tied) and Llama tiny with GQA (4 heads, 2 kv) and an untied
 *  head. initializer_range is raised so that attention and logits are far from uniform: a wrong
 *  mask or position id moves the logits by much more than the 1e-4 parity tolerance. */
inline std::vector<DecodeModelCase> decodeModelCases() {
  ModelConfig gpt2 = ModelConfig::preset(ModelFamily::Gpt2, "tiny", kVocab);
  gpt2.initializerRange = 0.2;
  ModelConfig llama = ModelConfig::preset(ModelFamily::Llama, "tiny", kVocab);
  llama.numHeads = 4;
  llama.numKvHeads = 2;
  llama.tieWordEmbeddings = false;
  llama.initializerRange = 0.2;
  return {{"gpt2", gpt2}, {"llama_gqa_untied", llama}};
}

inline void PrintTo(const DecodeModelCase& c, std::ostream* os) { *os << c.name; }

inline std::string decodeCaseName(const ::testing::TestParamInfo<DecodeModelCase>& info) {
  return info.param.name;
}

/** The model of @p config with HF-style init from @p seed, in eval mode. */
inline Transformer makeDecodeModel(const ModelConfig& config, uint64_t seed = 1) {
  Transformer model(config);
  model->initWeights(seed);
  model->eval();
  return model;
}

/** Settings with UNDO = kUndo, EOS = kEos, @p steps new tokens and @p undoBias on UNDO. */
inline DecodeSettings undoSettings(TraceMode mode, int steps, double undoBias,
                                   std::uint64_t seed = 0) {
  DecodeSettings s;
  s.mode = mode;
  s.undoId = kUndo;
  s.eosId = kEos;
  s.sampler.maxNewTokens = steps;
  s.sampler.undoLogitBias = undoBias;
  s.sampler.stopAtEos = false;
  s.sampler.seed = seed;
  s.modelName = "tiny-test";
  s.tokenizerName = "none";
  return s;
}

inline const std::vector<std::int64_t>& testPrompt() {
  static const std::vector<std::int64_t> prompt{1, 11, 23, 5};
  return prompt;
}

/** Runs @p decoder from start to the end, calling @p afterStep after every step. */
inline void runToEnd(PrunedDecoder& decoder, const std::vector<std::int64_t>& prompt,
                     const std::function<void(const PrunedDecoder&)>& afterStep = {}) {
  decoder.start(prompt);
  while (!decoder.done()) {
    decoder.step();
    if (afterStep) afterStep(decoder);
  }
}

/** Number of pop steps of @p trace and its longest run of consecutive pops. */
inline std::pair<int, int> popStats(const Trace& trace) {
  int pops = 0, run = 0, longest = 0;
  for (const TraceStep& s : trace.steps) {
    if (s.kind == StepKind::kPop) {
      ++pops;
      longest = std::max(longest, ++run);
    } else {
      run = 0;
    }
  }
  return {pops, longest};
}

}  // namespace nmar::core::testing
