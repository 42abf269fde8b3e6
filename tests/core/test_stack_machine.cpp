// The stack machine on the hand-written cases of the spec (§1, §2, §4).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "nmar/stack_machine.h"
#include "nmar/target_group.h"
#include "util/error.h"

using namespace nmar::core;

namespace {

constexpr std::int64_t kUndo = 99;
constexpr std::int64_t kPad = 0;
// Token ids used in the spec examples.
constexpr std::int64_t P = 10, A = 1, B = 2, C = 3, D = 4, X = 7, Y = 8, U = kUndo;

std::vector<int> depths(const StackAnalysis& a) { return a.depthBefore; }

std::string errorOf(const std::vector<std::int64_t>& ids, int m, const SequenceOptions& o) {
  try {
    analyzeSequence(ids, m, kUndo, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(StackMachine, SpecSingleUndo) {
  // prompt of 2: p p a x U b -> positions 0 1 2 3 4 3, output a b, x is a deviation
  const StackAnalysis a = analyzeSequence({P, P, A, X, U, B}, 2, kUndo);
  EXPECT_EQ(a.length, 6);
  EXPECT_EQ(depths(a), (std::vector<int>{0, 1, 2, 3, 4, 3}));
  EXPECT_EQ(a.kinds,
            (std::vector<TokenKind>{TokenKind::kPrompt, TokenKind::kPrompt, TokenKind::kPush,
                                    TokenKind::kPush, TokenKind::kUndo, TokenKind::kPush}));
  EXPECT_EQ(a.parent, (std::vector<int>{-1, 0, 1, 2, 3, 2}));
  EXPECT_EQ(a.popped, (std::vector<int>{-1, -1, -1, -1, 3, -1}));
  EXPECT_EQ(a.poppedBy, (std::vector<int>{-1, -1, -1, 4, -1, -1}));
  EXPECT_EQ(a.deviation, (std::vector<std::uint8_t>{0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(a.pruned, (std::vector<std::uint8_t>{0, 0, 0, 1, 1, 0}));
  EXPECT_EQ(a.output, (std::vector<std::int64_t>{A, B}));
  EXPECT_EQ(a.finalStack, (std::vector<int>{0, 1, 2, 5}));
  const std::vector<StackEvent> events{{StackEvent::Type::kPush, 2, 2},
                                       {StackEvent::Type::kPush, 3, 3},
                                       {StackEvent::Type::kPop, 4, 3},
                                       {StackEvent::Type::kPush, 5, 5}};
  EXPECT_EQ(a.events, events);
}

TEST(StackMachine, SpecConsecutiveUndos) {
  // p p a x y U U b -> 0 1 2 3 4 5 4 3, output a b; x, y deviations
  const StackAnalysis a = analyzeSequence({P, P, A, X, Y, U, U, B}, 2, kUndo);
  EXPECT_EQ(depths(a), (std::vector<int>{0, 1, 2, 3, 4, 5, 4, 3}));
  EXPECT_EQ(a.popped[5], 4);
  EXPECT_EQ(a.popped[6], 3);
  EXPECT_EQ(a.deviation, (std::vector<std::uint8_t>{0, 0, 0, 1, 1, 0, 0, 0}));
  EXPECT_EQ(a.pruned, (std::vector<std::uint8_t>{0, 0, 0, 1, 1, 1, 1, 0}));
  EXPECT_EQ(a.output, (std::vector<std::int64_t>{A, B}));
  EXPECT_EQ(a.parent[6], 3);  // the second UNDO sees x on top (y is gone)
  EXPECT_EQ(a.parent[7], 2);
}

TEST(StackMachine, SpecRunOfUndosWithEmptyPrompt) {
  // a b c x y UNDO UNDO d -> a b c d
  const StackAnalysis a = analyzeSequence({A, B, C, X, Y, U, U, D}, 0, kUndo);
  EXPECT_EQ(a.output, (std::vector<std::int64_t>{A, B, C, D}));
  EXPECT_EQ(depths(a), (std::vector<int>{0, 1, 2, 3, 4, 5, 4, 3}));
  EXPECT_EQ(a.parent[0], -1);  // nothing below the very first token
}

TEST(StackMachine, UndoRightAfterFirstPush) {
  const StackAnalysis a = analyzeSequence({P, P, A, U, B}, 2, kUndo);
  EXPECT_EQ(depths(a), (std::vector<int>{0, 1, 2, 3, 2}));
  EXPECT_EQ(a.output, (std::vector<std::int64_t>{B}));
  EXPECT_EQ(a.popped[3], 2);
  EXPECT_EQ(a.parent[4], 1);
}

TEST(StackMachine, UndoInsidePromptIsAPromptToken) {
  const StackAnalysis a = analyzeSequence({P, U, A, U, B}, 2, kUndo);
  EXPECT_EQ(a.kinds[1], TokenKind::kPrompt);
  EXPECT_EQ(depths(a), (std::vector<int>{0, 1, 2, 3, 2}));
  EXPECT_EQ(a.output, (std::vector<std::int64_t>{B}));
  EXPECT_EQ(a.deviation[1], 0);
}

TEST(StackMachine, VoidUndoRightAfterPromptNamesThePosition) {
  SequenceOptions o;
  const std::string message = errorOf({P, P, U, A}, 2, o);
  EXPECT_NE(message.find("position 2"), std::string::npos) << message;
  EXPECT_NE(message.find("void UNDO"), std::string::npos) << message;
  o.sequenceIndex = 3;
  EXPECT_EQ(errorOf({P, P, U, A}, 2, o).rfind("sequence 3: position 2: void UNDO", 0), 0u);
}

TEST(StackMachine, VoidUndoAfterEverythingWasPopped) {
  const std::string message = errorOf({P, A, U, U}, 1, {});
  EXPECT_NE(message.find("position 3: void UNDO"), std::string::npos) << message;
  EXPECT_THROW(analyzeSequence({U}, 0, kUndo), Error);
}

TEST(StackMachine, TrailingPadsAreIgnored) {
  const StackAnalysis a = analyzeSequence({P, P, A, X, U, B, kPad, kPad}, 2, kUndo, kPad);
  EXPECT_EQ(a.length, 6);
  EXPECT_EQ(a.kinds[6], TokenKind::kPad);
  EXPECT_EQ(a.kinds[7], TokenKind::kPad);
  EXPECT_EQ(depths(a), (std::vector<int>{0, 1, 2, 3, 4, 3, 0, 0}));
  EXPECT_EQ(a.parent[7], -1);
  EXPECT_EQ(a.output, (std::vector<std::int64_t>{A, B}));
  EXPECT_EQ(a.targetGroup[5], TargetGroup::kNone);  // last real position: nothing to predict
  EXPECT_EQ(a.targetGroup[6], TargetGroup::kNone);
}

TEST(StackMachine, PaddingNeverCutsThePrompt) {
  const StackAnalysis a = analyzeSequence({P, kPad, kPad}, 2, kUndo, kPad);
  EXPECT_EQ(a.length, 2);
  EXPECT_EQ(a.kinds[1], TokenKind::kPrompt);
  EXPECT_TRUE(a.output.empty());
}

TEST(StackMachine, ExplicitLengthKeepsPaddingIdThatIsReal) {
  // EOS (id 5) doubles as padding: the explicit length keeps the first EOS as a real token.
  SequenceOptions o;
  o.padId = 5;
  o.length = 4;
  const StackAnalysis a = analyzeSequence({P, P, A, 5, 5, 5}, 2, kUndo, o);
  EXPECT_EQ(a.length, 4);
  EXPECT_EQ(a.output, (std::vector<std::int64_t>{A, 5}));
  o.length = -1;
  EXPECT_EQ(analyzeSequence({P, P, A, 5, 5, 5}, 2, kUndo, o).length, 3);
}

TEST(StackMachine, RejectsBadArgumentsWithMessages) {
  SequenceOptions o;
  EXPECT_NE(errorOf({P}, -1, o).find("prompt length -1 is negative"), std::string::npos);
  EXPECT_NE(errorOf({P}, 3, o).find("prompt length 3 exceeds the 1 ids"), std::string::npos);
  o.padId = kUndo;
  EXPECT_NE(errorOf({P}, 1, o).find("padding id 99 must differ"), std::string::npos);
  o.padId = -1;
  o.length = 5;
  EXPECT_NE(errorOf({P, A}, 1, o).find("length 5 exceeds the 2 ids"), std::string::npos);
  o.length = 1;
  EXPECT_NE(errorOf({P, P, A}, 2, o).find("prompt length 2 exceeds the sequence length 1"),
            std::string::npos);
}

TEST(StackMachine, TargetGroupsOnSpecExample) {
  // prediction at i targets i+1: p->p prompt, p->a prefix, a->x deviation, x->U detect,
  // U->b correct, b->c rest, c->(none)
  const StackAnalysis a = analyzeSequence({P, P, A, X, U, B, C}, 2, kUndo);
  EXPECT_EQ(a.targetGroup, (std::vector<TargetGroup>{TargetGroup::kPrompt, TargetGroup::kPrefix,
                                                     TargetGroup::kDeviation, TargetGroup::kDetect,
                                                     TargetGroup::kCorrect, TargetGroup::kRest,
                                                     TargetGroup::kNone}));
}

TEST(StackMachine, TargetGroupsOnConsecutiveUndos) {
  const StackAnalysis a = analyzeSequence({P, P, A, X, Y, U, U, B}, 2, kUndo);
  EXPECT_EQ(a.targetGroup, (std::vector<TargetGroup>{
                               TargetGroup::kPrompt, TargetGroup::kPrefix, TargetGroup::kDeviation,
                               TargetGroup::kDeviation, TargetGroup::kDetect, TargetGroup::kDetect,
                               TargetGroup::kCorrect, TargetGroup::kNone}));
}

TEST(StackMachine, DeviationRightAfterUndoIsADeviationNotACorrection) {
  // p a x U y U b: y follows an UNDO but is popped itself; b is the correction.
  const StackAnalysis a = analyzeSequence({P, A, X, U, Y, U, B}, 1, kUndo);
  EXPECT_EQ(a.targetGroup, (std::vector<TargetGroup>{TargetGroup::kPrefix, TargetGroup::kDeviation,
                                                     TargetGroup::kDetect, TargetGroup::kDeviation,
                                                     TargetGroup::kDetect, TargetGroup::kCorrect,
                                                     TargetGroup::kNone}));
  EXPECT_EQ(a.output, (std::vector<std::int64_t>{A, B}));
}

TEST(StackMachine, LossWeightsMaskedNaiveAndCompletionOnly) {
  LossWeightOptions masked;
  LossWeightOptions naive;
  naive.naive = true;
  LossWeightOptions withPrompt;
  withPrompt.promptTargets = true;
  EXPECT_EQ(lossWeight(TargetGroup::kDeviation, masked), 0.0f);
  EXPECT_EQ(lossWeight(TargetGroup::kDeviation, naive), 1.0f);
  EXPECT_EQ(lossWeight(TargetGroup::kPrompt, masked), 0.0f);
  EXPECT_EQ(lossWeight(TargetGroup::kPrompt, naive), 0.0f);
  EXPECT_EQ(lossWeight(TargetGroup::kPrompt, withPrompt), 1.0f);
  EXPECT_EQ(lossWeight(TargetGroup::kNone, withPrompt), 0.0f);
  for (TargetGroup g :
       {TargetGroup::kPrefix, TargetGroup::kDetect, TargetGroup::kCorrect, TargetGroup::kRest}) {
    EXPECT_EQ(lossWeight(g, masked), 1.0f) << targetGroupName(g);
  }
  EXPECT_EQ(targetGroupName(TargetGroup::kDetect), "detect");
  EXPECT_EQ(targetGroupName(TargetGroup::kDeviation), "deviation");
}

TEST(StackMachine, StackHistoryFromParents) {
  const StackAnalysis a = analyzeSequence({P, P, A, X, Y, U, U, B}, 2, kUndo);
  EXPECT_EQ(a.stackBefore(0), (std::vector<int>{}));
  EXPECT_EQ(a.stackBefore(5), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(a.stackBefore(6), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(a.stackAfter(6), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(a.stackAfter(7), (std::vector<int>{0, 1, 2, 7}));
}

TEST(StackMachine, RandomTracesMatchAReferenceSimulation) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    const int m = static_cast<int>(rng() % 4);
    const int n = m + static_cast<int>(rng() % 30);
    std::vector<std::int64_t> ids;
    int depth = 0;
    for (int i = 0; i < n; ++i) {
      const bool undo = i >= m && depth > 0 && rng() % 3 == 0;
      ids.push_back(undo ? kUndo : 1 + static_cast<std::int64_t>(rng() % 20));
      if (i >= m) depth += undo ? -1 : 1;
    }
    const StackAnalysis a = analyzeSequence(ids, m, kUndo);
    for (int i = 0; i < n; ++i) {
      // Obviously-correct reference: replay the whole prefix from scratch.
      std::vector<int> stack;
      for (int j = 0; j < i; ++j) {
        if (j >= m && ids[static_cast<std::size_t>(j)] == kUndo) {
          stack.pop_back();
        } else {
          stack.push_back(j);
        }
      }
      ASSERT_EQ(a.depthBefore[static_cast<std::size_t>(i)], static_cast<int>(stack.size()));
      ASSERT_EQ(a.stackBefore(i), stack) << "trial " << trial << " position " << i;
    }
  }
}
