// The optimizer state of a checkpoint as plain safetensors (core/train/optimizer_state.h):
// save → load continues training bit for bit, and every kind of bad file is refused with a message
// naming the file and the field or tensor, leaving the optimizer as it was.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "checkpoint/safetensors.h"
#include "train/optimizer_state.h"
#include "util/error.h"
#include "test_common.h"

using namespace nmar::core;
using namespace nmar::core::testing;
namespace fs = std::filesystem;

namespace {

/** Two groups of parameters with fixed values (a copy gets the same values). */
std::vector<at::Tensor> makeParams(std::uint64_t seed) {
  at::manual_seed(seed);
  std::vector<at::Tensor> p = {at::randn({4, 3}), at::randn({3}), at::randn({2, 2})};
  for (auto& t : p) t.set_requires_grad(true);
  return p;
}

std::unique_ptr<torch::optim::AdamW> makeAdamW(const std::vector<at::Tensor>& p, bool amsgrad) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<at::Tensor>{p[0], p[1]},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(1e-2).weight_decay(0.1).amsgrad(amsgrad)));
  groups.emplace_back(std::vector<at::Tensor>{p[2]},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(3e-3).betas({0.8, 0.95}).amsgrad(amsgrad)));
  return std::make_unique<torch::optim::AdamW>(std::move(groups));
}

/** One step on a fixed quadratic loss whose gradient depends on @p k. */
void step(torch::optim::Optimizer& opt, const std::vector<at::Tensor>& p, int k) {
  opt.zero_grad();
  at::Tensor loss = at::zeros({});
  for (std::size_t i = 0; i < p.size(); ++i)
    loss = loss + ((p[i] - 0.1 * (k + static_cast<int>(i))) * (p[i] + 0.3)).pow(2).sum();
  loss.backward();
  opt.step();
}

void expectSameValues(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i], b[i])) << "param " << i;
}

/** Writes a trained optimizer's state to dir/optimizer.safetensors and returns its tensors. */
TensorMap savedState(const fs::path& dir, bool amsgrad, std::map<std::string, std::string>* meta) {
  auto p = makeParams(1);
  auto opt = makeAdamW(p, amsgrad);
  for (int k = 0; k < 3; ++k) step(*opt, p, k);
  saveOptimizerState(*opt, dir / kOptimizerStateFile);
  return readSafetensors(dir / kOptimizerStateFile, meta);
}

}  // namespace

TEST(OptimizerState, SaveLoadContinuesBitForBit) {
  for (bool amsgrad : {false, true}) {
    TempDir dir;
    const fs::path file = dir.path() / kOptimizerStateFile;
    // Reference: 5 uninterrupted steps.
    auto ref = makeParams(1);
    auto refOpt = makeAdamW(ref, amsgrad);
    for (int k = 0; k < 5; ++k) step(*refOpt, ref, k);
    // Interrupted: 3 steps, save (with a changed lr, as a schedule would), new optimizer, load, 2 more.
    auto a = makeParams(1);
    auto aOpt = makeAdamW(a, amsgrad);
    for (int k = 0; k < 3; ++k) step(*aOpt, a, k);
    saveOptimizerState(*aOpt, file);
    std::map<std::string, std::string> meta;
    const TensorMap t = readSafetensors(file, &meta);
    EXPECT_EQ(meta["format"], "nmar-optimizer/1");
    EXPECT_EQ(meta["type"], "adamw");
    EXPECT_EQ(t.at("param.0.step").item<std::int64_t>(), 3);
    EXPECT_EQ(t.at("param.2.exp_avg").sizes(), (std::vector<std::int64_t>{2, 2}));
    EXPECT_EQ(t.count("param.1.max_exp_avg_sq"), amsgrad ? 1u : 0u);

    std::vector<at::Tensor> b;
    {
      at::NoGradGuard g;
      for (const auto& x : a) b.push_back(x.detach().clone().set_requires_grad(true));
    }
    auto bOpt = makeAdamW(b, amsgrad);
    static_cast<torch::optim::AdamWOptions&>(bOpt->param_groups()[1].options()).lr(99.0);
    loadOptimizerState(*bOpt, file);
    EXPECT_DOUBLE_EQ(
        static_cast<torch::optim::AdamWOptions&>(bOpt->param_groups()[1].options()).lr(), 3e-3);
    EXPECT_EQ(std::get<0>(static_cast<torch::optim::AdamWOptions&>(bOpt->param_groups()[1].options())
                              .betas()),
              0.8);
    for (int k = 3; k < 5; ++k) step(*bOpt, b, k);
    expectSameValues(ref, b);
  }
}

TEST(OptimizerState, AStateThatNeverSteppedSavesNoTensors) {
  TempDir dir;
  auto p = makeParams(2);
  auto opt = makeAdamW(p, false);
  saveOptimizerState(*opt, dir.path() / kOptimizerStateFile);
  EXPECT_TRUE(readSafetensors(dir.path() / kOptimizerStateFile).empty());
  auto opt2 = makeAdamW(p, false);
  loadOptimizerState(*opt2, dir.path() / kOptimizerStateFile);
  EXPECT_TRUE(opt2->state().empty());
}

TEST(OptimizerState, BadFilesAreRefusedAndTheOptimizerIsUntouched) {
  TempDir dir;
  std::map<std::string, std::string> meta;
  const TensorMap good = savedState(dir.path(), false, &meta);
  const fs::path bad = dir.path() / "bad" / kOptimizerStateFile;
  fs::create_directories(bad.parent_path());

  auto p = makeParams(3);
  auto opt = makeAdamW(p, false);
  step(*opt, p, 0);
  const std::size_t states = opt->state().size();
  auto tryLoad = [&](const TensorMap& t, const std::map<std::string, std::string>& m) {
    writeSafetensors(bad, t, m);
    const std::string e = errorOf([&] { loadOptimizerState(*opt, bad); });
    EXPECT_EQ(opt->state().size(), states);
    EXPECT_DOUBLE_EQ(
        static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options()).lr(), 1e-2);
    EXPECT_NE(e.find(bad.string()), std::string::npos) << e;
    return e;
  };
  auto with = [&](const std::string& key, const std::string& value) {
    auto m = meta;
    m[key] = value;
    return m;
  };
  EXPECT_NE(tryLoad(good, with("format", "torch")).find("not an nmar AdamW optimizer state"),
            std::string::npos);
  EXPECT_NE(tryLoad(good, with("groups", "[{")).find("\"groups\" is not valid JSON"),
            std::string::npos);
  EXPECT_NE(tryLoad(good, with("groups", "[]")).find("must list 2 parameter group(s)"),
            std::string::npos);
  std::string groups = meta["groups"];
  const auto at = groups.find("\"params\":2");
  ASSERT_NE(at, std::string::npos) << groups;
  EXPECT_NE(tryLoad(good, with("groups", std::string(groups).replace(at, 10, "\"params\":5")))
                .find("\"params\" = 5, but the model has 2"),
            std::string::npos);
  const auto lr = groups.find("\"lr\":");
  EXPECT_NE(tryLoad(good, with("groups", std::string(groups).replace(lr, 5, "\"lr\":-1,\"x\":")))
                .find("\"lr\" = -1 is out of range"),
            std::string::npos);

  TensorMap t = good;
  t["param.0.exp_avg"] = at::zeros({3, 4});
  EXPECT_NE(tryLoad(t, meta).find("tensor \"param.0.exp_avg\" has shape [3, 4]"),
            std::string::npos);
  t = good;
  t["param.1.exp_avg_sq"] = at::full({3}, std::nan(""));
  EXPECT_NE(tryLoad(t, meta).find("\"param.1.exp_avg_sq\" holds NaN"), std::string::npos);
  t = good;
  t["param.2.step"] = at::tensor({std::int64_t{0}});
  EXPECT_NE(tryLoad(t, meta).find("\"param.2.step\" must be one I64 value >= 1"),
            std::string::npos);
  t = good;
  t.erase("param.0.exp_avg_sq");
  EXPECT_NE(tryLoad(t, meta).find("\"param.0.exp_avg_sq\" is missing"), std::string::npos);
  t = good;
  t["param.7.exp_avg"] = at::zeros({1});
  EXPECT_NE(tryLoad(t, meta).find("\"param.7.exp_avg\" belongs to no parameter"),
            std::string::npos);
  t = good;
  t.erase("param.1.step");
  EXPECT_NE(tryLoad(t, meta).find("has no \"param.1.step\""), std::string::npos);

  std::ofstream(bad, std::ios::trunc) << "garbage";
  EXPECT_NE(errorOf([&] { loadOptimizerState(*opt, bad); }).find(bad.string()),
            std::string::npos);
  EXPECT_EQ(opt->state().size(), states);
}

TEST(OptimizerState, MissingAndLegacyFilesGetClearMessages) {
  TempDir dir;
  auto p = makeParams(4);
  auto opt = makeAdamW(p, false);
  std::string e = errorOf([&] { loadOptimizerState(*opt, dir.path() / kOptimizerStateFile); });
  EXPECT_NE(e.find("optimizer.safetensors: missing"), std::string::npos) << e;
  std::ofstream(dir.path() / "optimizer.pt") << "PK";
  e = errorOf([&] { requireOptimizerState(dir.path()); });
  EXPECT_NE(e.find("optimizer.pt: an optimizer state from an earlier nmar"), std::string::npos)
      << e;
  EXPECT_NE(e.find("[model].checkpoint"), std::string::npos) << e;
}

TEST(OptimizerState, OnlyAdamWIsSupported) {
  TempDir dir;
  auto p = makeParams(5);
  torch::optim::SGD sgd(p, torch::optim::SGDOptions(0.1));
  const std::string e =
      errorOf([&] { saveOptimizerState(sgd, dir.path() / kOptimizerStateFile); });
  EXPECT_NE(e.find("only the AdamW optimizer"), std::string::npos) << e;
}
