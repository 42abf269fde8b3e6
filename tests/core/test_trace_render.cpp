// Step lines for replay and live decode output: quoting, the stack tracker, colours.
#include <gtest/gtest.h>

#include <string>

#include "trace/trace_render.h"
#include "util/error.h"

using namespace nmar::core;

namespace {

TraceStep push(std::int64_t id, const std::string& text, int position, int depth) {
  TraceStep s;
  s.token = id;
  s.text = text;
  s.position = position;
  s.depth = depth;
  return s;
}

TraceStep pop(std::int64_t undo, std::int64_t popped, int position, int depth) {
  TraceStep s;
  s.kind = StepKind::kPop;
  s.token = undo;
  s.popped = popped;
  s.text = "<|undo|>";
  s.position = position;
  s.depth = depth;
  return s;
}

}  // namespace

TEST(TraceRender, QuoteTextEscapes) {
  EXPECT_EQ(quoteText("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quoteText("x\ny\tz\r"), "\"x\\ny\\tz\\r\"");
  EXPECT_EQ(quoteText(std::string("\x1b[31m", 5)), "\"\\u001B[31m\"");
  EXPECT_EQ(quoteText("caf\xc3\xa9 \xe2\x9f\xb2"), "\"caf\xc3\xa9 \xe2\x9f\xb2\"");  // UTF-8 kept
  EXPECT_EQ(quoteText("a\xff"
                      "b"),
            "\"a\\xFFb\"");                   // invalid byte
  EXPECT_EQ(quoteText("\xc3"), "\"\\xC3\"");  // truncated
  EXPECT_EQ(quoteText(""), "\"\"");
}

TEST(TraceRender, TrackerFollowsPushesAndPops) {
  StackTextTracker t("3+4=");
  EXPECT_EQ(t.apply(push(10, "1", 4, 1), 0), "");
  EXPECT_EQ(t.apply(push(11, "2", 5, 2), 1), "");
  EXPECT_EQ(t.stackText(), "3+4=12");
  EXPECT_EQ(t.apply(pop(99, 11, 6, 1), 2), "2");
  EXPECT_EQ(t.apply(pop(99, 10, 5, 0), 3), "1");
  EXPECT_EQ(t.depth(), 0);
  EXPECT_EQ(t.outputText(), "");
  try {
    t.apply(pop(99, 10, 4, 0), 4);
    FAIL() << "void UNDO accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 4: pop with nothing to pop (void UNDO)"),
              std::string::npos)
        << e.what();
  }
  t.apply(push(12, "7", 4, 1), 4);
  EXPECT_EQ(t.ids(), (std::vector<std::int64_t>{12}));
  const nlohmann::json j = stepStateJson(push(12, "7", 4, 1), 4, t, "");
  EXPECT_EQ(j["stack_text"], "3+4=7");
  EXPECT_EQ(j["output_text"], "7");
  EXPECT_FALSE(j.contains("popped"));
  EXPECT_FALSE(j.contains("logprob"));
}

TEST(TraceRender, StepLinePlainAndColoured) {
  TraceStep s = push(10, "7", 12, 3);
  s.logprob = -0.25;
  s.entropy = 1.0;
  EXPECT_EQ(renderStep(s, 7, "348+275=627", false),
            "    7  push   \"7\"         pos 12    depth 3    logp -0.250  H 1.000  stack: "
            "\"348+275=627\"");
  TraceStep p = pop(99, 10, 13, 2);
  p.forced = true;
  EXPECT_EQ(renderStep(p, 8, "348+275=62", false, "7"),
            "    8  pop  \u27f2 \"7\"         pos 13    depth 2    FORCED  stack: \"348+275=62\"");
  // Without the popped text, the popped id is shown.
  EXPECT_NE(renderStep(p, 8, "", false).find("\u27f2 #10"), std::string::npos);
  const std::string c = renderStep(p, 8, "x", true, "7");
  EXPECT_NE(c.find("\x1b[31mpop \x1b[0m"), std::string::npos) << c;
  EXPECT_NE(c.find("\x1b[1;33mFORCED\x1b[0m"), std::string::npos) << c;
  EXPECT_EQ(renderStep(p, 8, "x", false, "7").find('\x1b'), std::string::npos);
}
