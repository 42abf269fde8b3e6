// KVCache: contents after appends, growth, O(1) truncation, clear, and rejected misuse.
#include <functional>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/kv_cache.h"
#include "util/error.h"

namespace nmar::core {
namespace {

/** Keys whose values encode (layer, position): easy to check after moves. */
at::Tensor block(int64_t layer, int64_t start, int64_t q, int64_t b = 2, int64_t h = 3,
                 int64_t dh = 4) {
  at::Tensor pos = at::arange(start, start + q, at::kFloat).view({1, 1, q, 1});
  return (pos + 1000.0 * layer).expand({b, h, q, dh}).contiguous();
}

void appendAll(KVCache& cache, int64_t start, int64_t q) {
  for (int64_t l = 0; l < cache.numLayers(); ++l)
    cache.append(l, block(l, start, q), -block(l, start, q));
}

void expectHolds(const KVCache& cache, int64_t length) {
  ASSERT_EQ(cache.length(), length);
  for (int64_t l = 0; l < cache.numLayers(); ++l) {
    at::Tensor k = cache.keys(l), v = cache.values(l);
    ASSERT_TRUE(k.sizes().equals({2, 3, length, 4}));
    EXPECT_TRUE(at::equal(k, block(l, 0, length))) << "layer " << l;
    EXPECT_TRUE(at::equal(v, -block(l, 0, length))) << "layer " << l;
  }
}

TEST(KVCache, AppendsGrowByDoublingAndKeepContents) {
  KVCache cache(3);
  EXPECT_EQ(cache.length(), 0);
  EXPECT_EQ(cache.batchSize(), 0);
  EXPECT_FALSE(cache.keys(0).defined());
  appendAll(cache, 0, 5);
  EXPECT_EQ(cache.batchSize(), 2);
  EXPECT_EQ(cache.capacity(), 16);
  expectHolds(cache, 5);
  for (int64_t t = 5; t < 40; ++t) appendAll(cache, t, 1);
  expectHolds(cache, 40);
  EXPECT_EQ(cache.capacity(), 64);  // 16 -> 32 -> 64
}

TEST(KVCache, TruncateMovesOnlyTheLengthAndAppendsOverwrite) {
  KVCache cache(2);
  appendAll(cache, 0, 10);
  const void* storage = cache.keys(0).data_ptr();
  cache.truncate(4);
  EXPECT_EQ(cache.keys(0).data_ptr(), storage);  // no copy
  expectHolds(cache, 4);
  appendAll(cache, 4, 3);
  expectHolds(cache, 7);
  cache.truncate(7);  // no-op
  expectHolds(cache, 7);
  cache.truncate(0);
  expectHolds(cache, 0);
  appendAll(cache, 0, 2);
  expectHolds(cache, 2);
}

TEST(KVCache, ClearAllowsANewBatchSize) {
  KVCache cache(1);
  appendAll(cache, 0, 3);
  cache.clear();
  EXPECT_EQ(cache.length(), 0);
  EXPECT_EQ(cache.batchSize(), 0);
  cache.append(0, block(0, 0, 2, /*b=*/5), block(0, 0, 2, 5));
  EXPECT_EQ(cache.batchSize(), 5);
  EXPECT_EQ(cache.length(), 2);
}

TEST(KVCache, ReserveAvoidsRegrowth) {
  KVCache cache(2);
  cache.reserve(100);
  appendAll(cache, 0, 1);
  EXPECT_EQ(cache.capacity(), 100);
  const void* storage = cache.keys(1).data_ptr();
  for (int64_t t = 1; t < 100; ++t) appendAll(cache, t, 1);
  EXPECT_EQ(cache.keys(1).data_ptr(), storage);
  expectHolds(cache, 100);
}

void expectError(const std::function<void()>& fn, const std::string& part) {
  try {
    fn();
    ADD_FAILURE() << "no error, expected one containing '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(KVCache, RejectsMisuseAndStaysUnchanged) {
  KVCache cache(2);
  appendAll(cache, 0, 4);
  expectError([&] { cache.append(2, block(0, 4, 1), block(0, 4, 1)); }, "layer 2 out of range");
  expectError([&] { cache.append(0, block(0, 4, 1, 1), block(0, 4, 1, 1)); }, "does not match");
  expectError([&] { cache.append(0, block(0, 4, 1), block(0, 4, 2)); }, "equal shape");
  expectError(
      [&] { cache.append(0, block(0, 4, 1).to(at::kDouble), block(0, 4, 1).to(at::kDouble)); },
      "dtype");
  expectError([&] { cache.append(1, block(1, 4, 1), block(1, 4, 1)); }, "out of order");
  at::Tensor grad = block(0, 4, 1).requires_grad_(true);
  expectError([&] { cache.append(0, grad, grad); }, "NoGradGuard");
  expectError([&] { cache.truncate(5); }, "outside [0, 4]");
  expectError([&] { cache.truncate(-1); }, "outside [0, 4]");
  expectError([] { KVCache bad(0); }, "numLayers");
  expectHolds(cache, 4);
  // A half-done forward (layer 0 appended, layer 1 not) is rolled back by truncate(length()).
  cache.append(0, block(0, 4, 2), -block(0, 4, 2));
  EXPECT_EQ(cache.length(), 4);
  cache.truncate(4);
  expectHolds(cache, 4);
  appendAll(cache, 4, 1);
  expectHolds(cache, 5);
}

}  // namespace
}  // namespace nmar::core
