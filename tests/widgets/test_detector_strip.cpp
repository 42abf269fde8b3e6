// The deviation detector strip (issue 12): the stored scores of a hand-made trace become cells of
// the sequential colour scale, tau (slider or spin box) re-marks them and recounts, verifier pops
// are told apart from the model's own UNDOs, and a trace without scores hides the strip.
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QSignalSpy>
#include <QSlider>
#include <QTest>

#include "widgets/detector_cells_view.h"
#include "widgets/detector_scores.h"
#include "widgets/detector_strip.h"
#include "widgets/generation_stack_panel.h"

using namespace nmar::widgets;
using nmar::core::StepKind;
using nmar::core::Trace;
using nmar::core::TraceStep;

namespace {

TraceStep push(int id, const char* text, int pos, int depth, std::optional<double> score) {
  TraceStep s;
  s.token = id;
  s.text = text;
  s.position = pos;
  s.depth = depth;
  s.verifierScore = score;
  return s;
}

TraceStep pop(int popped, int pos, int depth, bool verifier) {
  TraceStep s;
  s.kind = StepKind::kPop;
  s.token = 9;
  s.popped = popped;
  s.position = pos;
  s.depth = depth;
  s.verifier = verifier;
  return s;
}

/**
 * Prompt "ab", then x(0.10) y(0.80) UNDO[verifier] z(0.60) w(0.30) UNDO[model] v(0.95): y and w
 * are undone, x z v survive. Decoded with tau 0.7 (meta.verifier).
 */
Trace scoredTrace() {
  Trace t;
  t.model = "m";
  t.tokenizer = "t";
  t.promptIds = {1, 2};
  t.promptText = "ab";
  t.undoId = 9;
  t.steps = {push(3, "x", 2, 1, 0.10), push(4, "y", 3, 2, 0.80), pop(4, 4, 1, true),
             push(5, "z", 3, 2, 0.60), push(6, "w", 4, 3, 0.30), pop(6, 5, 2, false),
             push(7, "v", 4, 3, 0.95)};
  t.outputIds = {3, 5, 7};
  t.meta = {{"verifier", {{"source", "det"}, {"tau", 0.7}, {"bias", nullptr}}}};
  return t;
}

Trace unscoredTrace() {
  Trace t = scoredTrace();
  for (TraceStep& s : t.steps) {
    s.verifierScore.reset();
    s.verifier = false;
  }
  t.meta = nullptr;
  return t;
}

}  // namespace

class TestDetectorStrip : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void cellsHoldTheStoredScores();
  void colourScaleIsSequential();
  void tauRecounts_data();
  void tauRecounts();
  void sliderAndSpinBoxMoveTogether();
  void verifierPopsAreMarked();
  void traceWithoutScoresHidesTheStrip();
  void traceTauIsRead();
  void panelPassesTauAndTrigger();
};

void TestDetectorStrip::cellsHoldTheStoredScores() {
  DetectorStrip strip;
  strip.resize(700, 80);
  strip.show();
  strip.setTrace(scoredTrace(), 7);
  QVERIFY(strip.hasScores());
  const QList<DetectorCell>& cells = strip.cellsView()->cells();
  QCOMPARE(cells.size(), 7);
  const QList<double> expected = {0.10, 0.80, -1, 0.60, 0.30, -1, 0.95};
  for (int i = 0; i < cells.size(); ++i) {
    QCOMPARE(cells[i].step, i);
    QCOMPARE(cells[i].pop, expected[i] < 0);
    if (expected[i] < 0) {
      QVERIFY(!cells[i].hasScore());
      continue;
    }
    QCOMPARE(cells[i].score, expected[i]);
    QCOMPARE(strip.cellsView()->cellColour(i), detectorColour(expected[i]));
  }
  QCOMPARE(cells[1].text, QStringLiteral("y"));
  QCOMPARE(cells[1].undoneAt, 2);  // y popped by the verifier's UNDO
  QCOMPARE(cells[4].undoneAt, 5);  // w popped by the model's UNDO
  QCOMPARE(cells[0].undoneAt, -1);
  QCOMPARE(cells[3].undoneAt, -1);
  QCOMPARE(cells[6].undoneAt, -1);
  // Cells are laid out left to right, one per step, and a click seeks to that step.
  QVERIFY(strip.cellsView()->cellRect(1).left() > strip.cellsView()->cellRect(0).left());
  QSignalSpy seek(&strip, &DetectorStrip::stepClicked);
  QTest::mouseClick(strip.cellsView(), Qt::LeftButton, {},
                    strip.cellsView()->cellRect(3).center().toPoint());
  QCOMPARE(seek.count(), 1);
  QCOMPARE(seek.first().first().toInt(), 4);
  QVERIFY(cells[1].tooltip(0.5).contains(QStringLiteral("0.800 > tau 0.50")));
  QVERIFY(cells[1].tooltip(0.5).contains(QStringLiteral("undone by the UNDO of step 3")));
}

void TestDetectorStrip::colourScaleIsSequential() {
  QCOMPARE(detectorColour(0.0), QColor(0x44, 0x01, 0x54));
  QCOMPARE(detectorColour(0.5), QColor(0x21, 0x91, 0x8c));
  QCOMPARE(detectorColour(1.0), QColor(0xfd, 0xe7, 0x25));
  QCOMPARE(detectorColour(-3.0), detectorColour(0.0));  // clamped
  QCOMPARE(detectorColour(7.0), detectorColour(1.0));
  // Luminance grows with the score: a sequential scale, not a diverging one.
  double previous = -1;
  for (int i = 0; i <= 20; ++i) {
    const QColor c = detectorColour(i / 20.0);
    const double luminance = 0.2126 * c.red() + 0.7152 * c.green() + 0.0722 * c.blue();
    QVERIFY2(luminance > previous, qPrintable(QStringLiteral("at %1").arg(i / 20.0)));
    previous = luminance;
  }
}

void TestDetectorStrip::tauRecounts_data() {
  QTest::addColumn<double>("tau");
  QTest::addColumn<int>("over");
  QTest::addColumn<int>("undone");
  QTest::addColumn<int>("survived");
  QTest::addColumn<QString>("readout");
  // Scores 0.10 0.80(undone) 0.60 0.30(undone) 0.95; "over" is score > tau.
  QTest::addRow("0.05") << 0.05 << 5 << 2 << 3 << "5 of 5 scored tokens over τ · 2 later undone";
  QTest::addRow("0.25") << 0.25 << 4 << 2 << 2 << "4 of 5 scored tokens over τ · 2 later undone";
  QTest::addRow("0.50") << 0.50 << 3 << 1 << 2 << "3 of 5 scored tokens over τ · 1 later undone";
  QTest::addRow("0.60 (not over itself)") << 0.60 << 2 << 1 << 1 << "(precision 0.50)";
  QTest::addRow("0.90") << 0.90 << 1 << 0 << 1 << "(precision 0.00)";
  QTest::addRow("0.99") << 0.99 << 0 << 0 << 0 << "0 of 5 scored tokens over τ";
}

void TestDetectorStrip::tauRecounts() {
  QFETCH(double, tau);
  QFETCH(int, over);
  QFETCH(int, undone);
  QFETCH(int, survived);
  QFETCH(QString, readout);
  DetectorStrip strip;
  strip.show();
  strip.setTrace(scoredTrace(), 7);
  strip.setTau(0.0);  // so that every row's value is a change
  QSignalSpy changed(&strip, &DetectorStrip::tauChanged);
  strip.tauBox()->setValue(tau);  // as the user types it
  QCOMPARE(changed.count(), 1);
  QCOMPARE(strip.tau(), tau);
  QCOMPARE(strip.cellsView()->tau(), tau);
  const DetectorCounts c = strip.counts();
  QCOMPARE(c.scored, 5);
  QCOMPARE(c.over, over);
  QCOMPARE(c.overUndone, undone);
  QCOMPARE(c.overSurvived, survived);
  QVERIFY2(strip.countsLabel()->text().contains(readout), qPrintable(strip.countsLabel()->text()));
  int marked = 0;
  for (const DetectorCell& cell : strip.cellsView()->cells()) marked += cell.overTau(tau);
  QCOMPARE(marked, over);
}

void TestDetectorStrip::sliderAndSpinBoxMoveTogether() {
  DetectorStrip strip;
  strip.show();
  strip.setTrace(scoredTrace(), 7);
  strip.tauSlider()->setValue(25);  // 0.25
  QCOMPARE(strip.tauBox()->value(), 0.25);
  QCOMPARE(strip.counts().over, 4);
  QTest::keyClick(strip.tauSlider(), Qt::Key_End);  // slider to 1.00
  QCOMPARE(strip.tau(), 1.0);
  QCOMPARE(strip.counts().over, 0);
  strip.tauBox()->setValue(0.55);
  QCOMPARE(strip.tauSlider()->value(), 55);
  QCOMPARE(strip.counts().over, 3);
  QVERIFY(strip.countsLabel()->text().contains(QStringLiteral("precision 0.33")));
}

void TestDetectorStrip::verifierPopsAreMarked() {
  DetectorStrip strip;
  strip.show();
  strip.setTrace(scoredTrace(), 7);
  const DetectorCellsView* view = strip.cellsView();
  QVERIFY(view->cells()[2].verifierPop);
  QVERIFY(!view->cells()[5].verifierPop);
  QVERIFY(view->cellColour(2) != view->cellColour(5));  // magenta vs the model's grey
  QCOMPARE(view->cellColour(2), QColor(194, 24, 91));
  QCOMPARE(view->cellColour(5), QColor(200, 200, 200));
  const DetectorCounts c = strip.counts();
  QCOMPARE(c.verifierPops, 1);
  QCOMPARE(c.modelPops, 1);
  QVERIFY(strip.countsLabel()->text().contains(
      QStringLiteral("UNDO: 1 by the verifier, 1 by the model")));
  QVERIFY(view->cells()[2].tooltip(0.5).contains(QStringLiteral("caused by the verifier")));
  QVERIFY(view->cells()[5].tooltip(0.5).contains(QStringLiteral("drawn by the model")));
}

void TestDetectorStrip::traceWithoutScoresHidesTheStrip() {
  DetectorStrip strip;
  strip.show();
  strip.setTrace(scoredTrace(), 7);
  QVERIFY(strip.cellsView()->isVisible());
  strip.setTrace(unscoredTrace(), 7);
  QVERIFY(!strip.hasScores());
  QVERIFY(!strip.cellsView()->isVisible());
  QVERIFY(!strip.tauSlider()->isVisible());
  QVERIFY(!strip.countsLabel()->isVisible());
  QVERIFY(!strip.triggerBox()->isVisible());
  QVERIFY(strip.explanationLabel()->isVisible());
  QVERIFY(strip.explanationLabel()->text().contains(QStringLiteral("no detector scores")));
  QVERIFY(strip.explanationLabel()->text().contains(QStringLiteral("Load deviation detector")));
  // With a detector loaded, tau and the trigger show (they set up the next decode), cells not.
  DetectorInfo info;
  info.dir = QStringLiteral("/tmp/det");
  info.hiddenSize = 64;
  info.innerSize = 32;
  info.tau = 0.35;
  strip.setDetector(info);
  QCOMPARE(strip.tau(), 0.35);  // its default tau
  QVERIFY(!strip.cellsView()->isVisible());
  QVERIFY(strip.tauSlider()->isVisible());
  QVERIFY(strip.triggerBox()->isVisible());
  QVERIFY(strip.explanationLabel()->text().contains(QStringLiteral("Step or Run decodes")));
  QCOMPARE(info.summary(), QStringLiteral("det (MLP 32, tau 0.35)"));

  // A scored trace on show keeps its tau when another detector arrives (the demo opens both).
  strip.setTrace(scoredTrace(), 7);
  strip.setTau(0.7);
  info.dir = QStringLiteral("/tmp/other");
  strip.setDetector(info);
  QCOMPARE(strip.tau(), 0.7);
  QCOMPARE(strip.detector().dir, QStringLiteral("/tmp/other"));
}

void TestDetectorStrip::traceTauIsRead() {
  QCOMPARE(traceVerifierTau(scoredTrace()).value_or(-1), 0.7);
  QVERIFY(!traceVerifierTau(unscoredTrace()).has_value());
  QVERIFY(traceHasVerifierScores(scoredTrace()));
  QVERIFY(!traceHasVerifierScores(unscoredTrace()));
}

void TestDetectorStrip::panelPassesTauAndTrigger() {
  GenerationStackPanel panel;
  DetectorStrip* strip = panel.detectorStrip();
  QVERIFY(strip != nullptr);
  strip->tauBox()->setValue(0.42);
  strip->triggerBox()->setCurrentIndex(strip->triggerBox()->findData(int(VerifierTrigger::kBias)));
  QVERIFY(strip->biasBox()->isEnabled());
  strip->biasBox()->setValue(3.5);
  const DecodeOptions o = panel.options();
  QCOMPARE(o.verifier.tau, 0.42);
  QCOMPARE(o.verifier.trigger, VerifierTrigger::kBias);
  QCOMPARE(o.verifier.bias, 3.5);
  DecodeOptions back = o;
  back.verifier = {0.8, VerifierTrigger::kOff, 1.0};
  panel.setOptions(back);
  QCOMPARE(strip->tau(), 0.8);
  QCOMPARE(panel.options().verifier.trigger, VerifierTrigger::kOff);
  QVERIFY(!strip->biasBox()->isEnabled());
}

QTEST_MAIN(TestDetectorStrip)
#include "test_detector_strip.moc"
