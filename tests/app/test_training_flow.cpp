// The training side of the real main window: the dashboard, run explorer, per-token rewards,
// launcher and token-init docks on the --store run store; Plot, Open traces, replaying a GRPO
// completion in the generation stack, the loaded model reaching the token-init panel, and File →
// Open run store switching every panel to another store.
#include <QDockWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include "store/run_store.h"
#include "trace/trace_io.h"
#include "viz/curve_view.h"
#include "widgets/decode_controller.h"
#include "widgets/main_window.h"
#include "widgets/reward_panel.h"
#include "widgets/run_explorer.h"
#include "widgets/store_poller.h"
#include "widgets/token_init_panel.h"
#include "widgets/trace_picker.h"
#include "widgets/training_controller.h"
#include "widgets/training_dashboard.h"
#include "workbench_test_support.h"

using namespace nmar;
using namespace nmar::widgets;
using nmar::testing::waitFor;

namespace {

/** prompt [1 2], push 3, push @p wrong, UNDO, push 5. */
core::Trace makeTrace(int wrong) {
  const std::string json = R"({"format": "nmar-trace/1", "model": "m", "tokenizer": "t",
    "mode": "hard", "prompt_ids": [1, 2], "prompt_text": "1+2=", "undo_id": 9, "eos_id": -1,
    "steps": [
      {"kind": "push", "token": 3, "text": "3", "position": 2, "depth": 1},
      {"kind": "push", "token": )" + std::to_string(wrong) + R"(, "text": "x", "position": 3, "depth": 2},
      {"kind": "pop", "token": 9, "text": "<|undo|>", "popped": )" + std::to_string(wrong) +
                           R"(, "position": 4, "depth": 1},
      {"kind": "push", "token": 5, "text": "5", "position": 3, "depth": 2}],
    "output_ids": [3, 5], "output_text": "35", "rewards": {"total": 1.0, "advantage": 0.5}})";
  return core::parseTrace(json, "flow");
}

void writeStore(const QString& path, const std::string& prefix) {
  core::RunStore store(path.toStdString());
  const auto sft = store.createRun({prefix + "-sft", "sft", {{"optim", {{"lr", 0.001}}}}, {}, {}, {}});
  for (int s = 1; s <= 5; ++s) store.logMetrics(sft, s * 10, {{"train/loss", 1.0 / s}});
  store.finishRun(sft, core::RunStatus::kFinished);
  const auto grpo = store.createRun({prefix + "-grpo", "grpo", {{"optim", {{"lr", 2e-5}}}}, {}, {}, {}});
  for (int g = 0; g < 2; ++g) {
    std::vector<core::TokenScore> scores;
    for (int k = 0; k < 4; ++k) scores.push_back({k, 0, 0.1 * k, 0.5 - g, -0.2, 1.0});
    store.addTrace(grpo, 3, makeTrace(6 + g), 0, scores);
  }
  store.logMetrics(grpo, 3, {{"train/reward", 0.75}, {"train/kl", 0.01}});
  store.flush();
  store.finishRun(grpo, core::RunStatus::kFinished);
}

}  // namespace

class TestTrainingFlow : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
  void wholeFlow();
};

void TestTrainingFlow::wholeFlow() {
  QTemporaryDir dir;
  const QString first = dir.filePath(QStringLiteral("first.sqlite"));
  const QString second = dir.filePath(QStringLiteral("second.sqlite"));
  writeStore(first, "first");
  writeStore(second, "second");

  MainWindow window;
  window.setRunStorePath(first);
  DecodeController decode(&window);
  TrainingController training(&window, &decode);
  window.resize(1400, 900);
  window.show();
  for (const char* dock : {"dashboardDock", "explorerDock", "rewardsDock", "launcherDock", "tokenInitDock"})
    QVERIFY2(window.findChild<QDockWidget*>(QLatin1String(dock)), dock);
  QCOMPARE(training.storePath(), first);

  RunExplorer* explorer = training.explorer();
  QTRY_COMPARE(explorer->visibleRunIds().size(), 2);
  TrainingDashboard* dashboard = training.dashboard();
  QTRY_COMPARE(dashboard->checkedRuns(), (std::set<std::int64_t>{2}));  // the newest run
  QTRY_VERIFY(dashboard->chart(QStringLiteral("train/reward")) != nullptr);

  // Plot both runs from the explorer.
  explorer->selectRuns({1, 2});
  explorer->findChild<QPushButton*>(QStringLiteral("plotRuns"))->click();
  QCOMPARE(dashboard->checkedRuns(), (std::set<std::int64_t>{1, 2}));
  QTRY_VERIFY(dashboard->chart(QStringLiteral("train/loss")) &&
              dashboard->chart(QStringLiteral("train/loss"))->series().size() == 1);

  // Open the GRPO run's traces: the picker lists exactly its two.
  QSignalSpy listed(&training, &TrainingController::runTracesListed);
  explorer->selectRuns({2});
  explorer->findChild<QPushButton*>(QStringLiteral("openRunTraces"))->click();
  QVERIFY(waitFor(listed));
  QCOMPARE(listed.front().at(0).toLongLong(), 2);
  QCOMPARE(listed.front().at(1).toInt(), 2);
  QVERIFY(decode.tracePicker()->isVisible());
  QCOMPARE(decode.tracePicker()->visibleRows(), 2);
  decode.tracePicker()->hide();

  // The rewards panel shows the group; a click replays the completion in the stack panel.
  RewardPanel* rewards = training.rewardPanel();
  QTRY_COMPARE(rewards->group().completions.size(), 2);
  QCOMPARE(*rewards->group().completions[1].tokens[0].advantage, -0.5);
  QSignalSpy opened(&decode, &DecodeController::traceOpened);
  rewards->replayCompletion(1);
  QVERIFY(waitFor(opened));
  QCOMPARE(decode.timeline().stepCount(), 4);
  QCOMPARE(decode.timeline().snapshot(4).pruned.front().token.id, 7);  // the second completion's

  // A loaded model reaches the token-init panel.
  const QString model = nmar::testing::makeUndoCheckpoint(dir.path());
  QVERIFY2(!model.startsWith(QStringLiteral("FAILED")), qPrintable(model));
  QSignalSpy loaded(&decode, &DecodeController::modelLoaded);
  decode.openCheckpoint(model);
  QVERIFY(waitFor(loaded));
  QCOMPARE(training.tokenInitPanel()->checkpoint(), model);

  // File → Open run store: every panel reads the other store.
  window.requestOpen(OpenKind::RunStore, second);
  QCOMPARE(training.storePath(), second);
  QTRY_VERIFY(training.poller()->run(1) && training.poller()->run(1)->name == "second-sft");
  QTRY_COMPARE(explorer->visibleRunIds().size(), 2);
}

QTEST_MAIN(TestTrainingFlow)
#include "test_training_flow.moc"
