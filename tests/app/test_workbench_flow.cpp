// The real main window with the decode controller: open a model, decode, inject an error, watch
// the pop reach the stack panel, replay a trace to step k, and open bad files without a crash.
#include <cmath>

#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include "util/build_info.h"
#include "viz/heatmap_view.h"
#include "widgets/attention_panel.h"
#include "widgets/decode_controller.h"
#include "widgets/demo_locator.h"
#include "widgets/device_menu.h"
#include "widgets/generation_stack_panel.h"
#include "widgets/log_pane.h"
#include "widgets/main_window.h"
#include "widgets/replay_bar.h"
#include "workbench_test_support.h"

using namespace nmar::widgets;
using nmar::testing::waitFor;

namespace {

/** Decode options that make a random tiny model pop as soon as it can. */
DecodeOptions poppingOptions(int maxNew) {
  DecodeOptions o;
  o.temperature = 1.0;
  o.topP = 1.0;
  o.seed = 3;
  o.maxNewTokens = maxNew;
  o.undoBias = 9.0;
  return o;
}

}  // namespace

class TestWorkbenchFlow : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void openRunInjectAndPop();
  void pauseStopsARun();
  void replayTraceToStep();
  void exportsPlotsAndTraces();
  void badFilesGiveMessages();
  void injectAtAChosenStep();
  void startupOpensTheDemo();
  void deviceMenuReloadsTheModel();
  void startupWithoutDemoSaysSo();
  void startupRequestWins();
  void decodeSettingsPersist();

 private:
  /** A window with its controller and the test model loaded. */
  struct Bench {
    MainWindow window;
    DecodeController controller{&window};
  };
  void loadModel(Bench& bench);

  QTemporaryDir m_dir;
  QString m_model;
  QString m_tracePath;
};

void TestWorkbenchFlow::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);
  QVERIFY(m_dir.isValid());
  m_model = nmar::testing::makeUndoCheckpoint(m_dir.path());
  QVERIFY2(!m_model.startsWith(QLatin1String("FAILED")), qPrintable(m_model));
  m_tracePath = m_dir.filePath(QStringLiteral("decoded.json"));
}

void TestWorkbenchFlow::loadModel(Bench& bench) {
  bench.window.show();
  QSignalSpy loaded(&bench.controller, &DecodeController::modelLoaded);
  bench.window.requestOpen(OpenKind::Checkpoint, m_model);  // as File → Open checkpoint does
  QVERIFY(waitFor(loaded));
  QVERIFY(bench.controller.modelReady());
  QVERIFY2(bench.window.modelText().startsWith(QStringLiteral("model (llama")),
           qPrintable(bench.window.modelText()));
  QVERIFY(bench.window.runActions().run->isEnabled());
  QVERIFY(bench.controller.modelInfo().undoId >= 0);
}

void TestWorkbenchFlow::openRunInjectAndPop() {
  Bench bench;
  loadModel(bench);
  GenerationStackPanel* panel = bench.controller.stackPanel();
  panel->setPrompt(QStringLiteral("12+3="));
  panel->setOptions(poppingOptions(12));
  QSignalSpy steps(&bench.controller, &DecodeController::stepsArrived);
  QSignalSpy finished(&bench.controller, &DecodeController::decodeFinished);

  // Step once (a push: nothing can be popped yet), then inject "7", then run to the end.
  QTest::mouseClick(panel->stepButton(), Qt::LeftButton);
  QVERIFY(waitFor(steps, 1));
  QCOMPARE(bench.controller.timeline().stepCount(), 1);
  QCOMPARE(panel->snapshot().stack.size(), 1);
  panel->injectTokenEdit()->setText(QStringLiteral("7"));
  QTest::mouseClick(panel->injectButton(), Qt::LeftButton);
  QVERIFY(waitFor(steps, 2));
  QCOMPARE(panel->snapshot().stack.size(), 2);
  QVERIFY(panel->snapshot().stack.last().forced);
  QCOMPARE(panel->snapshot().stack.last().text, QStringLiteral("7"));
  bench.window.runActions().run->trigger();  // the menu's Run
  QVERIFY(waitFor(finished));
  QCOMPARE(finished.first().first().toString(), QStringLiteral("max_new_tokens"));

  // The pop reached the stack panel: the forced "7" and its UNDO are in the pruned lane.
  const StackSnapshot& snap = panel->snapshot();
  QCOMPARE(snap.applied, 12);
  QVERIFY2(!snap.pruned.isEmpty(), "no token was popped");
  QCOMPARE(snap.pruned.first().token.text, QStringLiteral("7"));
  QVERIFY(snap.pruned.first().token.forced);
  QCOMPARE(snap.pruned.first().undo.step, 2);  // the UNDO right after the injection
  QCOMPARE(snap.depths.size(), 12);
  QCOMPARE(snap.stack.size(), snap.depths.last());
  QCOMPARE(bench.controller.replayBar()->stepCount(), 12);
  QVERIFY(bench.window.jobText().startsWith(QStringLiteral("finished")));
  // The live decode recorded attention for every step, and the attention panel shows it.
  const AttentionPanel* attention = bench.controller.attentionPanel();
  QVERIFY(QTest::qWaitFor([&] { return attention->recordedMap().matrix.rows == 12; }, 10000));
  QCOMPARE(attention->recordedMap().rowsWithValues, 12);
  QCOMPARE(attention->recordedMap().layers, bench.controller.modelInfo().layers);
  QString error;
  QVERIFY2(bench.controller.exportTrace(m_tracePath, &error), qPrintable(error));
}

void TestWorkbenchFlow::pauseStopsARun() {
  Bench bench;
  loadModel(bench);
  GenerationStackPanel* panel = bench.controller.stackPanel();
  DecodeOptions o = poppingOptions(100000);
  o.undoBias = 0;
  o.stopAtEos = false;
  panel->setOptions(o);
  panel->setPrompt(QStringLiteral("1+1="));
  QSignalSpy running(&bench.controller, &DecodeController::runningChanged);
  QSignalSpy steps(&bench.controller, &DecodeController::stepsArrived);
  QTest::mouseClick(panel->runButton(), Qt::LeftButton);
  QVERIFY(waitFor(steps, 2));
  QVERIFY(bench.controller.isRunning());
  QVERIFY(!panel->runButton()->isEnabled());
  QTest::mouseClick(panel->pauseButton(), Qt::LeftButton);
  QVERIFY(QTest::qWaitFor([&] { return !bench.controller.isRunning(); }, 10000));
  QVERIFY(bench.window.jobText().startsWith(QStringLiteral("paused")));
  const int count = bench.controller.timeline().stepCount();
  QVERIFY(count > 0 && count < 100000);
  QTest::qWait(200);
  QCOMPARE(bench.controller.timeline().stepCount(), count);  // nothing runs after the pause
  // Step goes on from where it paused (same decode).
  QTest::mouseClick(panel->stepButton(), Qt::LeftButton);
  QVERIFY(
      QTest::qWaitFor([&] { return bench.controller.timeline().stepCount() == count + 1; }, 10000));
}

void TestWorkbenchFlow::replayTraceToStep() {
  QVERIFY2(QFile::exists(m_tracePath), "openRunInjectAndPop writes the trace");
  Bench bench;
  QSignalSpy opened(&bench.controller, &DecodeController::traceOpened);
  QSignalSpy shown(bench.controller.attentionPanel(), &AttentionPanel::mapShown);
  bench.window.requestOpen(OpenKind::Trace, m_tracePath);
  QVERIFY(waitFor(opened));
  QVERIFY(waitFor(shown));
  const nmar::core::Trace& trace = bench.controller.timeline().trace();
  const int m = int(trace.promptIds.size());
  QCOMPARE(int(trace.steps.size()), 12);
  QCOMPARE(bench.controller.position(), 12);

  // Replay to step 2: "x 7" on the stack, nothing pruned yet; then to 3: the UNDO popped "7".
  ReplayBar* replay = bench.controller.replayBar();
  replay->setPosition(2);
  const GenerationStackPanel* panel = bench.controller.stackPanel();
  QCOMPARE(panel->snapshot().applied, 2);
  QCOMPARE(panel->snapshot().stack.size(), 2);
  QCOMPARE(panel->snapshot().stack.last().text, QStringLiteral("7"));
  QVERIFY(panel->snapshot().pruned.isEmpty());
  replay->stepForward();
  QCOMPARE(panel->snapshot().applied, 3);
  QCOMPARE(panel->snapshot().stackTexts().size(), 1);
  QCOMPARE(panel->snapshot().prunedTexts(), QStringList{QStringLiteral("7")});

  // The attention panel shows the queries and keys that exist at step 4, the pruned ones hatched.
  replay->setPosition(4);
  const nmar::viz::HeatmapView* view = bench.controller.attentionPanel()->recordedView();
  QCOMPARE(view->visibleExtent(), QSize(m + 4, 4));
  QCOMPARE(view->matrix().rows, 12);
  QCOMPARE(view->matrix().cols, m + 12);
  QCOMPARE(view->matrix().colLabels.at(m + 1), QStringLiteral("7"));
  QCOMPARE(view->matrix().rowLabels.at(2), QStringLiteral("⟲"));
  // Row 2 is the UNDO: it still sees the "7" it pops. Row 3 sees neither (hatched).
  QVERIFY(std::isfinite(view->valueAt(2, m + 1)));
  QVERIFY(!view->isShaded(2, m + 1));
  QVERIFY(view->isShaded(3, m + 1));
  QVERIFY(view->isShaded(3, m + 2));
  QVERIFY(!view->isShaded(3, m - 1));
  double sum = 0;
  for (int c = 0; c < view->matrix().cols; ++c)
    if (std::isfinite(view->valueAt(3, c))) sum += view->valueAt(3, c);
  QVERIFY2(std::abs(sum - 1.0) < 1e-3, qPrintable(QString::number(sum)));  // a distribution

  // Play runs to the end by itself.
  replay->setSpeed(40);
  replay->play();
  QVERIFY(QTest::qWaitFor([&] { return !replay->isPlaying(); }, 10000));
  QCOMPARE(panel->snapshot().applied, 12);
}

void TestWorkbenchFlow::exportsPlotsAndTraces() {
  Bench bench;
  QSignalSpy shown(bench.controller.attentionPanel(), &AttentionPanel::mapShown);
  bench.window.requestOpen(OpenKind::Trace, m_tracePath);
  QVERIFY(waitFor(shown));
  for (const char* ext : {"png", "svg", "pdf"}) {
    const QString path = m_dir.filePath(QStringLiteral("attention.%1").arg(QLatin1String(ext)));
    QString error;
    QVERIFY2(bench.controller.exportPlot(path, &error), qPrintable(error));
    QVERIFY(QFileInfo(path).size() > 1000);
  }
  QString error;
  QVERIFY(!bench.controller.exportPlot(m_dir.filePath(QStringLiteral("x.bmp")), &error));
  QVERIFY(!error.isEmpty());
  const QString copy = m_dir.filePath(QStringLiteral("copy.json"));
  QVERIFY2(bench.controller.exportTrace(copy, &error), qPrintable(error));
  QVERIFY(QFileInfo(copy).size() > 100);
}

void TestWorkbenchFlow::badFilesGiveMessages() {
  Bench bench;
  QSignalSpy errors(&bench.controller, &DecodeController::errorShown);
  const QString garbage = m_dir.filePath(QStringLiteral("garbage.json"));
  QFile f(garbage);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write("{\"format\": \"nmar-trace/1\", \"steps\": 3");
  f.close();
  bench.window.requestOpen(OpenKind::Trace, garbage);
  QVERIFY(waitFor(errors, 1));
  QVERIFY2(errors.last().first().toString().contains(QStringLiteral("garbage.json")),
           qPrintable(errors.last().first().toString()));

  const QString empty = m_dir.filePath(QStringLiteral("empty-folder"));
  QVERIFY(QDir().mkpath(empty));
  bench.window.requestOpen(OpenKind::Checkpoint, empty);
  QVERIFY(waitFor(errors, 2));
  QVERIFY2(errors.last().first().toString().contains(QStringLiteral("empty-folder")),
           qPrintable(errors.last().first().toString()));
  QVERIFY(!bench.controller.modelReady());
  QVERIFY(!bench.window.runActions().run->isEnabled());
  // Both reached the log pane as errors.
  int errorLines = 0;
  for (const LogLine& line : bench.window.logPane()->lines())
    errorLines += line.level >= LogLevel::Error;
  QVERIFY(errorLines >= 2);
  QCOMPARE(bench.controller.timeline().stepCount(), 0);
}

void TestWorkbenchFlow::injectAtAChosenStep() {
  Bench bench;
  loadModel(bench);
  GenerationStackPanel* panel = bench.controller.stackPanel();
  DecodeOptions o = poppingOptions(6);
  o.undoBias = -20;  // no pops: the forced token stays where it was put
  panel->setOptions(o);
  panel->setPrompt(QStringLiteral("2+2="));
  panel->injectTokenEdit()->setText(QStringLiteral("5"));
  panel->injectStepBox()->setValue(3);  // step number 3 (1-based, as shown)
  QTest::mouseClick(panel->injectButton(), Qt::LeftButton);
  QSignalSpy finished(&bench.controller, &DecodeController::decodeFinished);
  QTest::mouseClick(panel->runButton(), Qt::LeftButton);
  QVERIFY(waitFor(finished));
  const auto& steps = bench.controller.timeline().trace().steps;
  QVERIFY(steps.size() >= 3);
  for (std::size_t k = 0; k < steps.size(); ++k) QCOMPARE(steps[k].forced, k == 2);
  QCOMPARE(QString::fromStdString(steps[2].text), QStringLiteral("5"));
  QCOMPARE(panel->snapshot().stack.at(2).text, QStringLiteral("5"));
  QVERIFY(panel->snapshot().stack.at(2).forced);
}

void TestWorkbenchFlow::startupOpensTheDemo() {
  QTemporaryDir demo;
  const QString error = QString::fromStdString(
      nmar::testing::writeUndoCheckpoint(demo.filePath(QStringLiteral("addition")).toStdString()));
  QVERIFY2(error.isEmpty(), qPrintable(error));
  QVERIFY(QDir().mkpath(demo.filePath(QStringLiteral("traces"))));
  QVERIFY(QFile::copy(m_tracePath, demo.filePath(QStringLiteral("traces/addition.json"))));
  qputenv("NMAR_DEMO_DIR", demo.path().toUtf8());
  Bench bench;
  QSignalSpy loaded(&bench.controller, &DecodeController::modelLoaded);
  QSignalSpy opened(&bench.controller, &DecodeController::traceOpened);
  bench.controller.openStartup();
  QVERIFY(waitFor(loaded));
  QVERIFY(waitFor(opened));
  qunsetenv("NMAR_DEMO_DIR");
  QCOMPARE(bench.controller.modelInfo().name, QStringLiteral("addition"));
  QCOMPARE(bench.controller.timeline().stepCount(), 12);
  QVERIFY(bench.window.runActions().run->isEnabled());  // Run and Inject work at once
  // Whichever of model and trace arrived first, the prompt's chips show the tokenizer's texts,
  // not ids ("#23"), and match the timeline's labels.
  const QStringList labels = bench.controller.timeline().promptLabels();
  const StackSnapshot shown = bench.controller.stackPanel()->snapshot();
  QVERIFY(!labels.isEmpty());
  QCOMPARE(shown.prompt.size(), labels.size());
  for (int i = 0; i < labels.size(); ++i) {
    QCOMPARE(shown.prompt.at(i).text, labels.at(i));
    QVERIFY2(!labels.at(i).startsWith(QLatin1Char('#')), qPrintable(labels.at(i)));
  }
}

// Run → Device lists what this machine has; choosing another device reloads the model there, and
// the choice persists; a saved device this machine lacks falls back to the CPU.
void TestWorkbenchFlow::deviceMenuReloadsTheModel() {
  QSettings().remove(QStringLiteral("decode/device"));
  const int cuda = nmar::core::buildInfo().cudaDevices;
  {
    Bench bench;
    loadModel(bench);
    DeviceMenu* menu = bench.controller.deviceMenu();
    QVERIFY(menu != nullptr);
    QCOMPARE(menu->device(), QStringLiteral("cpu"));
    QCOMPARE(menu->devices().size(), 2 + cuda);
    QCOMPARE(menu->devices().mid(0, 2), (QStringList{"auto", "cpu"}));
    QCOMPARE(bench.window.deviceText(), QStringLiteral("CPU"));
    QVERIFY(!menu->choose(QStringLiteral("cuda:%1").arg(cuda)));  // not offered
    QSignalSpy loaded(&bench.controller, &DecodeController::modelLoaded);
    QVERIFY(menu->choose(QStringLiteral("auto")));
    QVERIFY(waitFor(loaded));
    QCOMPARE(bench.window.deviceText(), cuda > 0 ? QStringLiteral("cuda:0") : QStringLiteral("CPU"));
    QCOMPARE(QSettings().value(QStringLiteral("decode/device")).toString(), QStringLiteral("auto"));
  }
  {
    Bench again;
    QCOMPARE(again.controller.deviceMenu()->device(), QStringLiteral("auto"));
  }
  QSettings().setValue(QStringLiteral("decode/device"), QStringLiteral("cuda:%1").arg(cuda + 3));
  {
    Bench fromAnotherMachine;
    QCOMPARE(fromAnotherMachine.controller.deviceMenu()->device(), QStringLiteral("cpu"));
  }
  QSettings().remove(QStringLiteral("decode/device"));
}

void TestWorkbenchFlow::startupWithoutDemoSaysSo() {
  QTemporaryDir empty;
  qputenv("NMAR_DEMO_DIR", empty.path().toUtf8());
  const QString found = findDemoModel();
  if (!found.isEmpty()) {
    qunsetenv("NMAR_DEMO_DIR");
    QSKIP(qPrintable(QStringLiteral("a demo model exists at %1; the 'no demo' message cannot "
                                    "show")
                         .arg(found)));
  }
  Bench bench;
  bench.controller.openStartup();
  qunsetenv("NMAR_DEMO_DIR");
  QVERIFY(QTest::qWaitFor(
      [&] {
        return bench.window.logPane()->visibleText().contains(
            QStringLiteral("no bundled demo model"));
      },
      5000));
  QVERIFY(bench.window.logPane()->visibleText().contains(empty.path()));
  QVERIFY(!bench.controller.modelReady());
  QCOMPARE(bench.window.modelText(), QStringLiteral("none"));
}

void TestWorkbenchFlow::startupRequestWins() {
  Bench bench;
  bench.window.setStartupRequest(OpenRequest{OpenKind::Trace, m_tracePath});
  QSignalSpy opened(&bench.controller, &DecodeController::traceOpened);
  QSignalSpy loaded(&bench.controller, &DecodeController::modelLoaded);
  bench.controller.openStartup();
  QVERIFY(waitFor(opened));
  QCOMPARE(opened.first().first().toString(), m_tracePath);
  QTest::qWait(100);
  QCOMPARE(loaded.count(), 0);  // the demo is not opened on top of what was asked for
}

void TestWorkbenchFlow::decodeSettingsPersist() {
  {
    Bench bench;
    bench.controller.stackPanel()->setPrompt(QStringLiteral("9+9="));
    DecodeOptions o = poppingOptions(33);
    o.mode = nmar::core::TraceMode::kResample;
    bench.controller.stackPanel()->setOptions(o);
  }  // the controller keeps them when it goes
  Bench bench;
  QCOMPARE(bench.controller.stackPanel()->prompt(), QStringLiteral("9+9="));
  QCOMPARE(bench.controller.stackPanel()->options().maxNewTokens, 33);
  QCOMPARE(bench.controller.stackPanel()->options().mode, nmar::core::TraceMode::kResample);
  QCOMPARE(bench.controller.stackPanel()->options().undoBias, 9.0);
}

QTEST_MAIN(TestWorkbenchFlow)
#include "test_workbench_flow.moc"
