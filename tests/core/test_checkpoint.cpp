// Hugging Face checkpoint weights: model.safetensors, or shards + model.safetensors.index.json.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "checkpoint/safetensors.h"
#include "checkpoint/shard_index.h"
#include "util/error.h"

using namespace nmar::core;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_root = fs::temp_directory_path() /
             ("nmar_ckpt_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(m_root);
    fs::create_directories(m_root);
    m_dir = m_root;
    at::manual_seed(42);
  }
  void TearDown() override { fs::remove_all(m_root); }

  std::set<std::string> files() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(m_dir)) names.insert(e.path().filename());
    return names;
  }

  /** readCheckpointWeights must fail with a message holding every one of @p parts. */
  void expectReadError(std::initializer_list<std::string> parts) {
    try {
      readCheckpointWeights(m_dir);
      ADD_FAILURE() << "expected an Error";
    } catch (const Error& e) {
      const std::string m = e.what();
      for (const std::string& p : parts)
        EXPECT_NE(m.find(p), std::string::npos) << "message: " << m << "\nlacks: " << p;
    }
  }

  void writeText(const std::string& name, const std::string& text) {
    std::ofstream(m_dir / name, std::ios::binary) << text;
  }

  fs::path m_root;  // removed after the test
  fs::path m_dir;   // the checkpoint folder, m_root or below it
};

/** A small model-like state dict: 7 tensors, 1,776 bytes. */
TensorMap sampleWeights(float scale = 1.0f) {
  TensorMap t;
  t["model.embed_tokens.weight"] = at::randn({16, 8}) * scale;               // 512 bytes
  t["model.layers.0.attn.q_proj.weight"] = at::randn({8, 8}) * scale;        // 256
  t["model.layers.0.attn.k_proj.weight"] = at::randn({8, 8}) * scale;        // 256
  t["model.layers.0.mlp.up.weight"] = at::randn({12, 8}).to(at::kBFloat16);  // 192
  t["model.layers.0.norm.weight"] = at::ones({8}) * scale;                   // 32
  t["model.norm.weight"] = at::ones({8}, at::kHalf);                         // 16
  t["lm_head.weight"] = at::randn({16, 8}) * scale;                          // 512
  return t;
}

std::uint64_t totalBytes(const TensorMap& t) {
  std::uint64_t n = 0;
  for (const auto& [name, x] : t) n += safetensorsByteSize(x);
  return n;
}

void expectSameWeights(const TensorMap& expected, const TensorMap& actual) {
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [name, t] : expected) {
    ASSERT_TRUE(actual.count(name)) << name;
    EXPECT_EQ(actual.at(name).scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(at::equal(actual.at(name), t)) << name;
  }
}

json readJson(const fs::path& file) {
  std::ifstream in(file);
  return json::parse(in);
}

}  // namespace

TEST_F(CheckpointTest, SingleFileRoundTrip) {
  const TensorMap weights = sampleWeights();
  writeCheckpointWeights(m_dir, weights);
  EXPECT_EQ(files(), std::set<std::string>{"model.safetensors"});
  std::map<std::string, std::string> metadata;
  readSafetensors(m_dir / "model.safetensors", &metadata);
  EXPECT_EQ(metadata.at("format"), "pt") << "transformers checks this";
  expectSameWeights(weights, readCheckpointWeights(m_dir));

  // A limit that everything fits in also gives one file.
  writeCheckpointWeights(m_dir, weights, totalBytes(weights));
  EXPECT_EQ(files(), std::set<std::string>{"model.safetensors"});
}

TEST_F(CheckpointTest, ShardedRoundTrip) {
  const TensorMap weights = sampleWeights();
  ASSERT_EQ(totalBytes(weights), 1776u);
  writeCheckpointWeights(m_dir, weights, 600);
  // Name order, greedy: lm_head(512) | embed(512) | k(256) q(256) | up(192) norm0(32) norm(16)
  const json index = readJson(m_dir / "model.safetensors.index.json");
  EXPECT_EQ(index["metadata"]["total_size"], 1776);
  const json& map = index["weight_map"];
  ASSERT_EQ(map.size(), weights.size());
  std::set<std::string> shards;
  for (const auto& item : map.items()) shards.insert(item.value().get<std::string>());
  EXPECT_EQ(shards, (std::set<std::string>{
                        "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                        "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors"}));
  EXPECT_EQ(map["lm_head.weight"], "model-00001-of-00004.safetensors");
  EXPECT_EQ(map["model.embed_tokens.weight"], "model-00002-of-00004.safetensors");
  EXPECT_EQ(map["model.norm.weight"], "model-00004-of-00004.safetensors");
  std::set<std::string> expectedFiles = shards;
  expectedFiles.insert("model.safetensors.index.json");
  EXPECT_EQ(files(), expectedFiles) << "no temporary or single file left";
  for (const std::string& shard : shards) {
    std::uint64_t bytes = 0;
    for (const auto& e : readSafetensorsHeader(m_dir / shard).entries) bytes += e.end - e.begin;
    EXPECT_LE(bytes, 600u) << shard;
  }
  expectSameWeights(weights, readCheckpointWeights(m_dir));
}

TEST_F(CheckpointTest, TensorLargerThanTheLimitGetsItsOwnShard) {
  TensorMap weights;
  weights["a"] = at::ones({4});
  weights["big"] = at::ones({100});
  weights["c"] = at::ones({4});
  writeCheckpointWeights(m_dir, weights, 64);
  const json map = readJson(m_dir / "model.safetensors.index.json")["weight_map"];
  EXPECT_EQ(map["a"], "model-00001-of-00003.safetensors");
  EXPECT_EQ(map["big"], "model-00002-of-00003.safetensors");
  EXPECT_EQ(map["c"], "model-00003-of-00003.safetensors");
  expectSameWeights(weights, readCheckpointWeights(m_dir));
}

TEST_F(CheckpointTest, ResavingReplacesShardsAndRemovesStaleFiles) {
  writeText("config.json", "{}");
  writeText("notes.safetensors", "not ours");
  writeCheckpointWeights(m_dir, sampleWeights(), 600);  // 4 shards
  const TensorMap second = sampleWeights(2.0f);
  writeCheckpointWeights(m_dir, second, 600);  // same names, new data
  expectSameWeights(second, readCheckpointWeights(m_dir));
  EXPECT_EQ(files().size(), 7u);

  const TensorMap third = sampleWeights(3.0f);
  writeCheckpointWeights(m_dir, third, 1100);  // fewer shards: the old four must go
  EXPECT_EQ(files(), (std::set<std::string>{
                         "config.json", "notes.safetensors", "model-00001-of-00002.safetensors",
                         "model-00002-of-00002.safetensors", "model.safetensors.index.json"}));
  expectSameWeights(third, readCheckpointWeights(m_dir));

  writeCheckpointWeights(m_dir, second);  // back to one file: index and shards go
  EXPECT_EQ(files(),
            (std::set<std::string>{"config.json", "notes.safetensors", "model.safetensors"}));
  expectSameWeights(second, readCheckpointWeights(m_dir));

  writeCheckpointWeights(m_dir, third, 600);  // and sharded again: the single file goes
  EXPECT_FALSE(fs::exists(m_dir / "model.safetensors"));
  expectSameWeights(third, readCheckpointWeights(m_dir));
}

TEST_F(CheckpointTest, ResavingRemovesShardsNamedByTheOldIndex) {
  const TensorMap weights = sampleWeights();
  writeSafetensors(m_dir / "custom-a.safetensors",
                   {{"lm_head.weight", weights.at("lm_head.weight")}});
  writeText("model.safetensors.index.json",
            R"({"weight_map": {"lm_head.weight": "custom-a.safetensors"}})");
  writeCheckpointWeights(m_dir, weights, 600);
  EXPECT_FALSE(fs::exists(m_dir / "custom-a.safetensors"));
  expectSameWeights(weights, readCheckpointWeights(m_dir));
}

TEST_F(CheckpointTest, FailedSaveKeepsThePreviousCheckpoint) {
  const TensorMap weights = sampleWeights();
  writeCheckpointWeights(m_dir, weights, 600);
  const std::set<std::string> before = files();
  TensorMap bad = sampleWeights(5.0f);
  bad["zz.complex"] = at::ones({2}, at::kComplexFloat);
  try {
    writeCheckpointWeights(m_dir, bad, 600);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'zz.complex'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(files(), before);
  expectSameWeights(weights, readCheckpointWeights(m_dir));
}

TEST_F(CheckpointTest, CreatesTheFolder) {
  m_dir /= "nested/deeper";
  writeCheckpointWeights(m_dir, sampleWeights(), 600);
  EXPECT_TRUE(fs::exists(m_dir / "model.safetensors.index.json"));
}

TEST_F(CheckpointTest, PrefersTheSingleFileWhenBothExist) {
  const TensorMap sharded = sampleWeights();
  writeCheckpointWeights(m_dir, sharded, 600);
  const TensorMap single = {{"only", at::ones({3})}};
  writeSafetensors(m_dir / "model.safetensors", single);
  expectSameWeights(single, readCheckpointWeights(m_dir));
}

TEST_F(CheckpointTest, ReadsShardsWithAnyPlainFileName) {
  writeSafetensors(m_dir / "part-a.safetensors", {{"x", at::ones({2})}});
  writeSafetensors(m_dir / "part-b.safetensors", {{"y", at::zeros({3}, at::kLong)}});
  writeText("model.safetensors.index.json",
            R"({"metadata": {"total_size": 32},
                "weight_map": {"x": "part-a.safetensors", "y": "part-b.safetensors"}})");
  const TensorMap t = readCheckpointWeights(m_dir);
  EXPECT_TRUE(at::equal(t.at("x"), at::ones({2})));
  EXPECT_TRUE(at::equal(t.at("y"), at::zeros({3}, at::kLong)));
}

TEST_F(CheckpointTest, FolderWithoutWeights) {
  expectReadError({m_dir.string(), "has no weights", "model.safetensors.index.json"});
  writeText("pytorch_model.bin", "pickle");
  expectReadError({"pickle weights are not supported"});
  m_dir /= "missing";
  expectReadError({m_dir.string(), "does not exist"});
}

TEST_F(CheckpointTest, IndexIsNotJson) {
  writeText("model.safetensors.index.json",
            "{\n  \"weight_map\": {\n    \"x\": part.safetensors\n");
  expectReadError({"model.safetensors.index.json", "invalid JSON at line 3"});
}

TEST_F(CheckpointTest, IndexIsNotAnObject) {
  writeText("model.safetensors.index.json", "[\"model-00001-of-00001.safetensors\"]");
  expectReadError({"model.safetensors.index.json", "must be a JSON object, got array"});
}

TEST_F(CheckpointTest, IndexWithoutWeightMap) {
  writeText("model.safetensors.index.json", R"({"metadata": {"total_size": 4}})");
  expectReadError({"model.safetensors.index.json", "missing field 'weight_map'"});
}

TEST_F(CheckpointTest, IndexWithEmptyWeightMap) {
  writeText("model.safetensors.index.json", R"({"weight_map": {}})");
  expectReadError({"model.safetensors.index.json", "'weight_map' is empty"});
}

TEST_F(CheckpointTest, IndexValueIsNotAString) {
  writeText("model.safetensors.index.json", R"({"weight_map": {"x": 1}})");
  expectReadError({"'weight_map' entry 'x' must be a shard file name (a string), got number"});
}

TEST_F(CheckpointTest, IndexShardOutsideTheFolder) {
  writeText("model.safetensors.index.json", R"({"weight_map": {"x": "../elsewhere.safetensors"}})");
  expectReadError({"entry 'x'", "'../elsewhere.safetensors' must be a file name inside"});
}

TEST_F(CheckpointTest, IndexWithBadMetadata) {
  writeSafetensors(m_dir / "a.safetensors", {{"x", at::ones({1})}});
  writeText("model.safetensors.index.json",
            R"({"metadata": {"total_size": "4"}, "weight_map": {"x": "a.safetensors"}})");
  expectReadError({"'metadata.total_size' must be a number, got string"});
}

TEST_F(CheckpointTest, IndexListsATensorTwice) {
  writeSafetensors(m_dir / "a.safetensors", {{"x", at::ones({1})}});
  writeText("model.safetensors.index.json",
            R"({"weight_map": {"x": "a.safetensors", "x": "a.safetensors"}})");
  expectReadError({"model.safetensors.index.json", "duplicate key 'x' in object 'weight_map'"});
}

TEST_F(CheckpointTest, ShardFileMissing) {
  writeSafetensors(m_dir / "a.safetensors", {{"x", at::ones({1})}});
  writeText("model.safetensors.index.json",
            R"({"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}})");
  expectReadError({"model.safetensors.index.json", "shard 'b.safetensors' (listed for tensor 'y')",
                   "does not exist"});
}

TEST_F(CheckpointTest, TensorAbsentFromItsShard) {
  writeSafetensors(m_dir / "a.safetensors", {{"x", at::ones({1})}});
  writeText("model.safetensors.index.json",
            R"({"weight_map": {"x": "a.safetensors", "y": "a.safetensors"}})");
  expectReadError(
      {"tensor 'y' is listed for shard 'a.safetensors', but that shard does not hold it"});
}

TEST_F(CheckpointTest, ShardTensorNotListed) {
  writeSafetensors(m_dir / "a.safetensors", {{"x", at::ones({1})}, {"extra", at::ones({1})}});
  writeText("model.safetensors.index.json", R"({"weight_map": {"x": "a.safetensors"}})");
  expectReadError({"a.safetensors' holds tensor 'extra'", "does not list"});
}

TEST_F(CheckpointTest, TensorInTwoShards) {
  writeSafetensors(m_dir / "a.safetensors", {{"x", at::ones({1})}});
  writeSafetensors(m_dir / "b.safetensors", {{"x", at::zeros({1})}, {"y", at::ones({1})}});
  writeText("model.safetensors.index.json",
            R"({"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}})");
  expectReadError({"tensor 'x' is in two shards, 'a.safetensors' and 'b.safetensors'"});
}

TEST_F(CheckpointTest, TensorInAnotherShardThanListed) {
  writeSafetensors(m_dir / "a.safetensors", {{"x", at::ones({1})}});
  writeSafetensors(m_dir / "b.safetensors", {{"y", at::ones({1})}});
  writeText("model.safetensors.index.json",
            R"({"weight_map": {"x": "b.safetensors", "y": "a.safetensors"}})");
  expectReadError({"maps tensor 'x' to shard 'b.safetensors', but it is in shard 'a.safetensors'"});
}

TEST_F(CheckpointTest, MalformedShardIsNamed) {
  writeText("a.safetensors", "garbage");
  writeText("model.safetensors.index.json", R"({"weight_map": {"x": "a.safetensors"}})");
  expectReadError({"a.safetensors'", "shorter than the 8-byte header length"});
}

TEST(ShardNames, FollowTheHuggingFacePattern) {
  EXPECT_EQ(shardFileName(2, 5), "model-00002-of-00005.safetensors");
  EXPECT_EQ(shardFileName(12345, 99999), "model-12345-of-99999.safetensors");
  EXPECT_TRUE(isShardFileName("model-00002-of-00005.safetensors"));
  EXPECT_TRUE(isShardFileName(".model-00001-of-00002.safetensors.tmp-123-0"));
  EXPECT_FALSE(isShardFileName("model.safetensors"));
  EXPECT_FALSE(isShardFileName("model-1-of-2.safetensors"));
  EXPECT_FALSE(isShardFileName("model-0000a-of-00002.safetensors"));
  EXPECT_FALSE(isShardFileName("model-00001-of-00002.safetensors.bak"));
  EXPECT_FALSE(isShardFileName(".model-00001-of-00002.safetensors.tmp-"));
  EXPECT_FALSE(isShardFileName(".model-00001-of-00002.safetensors.tmp-12-"));
  EXPECT_FALSE(isShardFileName(".model-00001-of-00002.safetensors.tmp-1x-2"));
  EXPECT_FALSE(isShardFileName("notes.safetensors"));
  EXPECT_TRUE(isPlainFileName("a.safetensors"));
  EXPECT_FALSE(isPlainFileName("../a.safetensors"));
  EXPECT_FALSE(isPlainFileName("sub/a.safetensors"));
  EXPECT_FALSE(isPlainFileName("sub\\a.safetensors"));
  EXPECT_FALSE(isPlainFileName(".."));
  EXPECT_FALSE(isPlainFileName(""));
}
