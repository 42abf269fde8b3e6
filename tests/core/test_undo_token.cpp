// Adding UNDO to a checkpoint: one new row with the mean embedding, old logits untouched, saved
// self-describingly in the tokenizer files, idempotent, and clear errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "model/model_config.h"
#include "model/pretrained.h"
#include "model/undo_token.h"
#include "tokenizer/char_tokenizer.h"
#include "util/error.h"

namespace fs = std::filesystem;
using namespace nmar::core;

namespace {

fs::path tempDir(const std::string& tag) {
  const fs::path p = fs::temp_directory_path() / ("nmar-undo-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

Pretrained makeCheckpoint(const fs::path& dir, ModelFamily family, bool untied, int padRows = 0) {
  CharTokenizer tok(CharTokenizer::defaultAlphabet());
  ModelConfig c = ModelConfig::preset(family, "tiny", tok.vocabSize() + padRows);
  if (untied) c.tieWordEmbeddings = false;
  Transformer m(c);
  m->initWeights(11);
  savePretrained(dir, m, &tok);
  return loadPretrained(dir);
}

std::string embeddingName(const Pretrained& p) {
  return p.model->config().family == ModelFamily::Gpt2 ? "transformer.wte.weight"
                                                       : "model.embed_tokens.weight";
}

}  // namespace

TEST(UndoToken, AddsOneMeanRowAndKeepsOldLogits) {
  const fs::path dir = tempDir("grow");
  Pretrained p = makeCheckpoint(dir, ModelFamily::Llama, /*untied=*/true);
  const int64_t vocab = p.model->config().vocabSize;
  torch::NoGradGuard g;
  const auto ids = torch::tensor({3, 14, 15, 9, 2}, torch::kLong).unsqueeze(0);
  const at::Tensor before = p.model->forward(ids).logits.clone();
  const at::Tensor meanEmbedding = p.model->stateDict().at(embeddingName(p)).mean(0).clone();
  const at::Tensor meanHead = p.model->stateDict().at("lm_head.weight").mean(0).clone();

  const UndoTokenReport r = addUndoToken(p);
  EXPECT_TRUE(r.added);
  EXPECT_EQ(r.id, vocab);
  EXPECT_EQ(r.vocabBefore, vocab);
  EXPECT_EQ(r.vocabAfter, vocab + 1);
  const TensorMap w = p.model->stateDict();
  EXPECT_TRUE(torch::allclose(w.at(embeddingName(p))[r.id], meanEmbedding, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(w.at("lm_head.weight")[r.id], meanHead, 1e-6, 1e-6));
  const at::Tensor after = p.model->forward(ids).logits;
  ASSERT_EQ(after.size(-1), vocab + 1);
  EXPECT_TRUE(torch::allclose(after.narrow(-1, 0, vocab), before, 1e-5, 1e-5));

  // Idempotent.
  const UndoTokenReport again = addUndoToken(p);
  EXPECT_FALSE(again.added);
  EXPECT_EQ(again.id, r.id);
  EXPECT_EQ(p.model->config().vocabSize, vocab + 1);

  // Saved and reloaded: the tokenizer knows the token, the model has its row.
  const fs::path out = dir / "with-undo";
  savePretrained(out, p.model, p.tokenizer.get());
  Pretrained q = loadPretrained(out);
  EXPECT_EQ(undoTokenId(q).value_or(-1), r.id);
  EXPECT_EQ(q.model->config().vocabSize, vocab + 1);
  EXPECT_EQ(q.tokenizer->encode("1+1<|undo|>2"),
            (std::vector<int32_t>{*q.tokenizer->tokenId("1"), *q.tokenizer->tokenId("+"),
                                  *q.tokenizer->tokenId("1"), static_cast<int32_t>(r.id),
                                  *q.tokenizer->tokenId("2")}));
  fs::remove_all(dir);
}

TEST(UndoToken, PaddedVocabularyReusesTheRowAsMean) {
  const fs::path dir = tempDir("pad");
  Pretrained p = makeCheckpoint(dir, ModelFamily::Gpt2, false, /*padRows=*/3);
  const int64_t regular = p.tokenizer->vocabSize();
  const int64_t vocab = p.model->config().vocabSize;
  ASSERT_EQ(vocab, regular + 3);
  const at::Tensor mean =
      p.model->stateDict().at("transformer.wte.weight").narrow(0, 0, regular).mean(0).clone();
  const UndoTokenReport r = addUndoToken(p);
  EXPECT_EQ(r.id, regular);
  EXPECT_EQ(r.vocabAfter, vocab);  // no growth: the padded row is used
  EXPECT_TRUE(torch::allclose(p.model->stateDict().at("transformer.wte.weight")[r.id], mean,
                              1e-6, 1e-6));
  fs::remove_all(dir);
}

TEST(UndoToken, NoTokenizerIsAClearError) {
  const fs::path dir = tempDir("notok");
  Pretrained p = makeCheckpoint(dir, ModelFamily::Llama, false);
  p.tokenizer.reset();
  try {
    addUndoToken(p);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}
