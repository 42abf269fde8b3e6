// Batched masks, position ids and loss weights (spec §2, §4), against hand-written rows and a
// slow reference simulation; plus a timing print-out for a 32x512 batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "nmar/masks.h"
#include "util/error.h"

using namespace nmar::core;

namespace {

constexpr std::int64_t kUndo = 99;
constexpr std::int64_t kPad = 0;
constexpr std::int64_t P = 10, A = 1, B = 2, C = 3, X = 7, Y = 8, U = kUndo;

at::Tensor idsTensor(const std::vector<std::vector<std::int64_t>>& rows) {
  const std::size_t T = rows.front().size();
  at::Tensor t =
      at::zeros({static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(T)}, at::kLong);
  for (std::size_t b = 0; b < rows.size(); ++b) {
    for (std::size_t i = 0; i < T; ++i) t[b][i] = rows[b][i];
  }
  return t;
}

/** The visible keys of query @p i in row @p b of a [B,1,T,T] mask. */
std::vector<int> visible(const at::Tensor& mask, int b, int i) {
  std::vector<int> keys;
  const at::Tensor row = mask[b][0][i];
  for (int j = 0; j < row.size(0); ++j) {
    if (row[j].item<bool>()) keys.push_back(j);
  }
  return keys;
}

template <typename T>
std::vector<T> rowOf(const at::Tensor& t, int b) {
  const at::Tensor r = t[b].contiguous();
  return std::vector<T>(r.data_ptr<T>(), r.data_ptr<T>() + r.numel());
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Masks, SpecSingleUndoHardRowsAndPositions) {
  const NmarBatch batch = buildNmarBatch(idsTensor({{P, P, A, X, U, B}}), {2}, kUndo);
  EXPECT_EQ(batch.hardMask.sizes(), (std::vector<std::int64_t>{1, 1, 6, 6}));
  EXPECT_EQ(batch.hardMask.scalar_type(), at::kBool);
  EXPECT_EQ(visible(batch.hardMask, 0, 0), (std::vector<int>{0}));
  EXPECT_EQ(visible(batch.hardMask, 0, 1), (std::vector<int>{0, 1}));
  EXPECT_EQ(visible(batch.hardMask, 0, 2), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(visible(batch.hardMask, 0, 3), (std::vector<int>{0, 1, 2, 3}));
  // The UNDO still sees the token it pops; after it, neither x nor the UNDO is visible.
  EXPECT_EQ(visible(batch.hardMask, 0, 4), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(visible(batch.hardMask, 0, 5), (std::vector<int>{0, 1, 2, 5}));
  EXPECT_EQ(rowOf<std::int64_t>(batch.hardPositions, 0),
            (std::vector<std::int64_t>{0, 1, 2, 3, 4, 3}));
  EXPECT_EQ(rowOf<bool>(batch.deviation, 0),
            (std::vector<bool>{false, false, false, true, false, false}));
  EXPECT_EQ(rowOf<bool>(batch.pruned, 0),
            (std::vector<bool>{false, false, false, true, true, false}));
  EXPECT_EQ(batch.rows[0].output, (std::vector<std::int64_t>{A, B}));
}

TEST(Masks, SpecConsecutiveUndosHardRows) {
  const NmarBatch batch = buildNmarBatch(idsTensor({{P, P, A, X, Y, U, U, B}}), {2}, kUndo);
  EXPECT_EQ(rowOf<std::int64_t>(batch.hardPositions, 0),
            (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 4, 3}));
  EXPECT_EQ(visible(batch.hardMask, 0, 5), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(visible(batch.hardMask, 0, 6), (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_EQ(visible(batch.hardMask, 0, 7), (std::vector<int>{0, 1, 2, 7}));
  EXPECT_EQ(rowOf<bool>(batch.deviation, 0),
            (std::vector<bool>{false, false, false, true, true, false, false, false}));
}

TEST(Masks, SoftModeIsCausalWithPlainPositionsAndSameOutput) {
  const NmarBatch batch = buildNmarBatch(idsTensor({{P, P, A, X, U, B}}), {2}, kUndo);
  for (int i = 0; i < 6; ++i) {
    std::vector<int> causal(static_cast<std::size_t>(i) + 1);
    for (int j = 0; j <= i; ++j) causal[static_cast<std::size_t>(j)] = j;
    EXPECT_EQ(visible(batch.softMask, 0, i), causal);
    EXPECT_EQ(visible(batch.mask(AttentionMode::kSoft), 0, i), causal);
  }
  EXPECT_EQ(rowOf<std::int64_t>(batch.positions(AttentionMode::kSoft), 0),
            (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(batch.rows[0].output, (std::vector<std::int64_t>{A, B}));
  EXPECT_TRUE(batch.mask(AttentionMode::kHard).equal(batch.hardMask));
}

TEST(Masks, PaddingAndRowsWithDifferentPromptLengths) {
  // Row 0: prompt 2, one UNDO, two pads. Row 1: the same ids but a prompt of 4 (the UNDO is
  // inside the prompt, so it is not interpreted). Row 2: prompt 1.
  const NmarBatch batch = buildNmarBatch(
      idsTensor({{P, P, A, U, B, kPad, kPad}, {P, P, A, U, B, C, kPad}, {P, A, X, U, B, C, Y}}),
      {2, 4, 1}, kUndo, kPad);
  EXPECT_EQ(rowOf<bool>(batch.valid, 0),
            (std::vector<bool>{true, true, true, true, true, false, false}));
  EXPECT_EQ(rowOf<std::int64_t>(batch.hardPositions, 0),
            (std::vector<std::int64_t>{0, 1, 2, 3, 2, 0, 0}));
  EXPECT_EQ(rowOf<std::int64_t>(batch.hardPositions, 1),
            (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 0}));
  EXPECT_EQ(rowOf<std::int64_t>(batch.hardPositions, 2),
            (std::vector<std::int64_t>{0, 1, 2, 3, 2, 3, 4}));
  // Padded queries see only themselves, in both masks; padded keys are never visible.
  for (const at::Tensor* mask : {&batch.hardMask, &batch.softMask}) {
    EXPECT_EQ(visible(*mask, 0, 5), (std::vector<int>{5}));
    EXPECT_EQ(visible(*mask, 0, 6), (std::vector<int>{6}));
    EXPECT_EQ(visible(*mask, 1, 6), (std::vector<int>{6}));
  }
  EXPECT_EQ(visible(batch.hardMask, 0, 4), (std::vector<int>{0, 1, 4}));
  EXPECT_EQ(visible(batch.softMask, 0, 4), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(visible(batch.hardMask, 1, 5), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(visible(batch.hardMask, 2, 6), (std::vector<int>{0, 1, 4, 5, 6}));
  EXPECT_EQ(batch.rows[0].output, (std::vector<std::int64_t>{B}));
  EXPECT_EQ(batch.rows[1].output, (std::vector<std::int64_t>{B, C}));
  EXPECT_EQ(batch.rows[2].output, (std::vector<std::int64_t>{A, B, C, Y}));
  // Explicit lengths override the padding id.
  BatchOptions options;
  options.lengths = {4, 6, 7};
  const NmarBatch cut = buildNmarBatch(
      idsTensor({{P, P, A, U, B, kPad, kPad}, {P, P, A, U, B, C, kPad}, {P, A, X, U, B, C, Y}}),
      {2, 4, 1}, kUndo, kPad, options);
  EXPECT_EQ(cut.rows[0].output, (std::vector<std::int64_t>{}));
  EXPECT_EQ(visible(cut.hardMask, 0, 4), (std::vector<int>{4}));
}

TEST(Masks, LossWeightsGroupsAndTargetsOnSpecExample) {
  BatchOptions withPrompt;
  withPrompt.promptTargets = true;
  const at::Tensor ids = idsTensor({{P, P, A, X, U, B}});
  const NmarBatch batch = buildNmarBatch(ids, {2}, kUndo);
  const NmarBatch all = buildNmarBatch(ids, {2}, kUndo, -1, withPrompt);
  EXPECT_EQ(rowOf<std::int64_t>(batch.targets, 0), (std::vector<std::int64_t>{P, A, X, U, B, 0}));
  auto g = [](TargetGroup group) { return static_cast<std::int64_t>(group); };
  EXPECT_EQ(rowOf<std::int64_t>(batch.targetGroup, 0),
            (std::vector<std::int64_t>{g(TargetGroup::kPrompt), g(TargetGroup::kPrefix),
                                       g(TargetGroup::kDeviation), g(TargetGroup::kDetect),
                                       g(TargetGroup::kCorrect), g(TargetGroup::kNone)}));
  EXPECT_EQ(rowOf<float>(batch.lossWeight, 0), (std::vector<float>{0, 1, 0, 1, 1, 0}));
  EXPECT_EQ(rowOf<float>(batch.lossWeightNaive, 0), (std::vector<float>{0, 1, 1, 1, 1, 0}));
  EXPECT_EQ(rowOf<float>(all.lossWeight, 0), (std::vector<float>{1, 1, 0, 1, 1, 0}));
  EXPECT_EQ(rowOf<float>(all.weights(true), 0), (std::vector<float>{1, 1, 1, 1, 1, 0}));
  EXPECT_EQ(rowOf<bool>(batch.targetDeviation, 0),
            (std::vector<bool>{false, false, true, false, false, false}));
}

TEST(Masks, LossWeightsOnConsecutiveUndos) {
  const NmarBatch batch = buildNmarBatch(idsTensor({{P, P, A, X, Y, U, U, B}}), {2}, kUndo);
  EXPECT_EQ(rowOf<float>(batch.lossWeight, 0), (std::vector<float>{0, 1, 0, 0, 1, 1, 1, 0}));
  EXPECT_EQ(rowOf<float>(batch.lossWeightNaive, 0), (std::vector<float>{0, 1, 1, 1, 1, 1, 1, 0}));
}

TEST(Masks, OnlyRequestedMasksAreBuilt) {
  BatchOptions options;
  options.softMask = false;
  const NmarBatch batch = buildNmarBatch(idsTensor({{P, A}}), {1}, kUndo, -1, options);
  EXPECT_TRUE(batch.hardMask.defined());
  EXPECT_FALSE(batch.softMask.defined());
  EXPECT_EQ(batch.softPositions[0][1].item<std::int64_t>(), 1);
}

TEST(Masks, VoidUndoNamesRowAndPosition) {
  const std::string message = errorOf([] {
    buildNmarBatch(idsTensor({{P, P, A, U}, {P, P, U, A}}), {2, 2}, kUndo);
  });
  EXPECT_NE(message.find("sequence 1: position 2: void UNDO"), std::string::npos) << message;
}

TEST(Masks, RejectsBadArgumentsNamingThem) {
  EXPECT_NE(errorOf([] {
              buildNmarBatch(at::zeros({4}, at::kLong), {1}, kUndo);
            }).find("ids must be a [batch, seq] tensor, got 1 dimensions"),
            std::string::npos);
  EXPECT_NE(errorOf([] {
              buildNmarBatch(at::zeros({1, 4}, at::kFloat), {1}, kUndo);
            }).find("ids must be an integer tensor"),
            std::string::npos);
  EXPECT_NE(errorOf([] {
              buildNmarBatch(at::zeros({2, 4}, at::kLong), {1}, kUndo);
            }).find("promptLengths has 1 entries, expected one per row (2)"),
            std::string::npos);
  BatchOptions options;
  options.lengths = {1, 2, 3};
  EXPECT_NE(errorOf([&] {
              buildNmarBatch(at::zeros({2, 4}, at::kLong), {1, 1}, kUndo, -1, options);
            }).find("lengths has 3 entries"),
            std::string::npos);
  // int32 ids are accepted.
  EXPECT_EQ(buildNmarBatch(idsTensor({{P, A, U, B}}).to(at::kInt), {1}, kUndo)
                .hardPositions[0][3]
                .item<std::int64_t>(),
            1);
}

namespace {

/** Random valid right-padded traces: row b has prompt prompts[b] and real length lengths[b]. */
at::Tensor randomBatch(std::mt19937& rng, int batch, int T, std::vector<int>& prompts,
                       std::vector<int>& lengths, double undoRate) {
  at::Tensor ids = at::full({batch, T}, kPad, at::kLong);
  auto acc = ids.accessor<std::int64_t, 2>();
  prompts.assign(static_cast<std::size_t>(batch), 0);
  lengths.assign(static_cast<std::size_t>(batch), 0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int b = 0; b < batch; ++b) {
    const int length = T / 2 + static_cast<int>(rng() % static_cast<unsigned>(T / 2 + 1));
    const int m = static_cast<int>(rng() % static_cast<unsigned>(std::min(length, 8) + 1));
    int depth = 0;
    for (int i = 0; i < length; ++i) {
      const bool undo = i >= m && depth > 0 && unit(rng) < undoRate;
      acc[b][i] = undo ? kUndo : 1 + static_cast<std::int64_t>(rng() % 50);
      if (i >= m) depth += undo ? -1 : 1;
    }
    prompts[static_cast<std::size_t>(b)] = m;
    lengths[static_cast<std::size_t>(b)] = length;
  }
  return ids;
}

}  // namespace

TEST(Masks, RandomHardRowsEqualReferenceStacks) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<int> prompts, lengths;
    const int T = 24 + trial;
    const at::Tensor ids = randomBatch(rng, 6, T, prompts, lengths, 0.35);
    const NmarBatch batch = buildNmarBatch(ids, prompts, kUndo, kPad);
    const at::Tensor hard = batch.hardMask.contiguous();
    const at::Tensor soft = batch.softMask.contiguous();
    const bool* h = hard.data_ptr<bool>();
    const bool* s = soft.data_ptr<bool>();
    auto acc = ids.accessor<std::int64_t, 2>();
    for (int b = 0; b < 6; ++b) {
      const int m = prompts[static_cast<std::size_t>(b)];
      const int n = lengths[static_cast<std::size_t>(b)];
      for (int i = 0; i < T; ++i) {
        // Slow reference: replay the prefix, S_before(i) as a set.
        std::vector<bool> expected(static_cast<std::size_t>(T), false);
        std::vector<int> stack;
        if (i < n) {
          for (int j = 0; j < i; ++j) {
            if (j >= m && acc[b][j] == kUndo) {
              stack.pop_back();
            } else {
              stack.push_back(j);
            }
          }
          for (int j : stack) expected[static_cast<std::size_t>(j)] = true;
        }
        expected[static_cast<std::size_t>(i)] = true;
        const std::size_t base = (static_cast<std::size_t>(b) * T + i) * T;
        for (int j = 0; j < T; ++j) {
          ASSERT_EQ(h[base + j], expected[static_cast<std::size_t>(j)])
              << "trial " << trial << " row " << b << " query " << i << " key " << j;
          const bool causal = i < n ? j <= i : j == i;
          ASSERT_EQ(s[base + j], causal) << "soft, row " << b << " query " << i << " key " << j;
        }
        ASSERT_EQ(batch.hardPositions[b][i].item<std::int64_t>(),
                  i < n ? static_cast<std::int64_t>(stack.size()) : 0);
      }
    }
  }
}

TEST(MasksBench, Build32x512) {
  std::mt19937 rng(7);
  std::vector<int> prompts, lengths;
  const at::Tensor ids = randomBatch(rng, 32, 512, prompts, lengths, 0.15);
  BatchOptions hardOnly;
  hardOnly.softMask = false;
  auto time = [&](const BatchOptions& options) {
    std::vector<double> ms;
    for (int r = 0; r < 7; ++r) {
      const auto start = std::chrono::steady_clock::now();
      const NmarBatch batch = buildNmarBatch(ids, prompts, kUndo, kPad, options);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      EXPECT_EQ(batch.hardMask.size(3), 512);
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  };
  const double hard = time(hardOnly);
  const double both = time(BatchOptions{});
  std::printf("[bench] buildNmarBatch 32x512 (hard+soft masks, %d threads): median %.2f ms\n",
              at::get_num_threads(), both);
  std::printf("[bench] buildNmarBatch 32x512 (hard mask only): median %.2f ms\n", hard);
}
