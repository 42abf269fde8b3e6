// config.json from other people: sizes past the kMaxModel* limits are Errors naming the field,
// never an overflow (fuzz: 4 x n_embd overflowed int64 when n_embd was 2^62, UBSan) nor an
// attempt to allocate the model.
#include <gtest/gtest.h>

#include <limits>

#include "model/model_config.h"
#include "util/error.h"

using namespace nmar::core;
using nlohmann::json;

namespace {

std::string errorOf(const json& j) {
  try {
    ModelConfig::fromJson(j, "c/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an Error for " << j.dump();
  return "";
}

json llama() {
  return {{"model_type", "llama"},    {"vocab_size", 100},
          {"hidden_size", 64},        {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"num_key_value_heads", 2},
          {"intermediate_size", 176}, {"max_position_embeddings", 512}};
}

}  // namespace

TEST(HardeningModelConfig, Gpt2WidthPastTheLimitIsAnErrorNotAnOverflow) {
  const json gpt2 = {{"model_type", "gpt2"},
                     {"vocab_size", 1},
                     {"n_embd", std::int64_t{1} << 62},
                     {"n_layer", 1},
                     {"n_head", 1}};
  EXPECT_EQ(errorOf(gpt2),
            "c/config.json: config field 'n_embd' is 4611686018427387904, more than the limit of "
            "1048576");
  // 2^63 was read as the most negative integer and overflowed the same product
  // (fuzz_model_config); negative widths are named as such.
  json huge = gpt2;
  huge["n_embd"] = std::uint64_t{1} << 63;
  EXPECT_EQ(errorOf(huge),
            "c/config.json: config field 'n_embd' is 9223372036854775808, out of the range of a "
            "64-bit integer");
  json negative = gpt2;
  negative["n_embd"] = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(errorOf(negative),
            "c/config.json: config field 'n_embd' must be positive, got -9223372036854775808");
}

TEST(HardeningModelConfig, EverySizePastItsLimitIsNamed) {
  const struct {
    const char* field;
    std::int64_t value;
    const char* limit;
  } cases[] = {
      {"vocab_size", (std::int64_t{1} << 31) + 1, "2147483648"},
      {"hidden_size", (std::int64_t{1} << 20) + 4, "1048576"},
      {"num_hidden_layers", 5000, "4096"},
      {"intermediate_size", std::int64_t{1} << 40, "4194304"},
      {"max_position_embeddings", std::int64_t{1} << 30, "268435456"},
      {"head_dim", std::int64_t{1} << 21, "1048576"},
  };
  for (const auto& c : cases) {
    json j = llama();
    j[c.field] = c.value;
    const std::string m = errorOf(j);
    EXPECT_EQ(m, "c/config.json: config field '" + std::string(c.field) + "' is " +
                     std::to_string(c.value) + ", more than the limit of " + c.limit)
        << c.field;
  }
  // The limits sit far above real models: Llama-3-70B-like sizes read fine.
  json big = llama();
  big["vocab_size"] = 128256;
  big["hidden_size"] = 8192;
  big["num_hidden_layers"] = 80;
  big["num_attention_heads"] = 64;
  big["num_key_value_heads"] = 8;
  big["intermediate_size"] = 28672;
  big["max_position_embeddings"] = 131072;
  const ModelConfig c = ModelConfig::fromJson(big, "big");
  EXPECT_EQ(c.headDim, 128);
  EXPECT_EQ(c.intermediateSize, 28672);
}
