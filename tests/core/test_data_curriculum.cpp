// Curriculum schedules: steps, competence (with min_steps and a step cap), none (uniform mix),
// state()/restore() round trips, and config errors that name the field.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "data/curriculum.h"
#include "test_data_support.h"

using namespace nmar::core;
using nlohmann::json;

namespace {

json threeStages(const std::string& kind) {
  return json{{"kind", kind},
              {"min_steps", 5},
              {"stages",
               {{{"events", 1}, {"max_length", 1}, {"steps", 10}, {"competence", 0.5}},
                {{"events", 2}, {"max_length", 2}, {"steps", 20}, {"competence", 0.8}},
                {{"events", 3}, {"max_length", 4}}}}};
}

std::pair<int, int> drawn(const Curriculum& c) {
  std::mt19937_64 rng(1);
  const Curriculum::Draw d = c.draw(rng);
  return {d.events, d.maxLength};
}

}  // namespace

TEST(DataCurriculum, StepsScheduleAdvancesAfterEachStagesSteps) {
  Curriculum c = Curriculum::fromJson(threeStages("steps"), "curriculum");
  EXPECT_EQ(c.kind(), CurriculumKind::kSteps);
  EXPECT_EQ(c.stageCount(), 3);
  std::vector<int> stageAtStep;  // the stage the batch of step s is drawn in
  for (int step = 1; step <= 40; ++step) {
    stageAtStep.push_back(c.stageIndex());
    c.onStep(step);
  }
  for (int s = 1; s <= 10; ++s) EXPECT_EQ(stageAtStep[s - 1], 0) << s;
  for (int s = 11; s <= 30; ++s) EXPECT_EQ(stageAtStep[s - 1], 1) << s;
  for (int s = 31; s <= 40; ++s) EXPECT_EQ(stageAtStep[s - 1], 2) << s;
  EXPECT_EQ(drawn(c), std::make_pair(3, 4));
  EXPECT_EQ(c.stageStart(), 30);
  c.reportCompetence(1.0, 41);  // ignored by a steps schedule
  EXPECT_EQ(c.stageIndex(), 2);
  EXPECT_EQ(c.describe(),
            "steps curriculum: stage 3/3 (events 3, max length 4), since step 30, "
            "last detection rate 1");

  // A jump over several stages keeps each stage's exact length.
  Curriculum j = Curriculum::fromJson(threeStages("steps"), "curriculum");
  j.onStep(35);
  EXPECT_EQ(j.stageIndex(), 2);
  EXPECT_EQ(j.stageStart(), 30);
}

TEST(DataCurriculum, CompetenceScheduleNeedsTheRateAndMinSteps) {
  json cfg = threeStages("competence");
  cfg["stages"][0].erase("steps");  // stage 1 ends by competence only
  Curriculum c = Curriculum::fromJson(cfg, "curriculum");
  for (int step = 1; step <= 3; ++step) c.onStep(step);
  c.reportCompetence(0.9, 3);  // above 0.5 but before min_steps (5)
  EXPECT_EQ(c.stageIndex(), 0);
  c.onStep(4);
  c.reportCompetence(0.4, 4);  // below the threshold
  EXPECT_EQ(c.stageIndex(), 0);
  c.onStep(100);  // no step count: it never ends by steps
  EXPECT_EQ(c.stageIndex(), 0);
  c.reportCompetence(0.5, 100);
  EXPECT_EQ(c.stageIndex(), 1);
  EXPECT_EQ(c.stageStart(), 100);
  EXPECT_EQ(drawn(c), std::make_pair(2, 2));
  // Stage 2 has a step cap of 20: it ends at step 120 without competence.
  c.reportCompetence(0.7, 110);
  c.onStep(119);
  EXPECT_EQ(c.stageIndex(), 1);
  c.onStep(120);
  EXPECT_EQ(c.stageIndex(), 2);
  c.reportCompetence(1.0, 500);  // the last stage never ends
  EXPECT_EQ(c.stageIndex(), 2);
}

TEST(DataCurriculum, NoneMixesAllStagesUniformly) {
  Curriculum c = Curriculum::fromJson(threeStages("none"), "curriculum");
  std::mt19937_64 rng(4);
  std::map<std::pair<int, int>, int> counts;
  for (int i = 0; i < 3000; ++i) {
    const Curriculum::Draw d = c.draw(rng);
    ++counts[{d.events, d.maxLength}];
    c.onStep(i + 1);
  }
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [pair, n] : counts) {
    EXPECT_GT(n, 900) << pair.first;
    EXPECT_LT(n, 1100) << pair.first;
  }
  EXPECT_EQ(c.stageIndex(), 0);
  EXPECT_EQ(c.describe(), "none curriculum: uniform over 3 stages");
}

TEST(DataCurriculum, AbsentCurriculumOverridesNothing) {
  for (const json& j : {json(), json::object()}) {
    const Curriculum c = Curriculum::fromJson(j, "curriculum");
    EXPECT_FALSE(c.overrides());
    EXPECT_EQ(c.stageCount(), 1);
    EXPECT_EQ(drawn(c), std::make_pair(0, 0)) << "0: the deviation settings decide";
    EXPECT_EQ(c.toJson(), json::object());
    EXPECT_EQ(c.describe(), "no curriculum (the deviation settings decide events and lengths)");
    Curriculum d;
    d.restore(c.state());
    EXPECT_EQ(d.state(), c.state());
  }
  EXPECT_TRUE(Curriculum::fromJson(threeStages("none"), "c").overrides());
}

TEST(DataCurriculum, StateRestoreRoundTrip) {
  Curriculum a = Curriculum::fromJson(threeStages("competence"), "curriculum");
  a.onStep(10);
  a.reportCompetence(0.6, 12);
  EXPECT_EQ(a.stageIndex(), 1);
  const json state = json::parse(a.state().dump());
  Curriculum b = Curriculum::fromJson(threeStages("competence"), "curriculum");
  b.restore(state);
  EXPECT_EQ(b.stageIndex(), 1);
  EXPECT_EQ(b.stageStart(), a.stageStart());
  EXPECT_EQ(b.describe(), a.describe());
  EXPECT_EQ(b.state(), a.state());
  // Both continue identically.
  for (int step = 13; step <= 40; ++step) {
    a.onStep(step);
    b.onStep(step);
    EXPECT_EQ(a.stageIndex(), b.stageIndex()) << step;
  }
  EXPECT_EQ(Curriculum::fromJson(a.toJson(), "x").toJson(), a.toJson());

  Curriculum steps = Curriculum::fromJson(threeStages("steps"), "curriculum");
  EXPECT_DATA_ERROR(steps.restore(state),
                    "curriculum state: saved by a 'competence' curriculum, this one is 'steps'");
  json two = threeStages("competence");
  two["stages"].erase(2);
  Curriculum shorter = Curriculum::fromJson(two, "curriculum");
  EXPECT_DATA_ERROR(shorter.restore(state), "saved by a curriculum of 3 stages, this one has 2");
  const json before = b.state();
  json broken = state;
  broken["stage"] = 7;
  EXPECT_DATA_ERROR(b.restore(broken), "field 'stage' 7 is outside [0, 3)");
  broken.erase("stage");
  EXPECT_DATA_ERROR(b.restore(broken), "field 'stage' is missing");
  EXPECT_EQ(b.state(), before) << "a failed restore changes nothing";
}

TEST(DataCurriculum, ConfigErrorsNameTheField) {
  const auto bad = [](const json& j, const std::string& expected) {
    EXPECT_DATA_ERROR(Curriculum::fromJson(j, "exp.toml [curriculum]"), expected);
  };
  bad(json{{"kind", "linear"}, {"stages", {{{"events", 1}}}}},
      "exp.toml [curriculum]: field 'kind': unknown value 'linear' (expected one of none, steps, "
      "competence)");
  bad(json{{"kind", "steps"}}, "field 'stages': expected a non-empty array");
  bad(json{{"stages", json::array()}}, "field 'stages': expected a non-empty array of stages");
  bad(json{{"stages", {{{"events", 1}}, {{"events", 2}}}}},
      "field 'stages[0].steps': expected > 0 (every stage but the last needs a step count");
  bad(json{{"kind", "competence"}, {"stages", {{{"events", 1}}, {{"events", 2}}}}},
      "field 'stages[0].competence': expected > 0, or steps > 0");
  bad(json{{"stages", {{{"events", 0}}}}},
      "field 'stages[0].events': expected an integer in [1, 64], got 0");
  bad(json{{"stages", {{{"events", 1}, {"competence", 1.5}}}}},
      "field 'stages[0].competence': expected a number in [0, 1], got 1.5");
  bad(json{{"stages", {{{"events", 1}, {"length", 2}}}}}, "unknown field 'stages[0].length'");
  bad(json{{"stages", {1}}}, "exp.toml [curriculum]: field 'stages[0]': expected an object");
  bad(json{{"stages", {{{"events", 1}}}}, {"min_step", 3}}, "unknown field 'min_step'");
}
