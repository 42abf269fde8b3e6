// Renders each panel of the workbench after a decode with an injected error and saves PNGs as
// test artefacts (NMAR_SCREENSHOT_DIR in the build tree), for people to look at.
#include <QDir>
#include <QDockWidget>
#include <QImage>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include "viz/heatmap_view.h"
#include "widgets/attention_panel.h"
#include "widgets/decode_controller.h"
#include "widgets/demo_locator.h"
#include "widgets/generation_stack_panel.h"
#include "widgets/main_window.h"
#include "widgets/replay_bar.h"
#include "workbench_test_support.h"

using namespace nmar::widgets;
using nmar::testing::waitFor;

class TestWorkbenchScreenshots : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void rendersEveryPanel();
  void rendersTheDemo();
};

namespace {

/** Saves @p widget's rendering as @p name.png; returns the image. */
QImage save(QWidget* widget, const QString& name) {
  QDir().mkpath(QStringLiteral(NMAR_SCREENSHOT_DIR));
  const QImage image = widget->grab().toImage();
  image.save(QDir(QStringLiteral(NMAR_SCREENSHOT_DIR)).filePath(name + QStringLiteral(".png")));
  return image;
}

/** Number of distinct colours in a coarse sample of @p image (a blank render has 1 or 2). */
int colourCount(const QImage& image) {
  QSet<QRgb> colours;
  for (int y = 0; y < image.height(); y += 3)
    for (int x = 0; x < image.width(); x += 3) colours.insert(image.pixel(x, y));
  return colours.size();
}

}  // namespace

void TestWorkbenchScreenshots::rendersEveryPanel() {
  QStandardPaths::setTestModeEnabled(true);
  QTemporaryDir dir;
  const QString model = nmar::testing::makeUndoCheckpoint(dir.path());
  QVERIFY2(!model.startsWith(QLatin1String("FAILED")), qPrintable(model));

  MainWindow window;
  DecodeController controller(&window);
  window.resize(1400, 900);
  window.show();
  QSignalSpy loaded(&controller, &DecodeController::modelLoaded);
  window.requestOpen(OpenKind::Checkpoint, model);
  QVERIFY(waitFor(loaded));
  GenerationStackPanel* panel = controller.stackPanel();
  DecodeOptions o;
  o.temperature = 1.0;
  o.topP = 1.0;
  o.seed = 3;
  o.maxNewTokens = 16;
  o.undoBias = 2.0;
  panel->setOptions(o);
  panel->setPrompt(QStringLiteral("348+275="));
  QSignalSpy steps(&controller, &DecodeController::stepsArrived);
  QSignalSpy finished(&controller, &DecodeController::decodeFinished);
  QTest::mouseClick(panel->stepButton(), Qt::LeftButton);
  QVERIFY(waitFor(steps, 1));
  QTest::mouseClick(panel->stepButton(), Qt::LeftButton);
  QVERIFY(waitFor(steps, 2));
  QTest::mouseClick(panel->injectButton(), Qt::LeftButton);
  QVERIFY(waitFor(steps, 3));
  QTest::mouseClick(panel->runButton(), Qt::LeftButton);
  QVERIFY(waitFor(finished));
  QSignalSpy shown(controller.attentionPanel(), &AttentionPanel::mapShown);
  controller.attentionPanel()->setSideBySide(true);  // asks the worker for the soft forward
  QVERIFY(waitFor(shown));
  QTest::qWait(400);  // animations end, queued replots happen
  const AttentionPanel* panelA = controller.attentionPanel();
  QCOMPARE(panelA->comparisonMap().matrix.rows, controller.timeline().stepCount());
  QVERIFY(panelA->comparisonMap().rowsWithValues > 0);
  QCOMPARE(panelA->recordedView()->colorRange(), panelA->comparisonView()->colorRange());

  const QImage stack = save(panel, QStringLiteral("generation_stack"));
  const QImage attention = save(controller.attentionPanel(), QStringLiteral("attention"));
  const QImage replay = save(controller.replayBar(), QStringLiteral("replay_bar"));
  const QImage whole = save(&window, QStringLiteral("main_window"));
  controller.replayBar()->setPosition(4);
  QTest::qWait(100);
  const QImage atStep = save(&window, QStringLiteral("main_window_step4"));
  for (const QImage* image : {&stack, &attention, &replay, &whole, &atStep}) {
    QVERIFY(!image->isNull());
    QVERIFY2(colourCount(*image) > 8, "the rendering looks blank");
  }
  QVERIFY(QFileInfo::exists(
      QDir(QStringLiteral(NMAR_SCREENSHOT_DIR)).filePath(QStringLiteral("attention.png"))));
}

void TestWorkbenchScreenshots::rendersTheDemo() {
  if (findDemoModel().isEmpty())
    QSKIP("no bundled demo model (resources/demo/addition); only the tiny test model is shown");
  QStandardPaths::setTestModeEnabled(true);
  MainWindow window;
  DecodeController controller(&window);
  window.resize(1400, 900);
  window.show();
  QSignalSpy loaded(&controller, &DecodeController::modelLoaded);
  QSignalSpy opened(&controller, &DecodeController::traceOpened);
  controller.openStartup();
  QVERIFY(waitFor(loaded));
  if (!findDemoTrace().isEmpty()) {
    QVERIFY(waitFor(opened));
    QTest::qWait(300);
    QVERIFY(colourCount(save(&window, QStringLiteral("demo_trace"))) > 8);
  }
  // Greedy decode of the demo prompt with an error injected after two steps.
  GenerationStackPanel* panel = controller.stackPanel();
  DecodeOptions o;
  o.temperature = 0;
  o.maxNewTokens = 24;
  panel->setOptions(o);
  panel->setPrompt(QStringLiteral("348+275="));
  panel->injectTokenEdit()->clear();
  panel->injectStepBox()->setValue(0);
  QSignalSpy steps(&controller, &DecodeController::stepsArrived);
  QSignalSpy finished(&controller, &DecodeController::decodeFinished);
  QTest::mouseClick(panel->stepButton(), Qt::LeftButton);
  QVERIFY(waitFor(steps, 1));
  QTest::mouseClick(panel->stepButton(), Qt::LeftButton);
  QVERIFY(waitFor(steps, 2));
  QTest::mouseClick(panel->injectButton(), Qt::LeftButton);
  QVERIFY(waitFor(steps, 3));
  QTest::mouseClick(panel->runButton(), Qt::LeftButton);
  QVERIFY(waitFor(finished));
  QTest::qWait(400);
  const StackSnapshot& snap = panel->snapshot();
  qInfo("demo decode: stack \"%s\", pruned \"%s\"", qPrintable(snap.stackTexts().join("")),
        qPrintable(snap.prunedTexts().join(" ")));
  QVERIFY(colourCount(save(&window, QStringLiteral("demo_decode"))) > 8);
  QVERIFY(colourCount(save(panel, QStringLiteral("demo_generation_stack"))) > 8);
}

QTEST_MAIN(TestWorkbenchScreenshots)
#include "test_workbench_screenshots.moc"
