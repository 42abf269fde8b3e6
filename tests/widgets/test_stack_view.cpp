// The generation stack's chip view and depth strip: pruned pairs animate into their lane, chips
// answer hovers with their statistics, the strip seeks.
#include <cmath>

#include <QSignalSpy>
#include <QTest>

#include "widgets/decode_timeline.h"
#include "widgets/depth_strip.h"
#include "widgets/stack_view.h"

using namespace nmar::widgets;

namespace {

/** Prompt "ab", then x y(forced) UNDO z. */
DecodeTimeline sampleTimeline() {
  nmar::core::Trace t;
  t.promptIds = {1, 2};
  t.promptText = "ab";
  t.undoId = 9;
  auto push = [](int id, const char* text, int pos, int depth, bool forced) {
    nmar::core::TraceStep s;
    s.token = id;
    s.text = text;
    s.position = pos;
    s.depth = depth;
    s.forced = forced;
    s.logprob = std::log(0.25);
    s.entropy = 1.5;
    s.topk = {{3, 0.5}, {4, 0.25}};
    return s;
  };
  nmar::core::TraceStep undo;
  undo.kind = nmar::core::StepKind::kPop;
  undo.token = 9;
  undo.popped = 4;
  undo.position = 4;
  undo.depth = 1;
  t.steps = {push(3, "x", 2, 1, false), push(4, "y", 3, 2, true), undo, push(5, "z", 3, 2, false)};
  DecodeTimeline timeline;
  timeline.reset(t);
  return timeline;
}

}  // namespace

class TestStackView : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void popAnimatesIntoThePrunedLane();
  void jumpsDoNotAnimate();
  void hoverShowsChipStatistics();
  void depthStripSeeks();
};

void TestStackView::popAnimatesIntoThePrunedLane() {
  const DecodeTimeline timeline = sampleTimeline();
  StackView view;
  view.resize(600, 80);
  view.show();
  view.setSnapshot(timeline.snapshot(2), true);
  QVERIFY(!view.isAnimating());  // pushes only: nothing moves
  view.setSnapshot(timeline.snapshot(3), true);
  QVERIFY(view.isAnimating());
  QCOMPARE(view.snapshot().prunedTexts(), QStringList{QStringLiteral("y")});
  QVERIFY(QTest::qWaitFor([&] { return !view.isAnimating(); }, 2000));
}

void TestStackView::jumpsDoNotAnimate() {
  const DecodeTimeline timeline = sampleTimeline();
  StackView view;
  view.show();
  view.setSnapshot(timeline.snapshot(4), false);  // a replay jump
  QVERIFY(!view.isAnimating());
  view.setSnapshot(timeline.snapshot(2), true);  // stepping back never animates
  QVERIFY(!view.isAnimating());
  view.setAnimationDuration(0);
  view.setSnapshot(timeline.snapshot(3), true);
  QVERIFY(!view.isAnimating());
}

void TestStackView::hoverShowsChipStatistics() {
  const DecodeTimeline timeline = sampleTimeline();
  StackView view;
  view.resize(600, 80);
  view.show();
  QVERIFY(QTest::qWaitForWindowExposed(&view));
  view.setSnapshot(timeline.snapshot(4), false);
  QSignalSpy hovered(&view, &StackView::chipHovered);
  // Sweep along the stack lane until the forced-then-popped "y" (pruned lane) and "z" are found.
  QStringList seen;
  for (int y : {18, 56}) {
    for (int x = 0; x < view.width(); x += 3) {
      const TokenChip* chip = view.chipAt(QPoint(x, y));
      if (chip && !seen.contains(chip->text)) seen << chip->text;
    }
  }
  QVERIFY2(seen.contains(QStringLiteral("z")) && seen.contains(QStringLiteral("y")),
           qPrintable(seen.join(QLatin1Char(','))));
  for (int x = 0; x < view.width(); x += 3) {
    const TokenChip* chip = view.chipAt(QPoint(x, 56));
    if (chip && chip->text == QStringLiteral("y")) {
      QTest::mouseMove(&view, QPoint(x, 56));
      break;
    }
  }
  QVERIFY(QTest::qWaitFor([&] { return hovered.count() > 0; }, 2000));
  const TokenChip chip = hovered.last().first().value<TokenChip>();
  QCOMPARE(chip.text, QStringLiteral("y"));
  QVERIFY(chip.forced);
  QCOMPARE(chip.poppedAt, 2);
  QCOMPARE(chip.prob, 0.25);
  QVERIFY(chip.tooltip().contains(QStringLiteral("top: x 0.50 | y 0.25")));
}

void TestStackView::depthStripSeeks() {
  DepthStrip strip;
  strip.resize(204, 40);
  strip.show();
  strip.setDepths({1, 2, 1, 2}, 2);
  QCOMPARE(strip.applied(), 2);
  QSignalSpy seek(&strip, &DepthStrip::stepClicked);
  QTest::mouseClick(&strip, Qt::LeftButton, {}, QPoint(2 + 50 * 3 + 10, 20));  // 4th bar
  QCOMPARE(seek.count(), 1);
  QCOMPARE(seek.first().first().toInt(), 4);
  strip.setDepths({1}, 7);
  QCOMPARE(strip.applied(), 1);  // clamped
}

QTEST_MAIN(TestStackView)
#include "test_stack_view.moc"
