// The replay bar: one positionChanged per move, clamping, stepping, play to the end.
#include <QSignalSpy>
#include <QSlider>
#include <QTest>

#include "widgets/replay_bar.h"

using nmar::widgets::ReplayBar;

class TestReplayBar : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void movesAndClamps();
  void sliderScrubs();
  void playRunsToTheEndAndStops();
};

void TestReplayBar::movesAndClamps() {
  ReplayBar bar;
  QSignalSpy moved(&bar, &ReplayBar::positionChanged);
  bar.setPosition(3);
  QCOMPARE(bar.position(), 0);  // no steps yet
  QCOMPARE(moved.count(), 0);
  bar.setStepCount(10);
  bar.setPosition(4);
  bar.stepForward();
  bar.stepBack();
  bar.stepBack();
  QCOMPARE(bar.position(), 3);
  QCOMPARE(moved.count(), 4);
  bar.setPosition(3);  // no move, no signal
  QCOMPARE(moved.count(), 4);
  bar.toEnd();
  QCOMPARE(bar.position(), 10);
  bar.setPosition(99);
  QCOMPARE(bar.position(), 10);
  bar.setStepCount(6);  // a shorter trace pulls the position in
  QCOMPARE(bar.position(), 6);
  bar.toStart();
  QCOMPARE(bar.position(), 0);
}

void TestReplayBar::sliderScrubs() {
  ReplayBar bar;
  bar.setStepCount(20);
  QSignalSpy moved(&bar, &ReplayBar::positionChanged);
  auto* slider = bar.findChild<QSlider*>(QStringLiteral("replaySlider"));
  QVERIFY(slider);
  QCOMPARE(slider->maximum(), 20);
  slider->setValue(12);
  QCOMPARE(bar.position(), 12);
  QCOMPARE(moved.count(), 1);
  QCOMPARE(moved.first().first().toInt(), 12);
}

void TestReplayBar::playRunsToTheEndAndStops() {
  ReplayBar bar;
  bar.setStepCount(5);
  bar.setPosition(5);
  bar.setSpeed(40);
  QCOMPARE(bar.speed(), 40.0);
  QVERIFY(bar.tickInterval() < 10);
  QSignalSpy playing(&bar, &ReplayBar::playingChanged);
  bar.play();  // at the end: starts over from the prompt
  QCOMPARE(bar.position(), 0);
  QVERIFY(bar.isPlaying());
  QVERIFY(QTest::qWaitFor([&] { return !bar.isPlaying(); }, 3000));
  QCOMPARE(bar.position(), 5);
  QCOMPARE(playing.count(), 2);
}

QTEST_MAIN(TestReplayBar)
#include "test_replay_bar.moc"
