// Checkpoints written by the project load back bit-identically; broken folders are rejected clearly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "checkpoint/checkpoint.h"
#include "checkpoint/safetensors.h"
#include "model/model_config.h"
#include "model/pretrained.h"
#include "tokenizer/char_tokenizer.h"
#include "util/error.h"

namespace fs = std::filesystem;
using namespace nmar::core;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("nmar-pretrained-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

struct Variant {
  const char* name;
  ModelFamily family;
  bool qwen2;
  bool untied;
};

Transformer makeModel(const Variant& v, int vocab) {
  ModelConfig c = ModelConfig::preset(v.family, "tiny", vocab);
  if (v.qwen2) {
    c.modelType = "qwen2";
    c.attentionBias = true;
  }
  if (v.untied) c.tieWordEmbeddings = false;
  Transformer m(c);
  m->initWeights(7);
  return m;
}

void expectBitIdentical(const TensorMap& a, const TensorMap& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    const auto& u = b.at(name);
    ASSERT_EQ(t.sizes(), u.sizes()) << name;
    ASSERT_EQ(t.scalar_type(), u.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(t, u)) << name;
  }
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

class PretrainedRoundTrip : public ::testing::TestWithParam<Variant> {};

}  // namespace

TEST_P(PretrainedRoundTrip, LoadsBackBitIdenticalWithTokenizer) {
  TempDir tmp;
  CharTokenizer tok(CharTokenizer::defaultAlphabet());
  const int undo = tok.addSpecialToken("<|undo|>");
  Transformer m = makeModel(GetParam(), tok.vocabSize());
  savePretrained(tmp.path, m, &tok);
  ASSERT_TRUE(looksLikeCheckpoint(tmp.path));

  Pretrained p = loadPretrained(tmp.path);
  expectBitIdentical(m->stateDict(), p.model->stateDict());
  EXPECT_EQ(p.model->config().toJson(), m->config().toJson());
  ASSERT_TRUE(p.tokenizer);
  EXPECT_EQ(p.tokenizer->vocabSize(), tok.vocabSize());
  EXPECT_EQ(p.tokenizer->tokenId("<|undo|>").value_or(-1), undo);

  // The same logits from the original and the reloaded model.
  torch::NoGradGuard g;
  const auto ids = torch::tensor({1, 5, 9, 2, 7}, torch::kLong).unsqueeze(0);
  m->eval();
  EXPECT_TRUE(torch::equal(m->forward(ids).logits, p.model->forward(ids).logits));
}

TEST_P(PretrainedRoundTrip, ShardedCheckpointLoadsBack) {
  TempDir tmp;
  CharTokenizer tok(CharTokenizer::defaultAlphabet());
  Transformer m = makeModel(GetParam(), tok.vocabSize());
  savePretrained(tmp.path, m, &tok, /*maxShardBytes=*/64 * 1024);
  EXPECT_TRUE(fs::exists(tmp.path / "model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(tmp.path / "model.safetensors"));
  expectBitIdentical(m->stateDict(), loadPretrained(tmp.path).model->stateDict());
}

INSTANTIATE_TEST_SUITE_P(Families, PretrainedRoundTrip,
                         ::testing::Values(Variant{"gpt2", ModelFamily::Gpt2, false, false},
                                           Variant{"llama_untied", ModelFamily::Llama, false, true},
                                           Variant{"qwen2_tied", ModelFamily::Llama, true, false}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PretrainedErrors, MissingFolderAndConfig) {
  TempDir tmp;
  EXPECT_NE(errorOf([&] { loadPretrained(tmp.path / "nope"); }).find("nope"), std::string::npos);
  const std::string e = errorOf([&] { loadPretrained(tmp.path); });
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
}

TEST(PretrainedErrors, MalformedConfigNamesFile) {
  TempDir tmp;
  CharTokenizer tok(CharTokenizer::defaultAlphabet());
  Transformer m = makeModel({"llama", ModelFamily::Llama, false, false}, tok.vocabSize());
  savePretrained(tmp.path, m, &tok);
  std::ofstream(tmp.path / "config.json") << "{\"model_type\": \"llama\", \"hidden_size\": ";
  const std::string e = errorOf([&] { loadPretrained(tmp.path); });
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
}

TEST(PretrainedErrors, MissingTensorIsNamed) {
  TempDir tmp;
  CharTokenizer tok(CharTokenizer::defaultAlphabet());
  Transformer m = makeModel({"llama", ModelFamily::Llama, false, false}, tok.vocabSize());
  savePretrained(tmp.path, m, &tok);
  TensorMap w = readSafetensors(tmp.path / "model.safetensors");
  w.erase("model.layers.1.mlp.up_proj.weight");
  writeSafetensors(tmp.path / "model.safetensors", w);
  const std::string e = errorOf([&] { loadPretrained(tmp.path); });
  EXPECT_NE(e.find("model.layers.1.mlp.up_proj.weight"), std::string::npos) << e;
}

TEST(PretrainedErrors, WrongShapeIsNamed) {
  TempDir tmp;
  CharTokenizer tok(CharTokenizer::defaultAlphabet());
  Transformer m = makeModel({"gpt2", ModelFamily::Gpt2, false, false}, tok.vocabSize());
  savePretrained(tmp.path, m, &tok);
  TensorMap w = readSafetensors(tmp.path / "model.safetensors");
  w["transformer.h.0.attn.c_attn.weight"] = torch::zeros({3, 3});
  writeSafetensors(tmp.path / "model.safetensors", w);
  const std::string e = errorOf([&] { loadPretrained(tmp.path); });
  EXPECT_NE(e.find("transformer.h.0.attn.c_attn.weight"), std::string::npos) << e;
}

TEST(PretrainedErrors, TokenizerLargerThanEmbeddingIsRejected) {
  TempDir tmp;
  CharTokenizer small("ab");
  Transformer m = makeModel({"llama", ModelFamily::Llama, false, false}, small.vocabSize());
  CharTokenizer big(CharTokenizer::defaultAlphabet());
  savePretrained(tmp.path, m, &big);
  const std::string e = errorOf([&] { loadPretrained(tmp.path); });
  EXPECT_NE(e.find("vocab_size"), std::string::npos) << e;
}

TEST(PretrainedErrors, ExistingCheckpointSurvivesAFailedSave) {
  TempDir tmp;
  CharTokenizer tok(CharTokenizer::defaultAlphabet());
  Transformer m = makeModel({"llama", ModelFamily::Llama, false, false}, tok.vocabSize());
  savePretrained(tmp.path, m, &tok);
  const TensorMap before = readSafetensors(tmp.path / "model.safetensors");
  // A save into a path that is a file (not a folder) fails; the earlier checkpoint is untouched.
  std::ofstream(tmp.path / "blocker") << "x";
  EXPECT_THROW(savePretrained(tmp.path / "blocker" / "sub", m, &tok), Error);
  expectBitIdentical(before, readSafetensors(tmp.path / "model.safetensors"));
}
