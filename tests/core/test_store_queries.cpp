// RunStore queries: listing runs filtered by kind, status, tag, name and config values.
#include <gtest/gtest.h>

#include <algorithm>

#include "store/run_store.h"
#include "test_store_support.h"
#include "util/error.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

class Queries : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    m_store = std::make_unique<RunStore>(path("runs.sqlite"));
    add("sft baseline", "sft",
        {{"lr", 0.001}, {"model", {{"family", "llama"}, {"layers", 4}}}, {"packed", true}},
        {"baseline"}, RunStatus::kFinished);
    add("sft big lr", "sft",
        {{"lr", 0.01}, {"model", {{"family", "llama"}, {"layers", 8}}}, {"packed", false}},
        {"sweep"}, RunStatus::kFailed);
    add("grpo from baseline", "grpo",
        {{"lr", 0.001}, {"model", {{"family", "gpt2"}}}, {"note", nullptr}}, {"sweep", "best"},
        RunStatus::kRunning);
    add("decode demo", "decode", {{"sampler", {{"temperature", 0.7}, {"top_k", 5}}}}, {},
        RunStatus::kCancelled);
  }
  void add(const std::string& name, const std::string& kind, nlohmann::json config,
           std::vector<std::string> tags, RunStatus status) {
    NewRun r;
    r.name = name;
    r.kind = kind;
    r.config = std::move(config);
    r.tags = std::move(tags);
    const std::int64_t id = m_store->createRun(r);
    if (status != RunStatus::kRunning) m_store->finishRun(id, status);
  }
  std::vector<std::string> names(const RunFilter& f) {
    std::vector<std::string> out;
    for (const RunInfo& r : m_store->listRuns(f)) out.push_back(r.name);
    return out;
  }
  RunFilter where(const std::string& condition) {
    RunFilter f;
    f.configEquals.push_back(parseConfigCondition(condition, "--where"));
    return f;
  }
  std::unique_ptr<RunStore> m_store;
};

using Names = std::vector<std::string>;

}  // namespace

TEST_F(Queries, AllRunsByIncreasingId) {
  const auto runs = m_store->listRuns();
  ASSERT_EQ(runs.size(), 4u);
  for (std::size_t i = 1; i < runs.size(); ++i) EXPECT_LT(runs[i - 1].id, runs[i].id);
  EXPECT_EQ(runs[2].tags, (Names{"best", "sweep"}));
}

TEST_F(Queries, ByKindStatusTagAndName) {
  RunFilter kind;
  kind.kind = "sft";
  EXPECT_EQ(names(kind), (Names{"sft baseline", "sft big lr"}));
  RunFilter status;
  status.status = RunStatus::kRunning;
  EXPECT_EQ(names(status), (Names{"grpo from baseline"}));
  RunFilter tag;
  tag.tag = "sweep";
  EXPECT_EQ(names(tag), (Names{"sft big lr", "grpo from baseline"}));
  RunFilter name;
  name.nameContains = "baseline";
  EXPECT_EQ(names(name), (Names{"sft baseline", "grpo from baseline"}));
  RunFilter none;
  none.nameContains = "BASELINE";  // case-sensitive
  EXPECT_TRUE(names(none).empty());
  RunFilter combined;
  combined.tag = "sweep";
  combined.kind = "sft";
  combined.status = RunStatus::kFailed;
  EXPECT_EQ(names(combined), (Names{"sft big lr"}));
}

TEST_F(Queries, ByConfigValues) {
  EXPECT_EQ(names(where("lr=0.001")), (Names{"sft baseline", "grpo from baseline"}));
  EXPECT_EQ(names(where("model.family=llama")), (Names{"sft baseline", "sft big lr"}));
  EXPECT_EQ(names(where("model.layers=8")), (Names{"sft big lr"}));
  EXPECT_EQ(names(where("packed=true")), (Names{"sft baseline"}));
  EXPECT_EQ(names(where("packed=false")), (Names{"sft big lr"}));
  EXPECT_EQ(names(where("sampler.temperature=0.7")), (Names{"decode demo"}));
  EXPECT_EQ(names(where("$.sampler.top_k=5")), (Names{"decode demo"}));
  EXPECT_EQ(names(where("note=null")), (Names{"grpo from baseline"}));  // present and null only
  EXPECT_TRUE(names(where("model.family=\"8\"")).empty());
  RunFilter both = where("lr=0.001");
  both.configEquals.push_back(parseConfigCondition("model.family=gpt2", "--where"));
  EXPECT_EQ(names(both), (Names{"grpo from baseline"}));
}

TEST_F(Queries, ABadConfigPathNamesItself) {
  try {
    m_store->listRuns(where("$$bad=1"));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("$$bad"), std::string::npos) << e.what();
  }
}
