// The deviation detector in the real main window (issue 12): a checkpoint folder's own detector
// loads with the model, Run → Load deviation detector… reports bad folders with a message naming
// the file, a live decode gets the strip's tau and trigger, and a replayed trace shows its scores.
#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QMenu>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include "widgets/decode_controller.h"
#include "widgets/detector_cells_view.h"
#include "widgets/detector_controller.h"
#include "widgets/detector_strip.h"
#include "widgets/generation_stack_panel.h"
#include "widgets/main_window.h"
#include "widgets/replay_bar.h"
#include "widgets/shortcuts_dialog.h"
#include "workbench_test_support.h"

using namespace nmar::widgets;
using nmar::testing::waitFor;

namespace {

constexpr double kScore = 0.6;  // the test detector scores every token 0.6

bool writeFile(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

QString checkpointWithDetector(const QString& root, const QString& name) {
  const QString dir = QDir(root).filePath(name);
  std::string error = nmar::testing::writeUndoCheckpoint(dir.toStdString());
  if (error.empty())
    error = nmar::testing::writeDetector(dir.toStdString(), dir.toStdString(), kScore, 0.45);
  return error.empty() ? dir : QStringLiteral("FAILED: ") + QString::fromStdString(error);
}

DecodeOptions greedy(int maxNew) {
  DecodeOptions o;
  o.temperature = 0;
  o.maxNewTokens = maxNew;
  o.stopAtEos = false;
  o.undoBias = -20;  // the model itself never pops: every UNDO is the verifier's
  return o;
}

}  // namespace

class TestDetectorFlow : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void checkpointDetectorLoadsWithTheModel();
  void badDetectorFoldersNameTheFile_data();
  void badDetectorFoldersNameTheFile();
  void halfADetectorBesideTheCheckpointIsReported();
  void liveDecodeUsesTheStripTau_data();
  void liveDecodeUsesTheStripTau();
  void replayShowsStoredScoresAtTheDecodeTau();

 private:
  struct Bench {
    MainWindow window;
    DecodeController controller{&window};
  };
  /** Opens @p dir and waits for the model and for the worker's detector report. */
  void load(Bench& bench, const QString& dir);

  QTemporaryDir m_dir;
  QString m_plain;     // a checkpoint without a detector
  QString m_detected;  // a checkpoint with its own detector (score 0.6, default tau 0.45)
};

void TestDetectorFlow::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);
  QVERIFY(m_dir.isValid());
  m_plain = nmar::testing::makeUndoCheckpoint(m_dir.path());
  QVERIFY2(!m_plain.startsWith(QLatin1String("FAILED")), qPrintable(m_plain));
  m_detected = checkpointWithDetector(m_dir.path(), QStringLiteral("detected"));
  QVERIFY2(!m_detected.startsWith(QLatin1String("FAILED")), qPrintable(m_detected));
}

void TestDetectorFlow::load(Bench& bench, const QString& dir) {
  bench.window.show();
  QSignalSpy loaded(&bench.controller, &DecodeController::modelLoaded);
  QSignalSpy detector(bench.controller.detectorController(), &DetectorController::detectorChanged);
  bench.window.requestOpen(OpenKind::Checkpoint, dir);
  QVERIFY(waitFor(loaded));
  QVERIFY(waitFor(detector));
}

void TestDetectorFlow::checkpointDetectorLoadsWithTheModel() {
  Bench bench;
  load(bench, m_plain);
  DetectorController* dc = bench.controller.detectorController();
  QVERIFY(!dc->detector().loaded());
  QVERIFY(dc->loadAction()->isEnabled());
  QVERIFY(!dc->unloadAction()->isEnabled());
  // The action sits in the Run menu and its shortcut is listed truthfully.
  auto* run = bench.window.findChild<QMenu*>(QStringLiteral("runMenu"));
  QVERIFY(run->actions().contains(dc->loadAction()));
  bool listed = false;
  for (const ShortcutEntry& e : collectShortcuts(bench.window.menuBar()))
    listed |= e.action == QStringLiteral("Load deviation detector…") &&
              e.keys == QKeySequence(QStringLiteral("Ctrl+D")).toString(QKeySequence::NativeText);
  QVERIFY(listed);

  load(bench, m_detected);
  QVERIFY(dc->detector().loaded());
  QCOMPARE(dc->detector().dir, QDir(m_detected).absolutePath());
  QCOMPARE(dc->detector().innerSize, 0);
  QCOMPARE(dc->detector().tau, 0.45);
  DetectorStrip* strip = bench.controller.stackPanel()->detectorStrip();
  QCOMPARE(strip->tau(), 0.45);  // the detector's default tau
  QVERIFY(strip->triggerBox()->isVisible());
  QVERIFY(dc->unloadAction()->isEnabled());

  QSignalSpy changed(dc, &DetectorController::detectorChanged);
  dc->unloadAction()->trigger();
  QVERIFY(waitFor(changed));
  QVERIFY(!dc->detector().loaded());
  QVERIFY(!strip->triggerBox()->isVisible());
}

void TestDetectorFlow::badDetectorFoldersNameTheFile_data() {
  QTest::addColumn<QString>("kind");
  QTest::addColumn<QString>("file");     // the file the message must name
  QTest::addColumn<QString>("problem");  // and what it says about it
  QTest::addRow("config is not JSON") << "badjson"
                                      << "detector_config.json"
                                      << "invalid JSON";
  QTest::addRow("weights are garbage") << "badweights"
                                       << "detector.safetensors"
                                       << "not a safetensors file";
  QTest::addRow("hidden size mismatch") << "hidden"
                                        << "detector_config.json"
                                        << "hidden_size";
  QTest::addRow("no weights") << "noweights"
                              << "detector.safetensors"
                              << "no detector weights";
  QTest::addRow("empty folder") << "empty"
                                << "detector_config.json"
                                << "no detector config";
}

void TestDetectorFlow::badDetectorFoldersNameTheFile() {
  QFETCH(QString, kind);
  QFETCH(QString, file);
  QFETCH(QString, problem);
  const QString dir = m_dir.filePath(QStringLiteral("bad-") + kind);
  QVERIFY(QDir().mkpath(dir));
  const std::string d = dir.toStdString();
  if (kind != QStringLiteral("empty")) {
    const std::string error = nmar::testing::writeDetector(
        d, m_plain.toStdString(), 0.3, 0.5, kind == QStringLiteral("hidden") ? 8 : 0);
    QVERIFY2(error.empty(), error.c_str());
  }
  if (kind == QStringLiteral("badjson"))
    QVERIFY(writeFile(dir + QStringLiteral("/detector_config.json"), "{\"model_type\": "));
  if (kind == QStringLiteral("badweights"))
    QVERIFY(writeFile(dir + QStringLiteral("/detector.safetensors"), "not a safetensors file"));
  if (kind == QStringLiteral("noweights"))
    QVERIFY(QFile::remove(dir + QStringLiteral("/detector.safetensors")));

  Bench bench;
  load(bench, m_plain);
  DetectorController* dc = bench.controller.detectorController();
  QSignalSpy errors(&bench.controller, &DecodeController::errorShown);
  dc->loadDetector(dir);
  QVERIFY(waitFor(errors));
  const QString message = errors.first().first().toString();
  qInfo("%s", qPrintable(message));
  QVERIFY2(message.contains(QDir(dir).filePath(file)), qPrintable(message));
  QVERIFY2(message.contains(problem, Qt::CaseInsensitive), qPrintable(message));
  QVERIFY(message.startsWith(QStringLiteral("could not load the deviation detector: ")));
  QVERIFY(!dc->detector().loaded());
  QVERIFY(bench.controller.modelReady());  // the model is untouched
}

void TestDetectorFlow::halfADetectorBesideTheCheckpointIsReported() {
  const QString dir = checkpointWithDetector(m_dir.path(), QStringLiteral("half"));
  QVERIFY2(!dir.startsWith(QLatin1String("FAILED")), qPrintable(dir));
  QVERIFY(QFile::remove(dir + QStringLiteral("/detector.safetensors")));
  Bench bench;
  QSignalSpy errors(&bench.controller, &DecodeController::errorShown);
  load(bench, dir);
  QVERIFY(bench.controller.modelReady());
  QVERIFY(waitFor(errors));
  QVERIFY2(
      errors.first().first().toString().contains(dir + QStringLiteral("/detector.safetensors")),
      qPrintable(errors.first().first().toString()));
  QVERIFY(!bench.controller.detectorController()->detector().loaded());
}

void TestDetectorFlow::liveDecodeUsesTheStripTau_data() {
  QTest::addColumn<double>("tau");
  QTest::addColumn<int>("trigger");
  QTest::addColumn<bool>("verifierPops");
  QTest::addRow("force, tau below the score") << 0.5 << int(VerifierTrigger::kForce) << true;
  QTest::addRow("force, tau above the score") << 0.7 << int(VerifierTrigger::kForce) << false;
  QTest::addRow("scores only") << 0.5 << int(VerifierTrigger::kOff) << false;
}

void TestDetectorFlow::liveDecodeUsesTheStripTau() {
  QFETCH(double, tau);
  QFETCH(int, trigger);
  QFETCH(bool, verifierPops);
  Bench bench;
  load(bench, m_detected);
  GenerationStackPanel* panel = bench.controller.stackPanel();
  DetectorStrip* strip = panel->detectorStrip();
  panel->setPrompt(QStringLiteral("12+3="));
  panel->setOptions(greedy(8));
  strip->tauBox()->setValue(tau);
  strip->triggerBox()->setCurrentIndex(strip->triggerBox()->findData(trigger));
  QSignalSpy finished(&bench.controller, &DecodeController::decodeFinished);
  bench.window.runActions().run->trigger();
  QVERIFY(waitFor(finished));

  const nmar::core::Trace& trace = bench.controller.timeline().trace();
  QCOMPARE(trace.steps.size(), std::size_t(8));
  int pops = 0, byVerifier = 0, scored = 0;
  for (const nmar::core::TraceStep& s : trace.steps) {
    if (s.kind == nmar::core::StepKind::kPop) {
      ++pops;
      byVerifier += s.verifier;
    } else {
      QVERIFY(s.verifierScore.has_value());
      QVERIFY(std::abs(*s.verifierScore - kScore) < 1e-5);
      ++scored;
    }
  }
  QCOMPARE(byVerifier > 0, verifierPops);
  QCOMPARE(byVerifier, pops);  // the model's own UNDO is biased away
  const double decodeTau = trigger == int(VerifierTrigger::kOff) ? 1.0 : tau;
  QCOMPARE(trace.meta["verifier"]["tau"].get<double>(), decodeTau);
  QVERIFY(trace.meta["verifier"]["bias"].is_null());  // force (or scores only), not a bias
  QCOMPARE(QString::fromStdString(trace.meta["verifier"]["source"].get<std::string>()),
           QDir(m_detected).absolutePath());

  // The strip shows the decode's scores; every score (0.6) is over 0.5, none over 0.7.
  QVERIFY(strip->hasScores());
  QVERIFY(strip->cellsView()->isVisible());
  QCOMPARE(strip->cellsView()->cells().size(), 8);
  QCOMPARE(strip->counts().scored, scored);
  QCOMPARE(strip->counts().over, tau < kScore ? scored : 0);
  QCOMPARE(strip->counts().verifierPops, byVerifier);
  strip->tauBox()->setValue(0.9);  // moving tau afterwards only re-marks
  QCOMPARE(strip->counts().over, 0);
}

void TestDetectorFlow::replayShowsStoredScoresAtTheDecodeTau() {
  const QString path = m_dir.filePath(QStringLiteral("scored.json"));
  {
    Bench bench;
    load(bench, m_detected);
    GenerationStackPanel* panel = bench.controller.stackPanel();
    panel->setPrompt(QStringLiteral("12+3="));
    panel->setOptions(greedy(6));
    panel->detectorStrip()->tauBox()->setValue(0.55);
    QSignalSpy finished(&bench.controller, &DecodeController::decodeFinished);
    bench.window.runActions().run->trigger();
    QVERIFY(waitFor(finished));
    QString error;
    QVERIFY2(bench.controller.exportTrace(path, &error), qPrintable(error));
  }
  Bench bench;  // no model: a replay of the file alone
  bench.window.show();
  DetectorStrip* strip = bench.controller.stackPanel()->detectorStrip();
  strip->setTau(0.2);
  QSignalSpy opened(&bench.controller, &DecodeController::traceOpened);
  bench.controller.openTrace(path);
  QVERIFY(waitFor(opened));
  QCOMPARE(strip->tau(), 0.55);  // the tau the decode used (meta.verifier.tau)
  QVERIFY(strip->hasScores());
  QCOMPARE(strip->cellsView()->cells().size(), 6);
  QCOMPARE(strip->cellsView()->applied(), 6);
  QVERIFY(strip->counts().verifierPops > 0);
  // Step back in the replay: the strip follows the position.
  bench.controller.replayBar()->setPosition(2);
  QCOMPARE(strip->cellsView()->applied(), 2);
}

QTEST_MAIN(TestDetectorFlow)
#include "test_detector_flow.moc"
