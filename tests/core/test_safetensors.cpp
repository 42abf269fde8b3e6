// Round trips and layout of our safetensors reader/writer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "util/atomic_file.h"
#include "checkpoint/safetensors.h"
#include "util/error.h"

using namespace nmar::core;
namespace fs = std::filesystem;

namespace {

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_dir = fs::temp_directory_path() /
            ("nmar_st_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  fs::path m_dir;
};

std::string readBytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeBytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string rawBytes(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

/** A tensor of @p type whose bytes are random (booleans: random 0/1). */
at::Tensor randomBytesTensor(c10::ScalarType type, at::IntArrayRef shape, std::mt19937& rng) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
  auto* p = static_cast<unsigned char*>(t.data_ptr());
  const std::size_t n = t.numel() * t.element_size();
  for (std::size_t i = 0; i < n; ++i)
    p[i] = static_cast<unsigned char>(type == c10::kBool ? rng() % 2 : rng() % 256);
  return t;
}

template <typename T>
at::Tensor fromBits(c10::ScalarType type, std::vector<T> bits) {
  at::Tensor t =
      at::empty({static_cast<std::int64_t>(bits.size())}, at::TensorOptions().dtype(type));
  std::memcpy(t.data_ptr(), bits.data(), bits.size() * sizeof(T));
  return t;
}

/** The file as the reference implementation lays it out: length, header, data. */
std::string safetensorsBytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

void expectSameTensor(const at::Tensor& expected, const at::Tensor& actual,
                      const std::string& name) {
  ASSERT_TRUE(actual.defined()) << name;
  EXPECT_EQ(actual.scalar_type(), expected.scalar_type()) << name;
  EXPECT_EQ(actual.sizes().vec(), expected.sizes().vec()) << name;
  EXPECT_TRUE(actual.device().is_cpu()) << name;
  EXPECT_EQ(rawBytes(actual), rawBytes(expected)) << name << ": bytes differ";
}

}  // namespace

TEST_F(SafetensorsTest, EveryDtypeRoundTripsBitIdentically) {
  std::mt19937 rng(1234);
  TensorMap tensors;
  const std::vector<std::pair<std::string, c10::ScalarType>> types = {
      {"f64", c10::kDouble}, {"f32", c10::kFloat}, {"f16", c10::kHalf},  {"bf16", c10::kBFloat16},
      {"i64", c10::kLong},   {"i32", c10::kInt},   {"i16", c10::kShort}, {"i8", c10::kChar},
      {"u8", c10::kByte},    {"bool", c10::kBool}};
  for (const auto& [name, type] : types) tensors[name] = randomBytesTensor(type, {3, 5, 7}, rng);
  const fs::path file = m_dir / "all.safetensors";
  writeSafetensors(file, tensors);
  const TensorMap back = readSafetensors(file);
  ASSERT_EQ(back.size(), tensors.size());
  for (const auto& [name, t] : tensors) expectSameTensor(t, back.at(name), name);

  // The dtype names in the header are the format's.
  const std::string bytes = readBytes(file);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["bf16"]["dtype"], "BF16");
  EXPECT_EQ(header["f16"]["dtype"], "F16");
  EXPECT_EQ(header["bool"]["dtype"], "BOOL");
  EXPECT_EQ(header["u8"]["dtype"], "U8");
  EXPECT_EQ(header["i8"]["dtype"], "I8");
  EXPECT_EQ(header["f64"]["shape"], nlohmann::json::array({3, 5, 7}));
}

TEST_F(SafetensorsTest, NanPayloadsInfinitiesAndNegativeZeroSurvive) {
  TensorMap tensors;
  tensors["f32"] = fromBits<std::uint32_t>(
      c10::kFloat, {0x7fc00001u, 0xffa00000u, 0x7f800000u, 0x80000000u, 0x00000001u});
  tensors["f64"] = fromBits<std::uint64_t>(
      c10::kDouble, {0x7ff8000000000123ull, 0xfff0000000000001ull, 0x8000000000000000ull});
  tensors["bf16"] = fromBits<std::uint16_t>(c10::kBFloat16, {0x7fc1, 0xff81, 0x8000, 0x0001});
  tensors["f16"] = fromBits<std::uint16_t>(c10::kHalf, {0x7e01, 0xfc01, 0x8000, 0x0001});
  const fs::path file = m_dir / "nan.safetensors";
  writeSafetensors(file, tensors);
  const TensorMap back = readSafetensors(file);
  for (const auto& [name, t] : tensors) expectSameTensor(t, back.at(name), name);
  std::uint32_t first = 0;
  std::memcpy(&first, back.at("f32").data_ptr(), 4);
  EXPECT_EQ(first, 0x7fc00001u);
}

TEST_F(SafetensorsTest, MetadataRoundTrips) {
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"note", "ünïcødé ✓"}, {"empty", ""}, {"json", "{\"a\": [1, 2]}"}};
  const fs::path file = m_dir / "meta.safetensors";
  writeSafetensors(file, {{"w", at::arange(4, at::kFloat)}}, metadata);
  std::map<std::string, std::string> back = {{"stale", "entry"}};
  const TensorMap tensors = readSafetensors(file, &back);
  EXPECT_EQ(back, metadata);
  EXPECT_TRUE(at::equal(tensors.at("w"), at::arange(4, at::kFloat)));

  writeSafetensors(file, {{"w", at::zeros({1})}});
  readSafetensors(file, &back);
  EXPECT_TRUE(back.empty()) << "no __metadata__ means an empty map";
  EXPECT_EQ(readBytes(file).find("__metadata__"), std::string::npos);
}

TEST_F(SafetensorsTest, EmptyTensorsScalarsAndEmptyFiles) {
  TensorMap tensors;
  tensors["empty1d"] = at::empty({0}, at::kFloat);
  tensors["empty3d"] = at::empty({3, 0, 2}, at::kLong);
  tensors["scalar"] = at::scalar_tensor(2.5, at::kDouble);
  tensors["scalar_bf16"] = at::scalar_tensor(-1.5, at::kBFloat16);
  tensors["one"] = at::ones({1}, at::kInt);
  const fs::path file = m_dir / "edge.safetensors";
  writeSafetensors(file, tensors);
  const TensorMap back = readSafetensors(file);
  ASSERT_EQ(back.size(), 5u);
  for (const auto& [name, t] : tensors) expectSameTensor(t, back.at(name), name);
  EXPECT_EQ(back.at("scalar").dim(), 0);
  EXPECT_EQ(back.at("scalar").item<double>(), 2.5);
  EXPECT_EQ(back.at("empty3d").sizes().vec(), (std::vector<std::int64_t>{3, 0, 2}));

  const fs::path none = m_dir / "none.safetensors";
  writeSafetensors(none, {});
  EXPECT_EQ(readBytes(none), safetensorsBytes("{}      ", ""));
  EXPECT_TRUE(readSafetensors(none).empty());
}

TEST_F(SafetensorsTest, NonContiguousTensorsAreWrittenAsTheirValues) {
  const at::Tensor base = at::arange(24, at::kFloat).reshape({4, 6});
  TensorMap tensors;
  tensors["transposed"] = base.t();
  tensors["strided"] = base.slice(1, 0, 6, 2);
  tensors["expanded"] = at::arange(3, at::kInt).unsqueeze(0).expand({4, 3});
  tensors["offset"] = base.select(0, 2);
  const fs::path file = m_dir / "views.safetensors";
  writeSafetensors(file, tensors);
  const TensorMap back = readSafetensors(file);
  for (const auto& [name, t] : tensors) {
    EXPECT_TRUE(back.at(name).is_contiguous()) << name;
    EXPECT_TRUE(at::equal(back.at(name), t)) << name;
  }
  EXPECT_EQ(back.at("transposed")[0][1].item<float>(), 6.0f);
}

TEST_F(SafetensorsTest, HeaderIsSortedPaddedAndDataAligned) {
  TensorMap tensors;
  tensors["b.bias"] = at::ones({3}, at::kHalf);
  tensors["a.weight"] = at::ones({5}, at::kByte);
  tensors["c.ids"] = at::ones({2}, at::kLong);
  tensors["d.w"] = at::ones({3}, at::kFloat);
  const fs::path file = m_dir / "layout.safetensors";
  writeSafetensors(file, tensors, {{"format", "pt"}});
  const std::string bytes = readBytes(file);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "header padded so that the data starts 8-aligned";
  const std::string text = bytes.substr(8, n);
  EXPECT_EQ(text.find_last_not_of(' '), text.find_last_of('}')) << "padding is trailing spaces";
  const auto header = nlohmann::json::parse(text);
  std::vector<std::string> keys;
  for (const auto& item : header.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"__metadata__", "a.weight", "b.bias", "c.ids", "d.w"}));
  EXPECT_LT(text.find("\"a.weight\""), text.find("\"b.bias\"")) << "keys sorted in the text";
  // Largest elements first: I64, F32, F16, U8; each range aligned to its element size.
  EXPECT_EQ(header["c.ids"]["data_offsets"], nlohmann::json::array({0, 16}));
  EXPECT_EQ(header["d.w"]["data_offsets"], nlohmann::json::array({16, 28}));
  EXPECT_EQ(header["b.bias"]["data_offsets"], nlohmann::json::array({28, 34}));
  EXPECT_EQ(header["a.weight"]["data_offsets"], nlohmann::json::array({34, 39}));
  EXPECT_EQ(bytes.size(), 8 + n + 39);
}

TEST_F(SafetensorsTest, ReadsAFileLaidOutLikePythonSafetensors) {
  // As safetensors' Python/Rust writer makes it: __metadata__ first, tensors ordered by alignment
  // then name, compact JSON, padded with spaces to a multiple of 8 bytes.
  std::string header =
      R"({"__metadata__":{"format":"pt"},"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},)"
      R"("emb.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]},)"
      R"("h":{"dtype":"F16","shape":[1],"data_offsets":[32,34]},)"
      R"("mask":{"dtype":"BOOL","shape":[3],"data_offsets":[34,37]},)"
      R"("caf\u00e9":{"dtype":"U8","shape":[],"data_offsets":[37,38]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  ASSERT_EQ(header.size() % 8, 0u);
  std::string data;
  auto append = [&](const void* p, std::size_t n) { data.append(static_cast<const char*>(p), n); };
  const std::int64_t ids[] = {7, -3};
  const float emb[] = {1.0f, -2.0f, 0.5f, 3.25f};
  const std::uint16_t half = 0x3c00;  // 1.0
  const unsigned char mask[] = {1, 0, 1};
  const unsigned char cafe = 200;
  append(ids, sizeof ids);
  append(emb, sizeof emb);
  append(&half, 2);
  append(mask, 3);
  append(&cafe, 1);
  const fs::path file = m_dir / "python.safetensors";
  writeBytes(file, safetensorsBytes(header, data));

  std::map<std::string, std::string> metadata;
  const TensorMap t = readSafetensors(file, &metadata);
  EXPECT_EQ(metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t.at("ids")[0].item<std::int64_t>(), 7);
  EXPECT_EQ(t.at("ids")[1].item<std::int64_t>(), -3);
  EXPECT_EQ(t.at("emb.weight").sizes().vec(), (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(t.at("emb.weight")[1][1].item<float>(), 3.25f);
  EXPECT_EQ(t.at("h").item<float>(), 1.0f);
  EXPECT_EQ(t.at("mask").scalar_type(), c10::kBool);
  EXPECT_EQ(t.at("mask").sum().item<std::int64_t>(), 2);
  EXPECT_EQ(t.at("caf\xc3\xa9").dim(), 0);
  EXPECT_EQ(t.at("caf\xc3\xa9").item<std::uint8_t>(), 200);

  // And a pretty-printed header with a tensor listed out of offset order.
  const std::string pretty =
      "{\n  \"b\": {\"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [4, 8]},\n"
      "  \"a\": {\"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [0, 4]}\n}";
  const std::int32_t ab[] = {11, 22};
  writeBytes(file, safetensorsBytes(pretty, std::string(reinterpret_cast<const char*>(ab), 8)));
  const TensorMap p = readSafetensors(file);
  EXPECT_EQ(p.at("a").item<std::int32_t>(), 11);
  EXPECT_EQ(p.at("b").item<std::int32_t>(), 22);
}

TEST_F(SafetensorsTest, HeaderOnlyReadReportsEntries) {
  const fs::path file = m_dir / "h.safetensors";
  writeSafetensors(file, {{"x", at::zeros({2, 3}, at::kBFloat16)}, {"y", at::zeros({}, at::kLong)}},
                   {{"k", "v"}});
  const SafetensorsHeader h = readSafetensorsHeader(file);
  ASSERT_EQ(h.entries.size(), 2u);
  EXPECT_EQ(h.entries[0].name, "y");  // ordered by offset: I64 first
  EXPECT_EQ(h.entries[0].dtype, "I64");
  EXPECT_TRUE(h.entries[0].shape.empty());
  EXPECT_EQ(h.entries[1].name, "x");
  EXPECT_EQ(h.entries[1].shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(h.entries[1].begin, 8u);
  EXPECT_EQ(h.entries[1].end, 20u);
  EXPECT_EQ(h.dataSize, 20u);
  EXPECT_EQ(h.dataStart + h.dataSize, fs::file_size(file));
  EXPECT_EQ(h.metadata.at("k"), "v");
}

TEST_F(SafetensorsTest, WriteRejectsBadInputAndKeepsThePreviousFile) {
  const fs::path file = m_dir / "keep.safetensors";
  writeSafetensors(file, {{"w", at::arange(6, at::kFloat)}});
  const std::string before = readBytes(file);
  auto expectError = [&](const TensorMap& tensors, const std::vector<std::string>& parts) {
    try {
      writeSafetensors(file, tensors);
      ADD_FAILURE() << "expected an Error";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(file.string()), std::string::npos) << m;
      for (const auto& p : parts) EXPECT_NE(m.find(p), std::string::npos) << m << " lacks " << p;
    }
    EXPECT_EQ(readBytes(file), before);
  };
  expectError({{"ok", at::ones({1})}, {"undef", at::Tensor()}}, {"'undef'", "undefined"});
  expectError({{"c", at::ones({2}, at::kComplexFloat)}}, {"'c'", "no safetensors equivalent"});
  expectError({{"__metadata__", at::ones({1})}}, {"__metadata__", "reserved"});
  expectError({{"s", at::ones({2, 2}).to_sparse()}}, {"'s'", "strided"});
  expectError({{std::string("bad\xff"), at::ones({1})}}, {"not valid UTF-8"});
  try {
    writeSafetensors(file, {{"w", at::ones({1})}}, {{"k", std::string("\xc0\xaf")}});
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("__metadata__"), std::string::npos) << e.what();
  }
  EXPECT_EQ(readBytes(file), before);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(m_dir)) names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"keep.safetensors"}) << "no temporary file left";

  try {
    writeSafetensors(m_dir / "missing" / "x.safetensors", {{"w", at::ones({1})}});
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing/x.safetensors"), std::string::npos) << e.what();
  }
}

TEST_F(SafetensorsTest, AtomicFileLeavesTargetUntouchedUntilCommit) {
  const fs::path file = m_dir / "target.bin";
  writeBytes(file, "old contents");
  {
    AtomicFile out(file);
    out.write("new", 3);
    EXPECT_TRUE(fs::exists(out.tempPath()));
    EXPECT_EQ(out.tempPath().parent_path(), m_dir);
    EXPECT_EQ(readBytes(file), "old contents");
  }  // destroyed without commit: as if the process had failed mid-write
  EXPECT_EQ(readBytes(file), "old contents");
  EXPECT_EQ(std::distance(fs::directory_iterator(m_dir), fs::directory_iterator()), 1);
  {
    AtomicFile out(file);
    out.write("new contents", 12);
    EXPECT_EQ(out.size(), 12u);
    out.commit();
    EXPECT_FALSE(fs::exists(out.tempPath()));
  }
  EXPECT_EQ(readBytes(file), "new contents");
  EXPECT_EQ(std::distance(fs::directory_iterator(m_dir), fs::directory_iterator()), 1);
}

TEST_F(SafetensorsTest, WritesTensorsThatRequireGrad) {
  at::manual_seed(7);
  at::Tensor w = at::randn({3, 3}, at::TensorOptions().requires_grad(true));
  const fs::path file = m_dir / "grad.safetensors";
  writeSafetensors(file, {{"w", w * 2}});
  const at::Tensor back = readSafetensors(file).at("w");
  EXPECT_FALSE(back.requires_grad());
  EXPECT_TRUE(at::equal(back, (w * 2).detach()));
}
