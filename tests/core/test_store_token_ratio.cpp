// Run store schema v3: token scores carry the GRPO importance ratio; it round-trips, survives an
// import, and a store migrated from v1 keeps its old scores with no ratio.
#include <gtest/gtest.h>

#include "store/run_store.h"
#include "store/schema.h"
#include "test_store_support.h"
#include "trace/trace_io.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

class TokenRatio : public StoreTest {};

std::vector<TokenScore> scoresOf(const Trace& t) {
  std::vector<TokenScore> out;
  for (int i = 0; i < static_cast<int>(t.steps.size()); ++i) {
    TokenScore s{i, t.steps[i].token, 0.25 * i, -0.5, t.steps[i].logprob};
    s.ratio = i == 0 ? std::optional<double>() : 1.0 + 0.125 * i;
    out.push_back(s);
  }
  return out;
}

}  // namespace

TEST_F(TokenRatio, RoundTripsAndImports) {
  EXPECT_EQ(kSchemaVersion, 3);
  const Trace t = sampleTrace(1);
  const std::vector<TokenScore> scores = scoresOf(t);
  {
    RunStore store(path("a.sqlite"));
    NewRun nr;
    nr.name = "g";
    nr.kind = "grpo";
    const std::int64_t run = store.createRun(nr);
    store.addTrace(run, 2, t, 0, scores);
    store.finishRun(run, RunStatus::kFinished);
    store.flush();
    const auto back = store.tokenScores(store.traces(run)[0].id);
    ASSERT_EQ(back.size(), scores.size());
    ASSERT_GE(back.size(), 2u);
    EXPECT_FALSE(back[0].ratio.has_value());
    for (std::size_t i = 1; i < back.size(); ++i) EXPECT_EQ(back[i].ratio, scores[i].ratio);
  }
  RunStore other(path("b.sqlite"));
  const ImportReport report = other.importFrom(path("a.sqlite"));
  ASSERT_EQ(report.runIds.size(), 1u);
  const auto back = other.tokenScores(other.traces(report.runIds[0])[0].id);
  ASSERT_EQ(back.size(), scores.size());
  EXPECT_EQ(back[1].ratio, scores[1].ratio);
}

TEST_F(TokenRatio, OldScoresHaveNoRatioAfterMigration) {
  const fs::path db = path("v1.sqlite");
  writeV1Store(db, traceToJsonLine(sampleTrace(7)));
  RunStore store(db);
  EXPECT_EQ(sqlInt(db, "PRAGMA user_version"), 3);
  const auto scores = store.tokenScores(1);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0].reward, 0.5);
  EXPECT_FALSE(scores[0].ratio.has_value());
  EXPECT_FALSE(scores[1].ratio.has_value());
}
