// The trace format nmar-trace/1 (spec §5): JSON round trip, replay validation, malformed input.
#include <gtest/gtest.h>

#include <functional>

#include "trace/trace.h"
#include "util/error.h"

using namespace nmar::core;
using nlohmann::json;

namespace {

constexpr std::int64_t kUndo = 99;
constexpr std::int64_t kEos = 2;

TraceStep step(StepKind kind, std::int64_t token, int position, int depth,
               std::int64_t popped = -1) {
  TraceStep s;
  s.kind = kind;
  s.token = token;
  s.popped = popped;
  s.position = position;
  s.depth = depth;
  return s;
}

/** prompt "2+" then a x UNDO b EOS (hard mode), with every optional field used somewhere. */
Trace sampleTrace() {
  Trace t;
  t.model = "demo-addition";
  t.tokenizer = "char:v1";
  t.mode = TraceMode::kHard;
  t.sampler = {{"temperature", 0.8}, {"top_p", 0.95}, {"top_k", 0}};
  t.seed = 1234567890123ull;
  t.promptIds = {10, 11};
  t.promptText = "2+";
  t.undoId = kUndo;
  t.eosId = kEos;
  TraceStep a = step(StepKind::kPush, 5, 2, 1);
  a.text = "a";
  a.logprob = -0.105;
  a.topk = {{5, 0.9}, {6, 0.05}};
  a.entropy = 0.41;
  a.attention.heads = 2;
  a.attention.keys = 3;
  a.attention.layers = {{0.5f, 0.25f, 0.25f, 0.1f, 0.2f, 0.7f},
                        {1.0f, 0.0f, 0.0f, 0.3f, 0.3f, 0.4f}};
  TraceStep x = step(StepKind::kPush, 6, 3, 2);
  x.text = "x";
  x.forced = true;
  x.logprob = -3.5;
  TraceStep undo = step(StepKind::kPop, kUndo, 4, 1, 6);
  undo.text = "<|undo|>";
  undo.logprob = -0.2;
  TraceStep b = step(StepKind::kPush, 7, 3, 2);
  b.text = "b";
  TraceStep eos = step(StepKind::kPush, kEos, 4, 3);
  eos.text = "</s>";
  t.steps = {a, x, undo, b, eos};
  t.outputIds = {5, 7};
  t.outputText = "ab";
  t.verdict = {{"accepted", true}};
  t.rewards = {{"outcome", 1.0}, {"efficiency", -0.1}};
  t.meta = {{"note", "unit test"}};
  return t;
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string validationError(const Trace& t) {
  return errorOf([&] { validateTrace(t, "t.json"); });
}

std::string readError(const json& j) {
  return errorOf([&] { traceFromJson(j, "t.json"); });
}

}  // namespace

TEST(Trace, JsonRoundTripKeepsEverything) {
  const Trace t = sampleTrace();
  EXPECT_NO_THROW(validateTrace(t));
  const json j = toJson(t);
  EXPECT_EQ(j["format"], "nmar-trace/1");
  EXPECT_EQ(j["steps"][2]["kind"], "pop");
  EXPECT_EQ(j["steps"][2]["popped"], 6);
  EXPECT_FALSE(j["steps"][0].contains("popped"));
  EXPECT_FALSE(j["steps"][3].contains("logprob"));      // absent stays absent
  EXPECT_EQ(j["steps"][0]["attention"][1][1][2], 0.4);  // floats written compactly
  const Trace back = traceFromJson(j, "mem");
  EXPECT_EQ(back, t);
  EXPECT_EQ(toJson(back), j);
  // Through text as well.
  const Trace reparsed = traceFromJson(json::parse(j.dump()), "mem");
  EXPECT_EQ(reparsed, t);
  EXPECT_FLOAT_EQ(reparsed.steps[0].attention.at(1, 1, 2), 0.4f);
}

TEST(Trace, StructInequalityIsDetected) {
  Trace t = sampleTrace();
  Trace u = t;
  u.steps[1].forced = false;
  EXPECT_NE(t, u);
  u = t;
  u.steps[0].attention.layers[0][0] = 0.51f;
  EXPECT_NE(t, u);
}

TEST(Trace, OutputMayKeepOrDropTheFinalEos) {
  Trace t = sampleTrace();
  t.outputIds = {5, 7, kEos};
  EXPECT_NO_THROW(validateTrace(t));
  t.outputIds = {5};
  EXPECT_NE(validationError(t).find("field 'output_ids': [5] differs from the replayed stack's "
                                    "output [5, 7, 2]"),
            std::string::npos)
      << validationError(t);
}

TEST(Trace, StepsFromSequenceHardAndSoft) {
  const std::vector<std::int64_t> ids{10, 11, 5, 6, kUndo, 7};
  const std::vector<TraceStep> hard = stepsFromSequence(ids, 2, kUndo);
  ASSERT_EQ(hard.size(), 4u);
  EXPECT_EQ(hard[0], step(StepKind::kPush, 5, 2, 1));
  EXPECT_EQ(hard[1], step(StepKind::kPush, 6, 3, 2));
  EXPECT_EQ(hard[2], step(StepKind::kPop, kUndo, 4, 1, 6));
  EXPECT_EQ(hard[3], step(StepKind::kPush, 7, 3, 2));
  EXPECT_FALSE(hard[0].logprob.has_value());
  const std::vector<TraceStep> soft = stepsFromSequence(ids, 2, kUndo, TraceMode::kSoft);
  EXPECT_EQ(soft[3].position, 5);
  EXPECT_EQ(soft[3].depth, 2);

  Trace t;
  t.model = "dataset";
  t.tokenizer = "char";
  t.promptIds = {10, 11};
  t.undoId = kUndo;
  t.steps = hard;
  t.outputIds = {5, 7};
  EXPECT_NO_THROW(validateTrace(t));
  EXPECT_EQ(traceSequence(t), ids);
  t.mode = TraceMode::kSoft;
  t.steps = soft;
  EXPECT_NO_THROW(validateTrace(t));
  EXPECT_THROW(stepsFromSequence({10, kUndo}, 1, kUndo), Error);
}

TEST(Trace, VoidUndoNamesTheStep) {
  Trace t = sampleTrace();
  t.steps.insert(t.steps.begin(), step(StepKind::kPop, kUndo, 2, -1, 5));
  EXPECT_EQ(validationError(t), "t.json: step 0: pop with nothing to pop (void UNDO)");
}

TEST(Trace, VoidUndoLaterInTheTrace) {
  // push pop push pop push pop pop: step 6 is void.
  Trace t = sampleTrace();
  t.steps.clear();
  for (int k = 0; k < 3; ++k) {
    t.steps.push_back(step(StepKind::kPush, 5, 2, 1));
    t.steps.push_back(step(StepKind::kPop, kUndo, 3, 0, 5));
  }
  t.steps.push_back(step(StepKind::kPop, kUndo, 2, -1, 5));
  EXPECT_EQ(validationError(t), "t.json: step 6: pop with nothing to pop (void UNDO)");
}

TEST(Trace, WrongPositionDepthPoppedAndTokens) {
  Trace t = sampleTrace();
  t.steps[3].position = 5;
  EXPECT_EQ(validationError(t),
            "t.json: step 3: field 'position': is 5, expected 3 (|S| before the step)");
  t = sampleTrace();
  t.mode = TraceMode::kSoft;
  EXPECT_NE(validationError(t).find("step 3: field 'position': is 3, expected 5 (soft"),
            std::string::npos);
  t = sampleTrace();
  t.steps[2].depth = 2;
  EXPECT_NE(validationError(t).find("step 2: field 'depth': is 2, expected 1"), std::string::npos);
  t = sampleTrace();
  t.steps[2].popped = 5;
  EXPECT_NE(
      validationError(t).find("step 2: field 'popped': is 5, but the replayed stack's top is 6"),
      std::string::npos);
  t = sampleTrace();
  t.steps[2].token = 3;
  EXPECT_NE(validationError(t).find("step 2: field 'token': a pop must carry the UNDO id 99"),
            std::string::npos);
  t = sampleTrace();
  t.steps[1].token = kUndo;
  EXPECT_NE(validationError(t).find("step 1: field 'token': a push of the UNDO id"),
            std::string::npos);
}

TEST(Trace, WrongOutput) {
  Trace t = sampleTrace();
  t.outputIds = {5, 6};
  EXPECT_EQ(
      validationError(t),
      "t.json: field 'output_ids': [5, 6] differs from the replayed stack's output [5, 7, 2]");
}

TEST(Trace, ProbabilitiesAndAttentionAreChecked) {
  Trace t = sampleTrace();
  t.steps[0].logprob = 0.1;
  EXPECT_NE(validationError(t).find("step 0: field 'logprob': 0.1 is not a log-probability"),
            std::string::npos);
  t = sampleTrace();
  t.steps[0].topk[1].prob = 1.5;
  EXPECT_NE(validationError(t).find("step 0: field 'topk'[1]: probability 1.5 is outside [0, 1]"),
            std::string::npos);
  t = sampleTrace();
  t.steps[0].entropy = -1.0;
  EXPECT_NE(validationError(t).find("step 0: field 'entropy'"), std::string::npos);
  t = sampleTrace();
  t.steps[1].attention = t.steps[0].attention;  // step 1 is at position 3: needs 4 keys
  EXPECT_NE(validationError(t).find("step 1: field 'attention': rows have 3 keys, expected 4"),
            std::string::npos);
  t = sampleTrace();
  t.steps[0].attention.layers[1][4] = 2.0f;
  EXPECT_NE(validationError(t).find("layer 1, head 1, key 1: 2 is not a probability"),
            std::string::npos);
}

TEST(Trace, BadFormatString) {
  json j = toJson(sampleTrace());
  j["format"] = "nmar-trace/2";
  EXPECT_EQ(readError(j),
            "t.json: field 'format': 'nmar-trace/2' is not a supported trace format (expected "
            "'nmar-trace/1')");
}

TEST(Trace, MissingFields) {
  json j = toJson(sampleTrace());
  j.erase("undo_id");
  EXPECT_EQ(readError(j), "t.json: missing field 'undo_id'");
  j = toJson(sampleTrace());
  j.erase("format");
  EXPECT_EQ(readError(j), "t.json: missing field 'format'");
  j = toJson(sampleTrace());
  j["steps"][3].erase("position");
  EXPECT_EQ(readError(j), "t.json: step 3: missing field 'position'");
  j = toJson(sampleTrace());
  j["steps"][2].erase("popped");
  EXPECT_EQ(readError(j), "t.json: step 2: missing field 'popped'");
}

TEST(Trace, WrongTypes) {
  json j = toJson(sampleTrace());
  j["seed"] = "42";
  EXPECT_EQ(readError(j), "t.json: field 'seed': expected a non-negative integer, got string");
  j = toJson(sampleTrace());
  j["steps"][1]["position"] = "3";
  EXPECT_EQ(readError(j), "t.json: step 1: field 'position': expected an integer, got string");
  j = toJson(sampleTrace());
  j["steps"][1]["forced"] = 1;
  EXPECT_EQ(readError(j), "t.json: step 1: field 'forced': expected a boolean, got number");
  j = toJson(sampleTrace());
  j["prompt_ids"][1] = 1.5;
  EXPECT_EQ(readError(j),
            "t.json: field 'prompt_ids'[1]: expected an integer token id, got number");
  j = toJson(sampleTrace());
  j["steps"][0]["topk"][0] = json::array({5});
  EXPECT_NE(readError(j).find("step 0: field 'topk'[0]: expected an [id, prob] pair"),
            std::string::npos);
  j = toJson(sampleTrace());
  j["steps"] = json::object();
  EXPECT_EQ(readError(j), "t.json: field 'steps': expected an array of steps, got object");
  EXPECT_EQ(readError(json::array()), "t.json: expected a trace (a JSON object), got array");
}

TEST(Trace, UnknownFieldsKindsAndModesAreRejected) {
  json j = toJson(sampleTrace());
  j["verdikt"] = true;
  EXPECT_EQ(readError(j), "t.json: unknown field 'verdikt'");
  j = toJson(sampleTrace());
  j["steps"][0]["logp"] = -1;
  EXPECT_EQ(readError(j), "t.json: step 0: unknown field 'logp'");
  j = toJson(sampleTrace());
  j["steps"][0]["kind"] = "insert";
  EXPECT_EQ(readError(j), "t.json: step 0: field 'kind': 'insert' is neither 'push' nor 'pop'");
  j = toJson(sampleTrace());
  j["mode"] = "greedy";
  EXPECT_NE(readError(j).find("field 'mode': unknown decode mode 'greedy'"), std::string::npos);
  j = toJson(sampleTrace());
  j["steps"][0]["popped"] = 3;
  EXPECT_EQ(readError(j), "t.json: step 0: field 'popped': only a pop step has one");
}

TEST(Trace, ReadingValidates) {
  json j = toJson(sampleTrace());
  j["steps"][4]["depth"] = 7;
  EXPECT_EQ(readError(j),
            "t.json: step 4: field 'depth': is 7, expected 3 (trace tokens on the stack after the "
            "step)");
}
