// Limits of the safetensors reader against files from other people: rank, dimension products
// that overflow even when the tensor is empty, nesting in the header. Every case is an Error
// naming the file and the tensor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "checkpoint/safetensors.h"
#include "util/error.h"
#include "util/json_file.h"

using namespace nmar::core;
namespace fs = std::filesystem;

namespace {

class HardeningSafetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_file = fs::temp_directory_path() / ("nmar_hard_st_" + std::string(info->name()) + "_" +
                                          std::to_string(::getpid()) + ".safetensors");
  }
  void TearDown() override { fs::remove(m_file); }

  /** Writes the 8-byte length, @p header and @p data. */
  void write(const std::string& header, const std::string& data = "") {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    std::ofstream out(m_file, std::ios::binary);
    bytes += header + data;
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  std::string error() {
    try {
      readSafetensors(m_file);
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("safetensors file '" + m_file.string() + "'"), std::string::npos) << m;
      return m;
    }
    ADD_FAILURE() << "expected an Error";
    return "";
  }

  fs::path m_file;
};

std::string shapeOfRank(std::size_t rank) {
  std::string shape = "[";
  for (std::size_t i = 0; i < rank; ++i) shape += i ? ",1" : "1";
  return shape + "]";
}

}  // namespace

TEST_F(HardeningSafetensors, RankUpToTheLimitReadsAndPastItIsAnError) {
  write(R"({"t":{"dtype":"U8","shape":)" + shapeOfRank(kSafetensorsMaxRank) +
            R"(,"data_offsets":[0,1]}})",
        "\x07");
  const TensorMap ok = readSafetensors(m_file);
  EXPECT_EQ(ok.at("t").dim(), static_cast<std::int64_t>(kSafetensorsMaxRank));
  EXPECT_EQ(ok.at("t").flatten()[0].item<int>(), 7);

  write(R"({"t":{"dtype":"U8","shape":)" + shapeOfRank(kSafetensorsMaxRank + 1) +
            R"(,"data_offsets":[0,1]}})",
        "\x07");
  const std::string m = error();
  EXPECT_NE(m.find("tensor 't': field 'shape' has 65 dimensions, more than the limit of 64"),
            std::string::npos)
      << m;
}

TEST_F(HardeningSafetensors, EmptyTensorWhoseOtherDimensionsOverflowIsAnError) {
  // 0 elements, 0 bytes: consistent with its byte range, but LibTorch's strides would overflow.
  write(R"({"e":{"dtype":"F32","shape":[4611686018427387904,4,0],"data_offsets":[0,0]}})");
  const std::string m = error();
  EXPECT_NE(m.find("tensor 'e': shape [4611686018427387904,4,0]: the product of its non-zero "
                   "dimensions overflows a 64-bit integer"),
            std::string::npos)
      << m;
  // Large but representable dimensions around a zero are fine.
  write(R"({"e":{"dtype":"F32","shape":[1073741824,0,1073741824],"data_offsets":[0,0]}})");
  const TensorMap ok = readSafetensors(m_file);
  EXPECT_EQ(ok.at("e").sizes().vec(), (std::vector<std::int64_t>{1073741824, 0, 1073741824}));
}

TEST_F(HardeningSafetensors, DeeplyNestedMetadataIsAnErrorNotAStackOverflow) {
  write(R"({"__metadata__":{"x":)" + std::string(200'000, '[') + "}}");
  const std::string m = error();
  EXPECT_NE(m.find("header: JSON nested deeper than 128 levels at line 1, column 148"),
            std::string::npos)
      << m;
}
