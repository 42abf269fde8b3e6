// The training launcher driving a real `nmar train` child on experiments/smoke.toml (tiny model):
// bad files and fields are refused with their names; start, pause/continue, cancel (checkpoint,
// run "cancelled") and resume (same run id, runs to the end, "finished") from the launcher.
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "nmar_test_paths.h"
#include "store/run_store.h"
#include "widgets/experiment_form.h"
#include "widgets/train_process.h"
#include "widgets/training_launcher.h"

using namespace nmar;
using widgets::TrainState;

namespace {

core::RunInfo storedRun(const QString& store, qint64 id) {
  core::StoreOptions o;
  o.readOnly = true;
  o.create = false;
  core::RunStore s(store.toStdString(), o);
  return s.getRun(id);
}

}  // namespace

class TestTrainingLauncher : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void parsesTrainerLines();
  void refusesBadInput();
  void startPauseCancelResume();

 private:
  QTemporaryDir m_dir;
  QString m_experiment;
};

void TestTrainingLauncher::initTestCase() {
  qputenv("NMAR_CLI", NMAR_CLI_PATH);
  qputenv("OMP_NUM_THREADS", "1");
  m_experiment = m_dir.filePath(QStringLiteral("smoke.toml"));
  QVERIFY(QFile::copy(QStringLiteral(NMAR_SOURCE_DIR "/experiments/smoke.toml"), m_experiment));
}

void TestTrainingLauncher::parsesTrainerLines() {
  using K = widgets::TrainLine::Kind;
  auto l = widgets::TrainProcess::parseLine(QStringLiteral("step 12/40 loss 1.2345 830 tok/s ETA 1m05s"));
  QCOMPARE(l.kind, K::kProgress);
  QCOMPARE(l.step, 12);
  QCOMPARE(l.total, 40);
  QCOMPARE(l.loss, 1.2345);
  QCOMPARE(l.eta, QStringLiteral("1m05s"));
  l = widgets::TrainProcess::parseLine(QStringLiteral("run 7 in /tmp/x.sqlite"));
  QCOMPARE(l.kind, K::kRun);
  QCOMPARE(l.runId, 7);
  l = widgets::TrainProcess::parseLine(QStringLiteral("resuming at step 10 of 40 steps"));
  QCOMPARE(l.kind, K::kTotal);
  QCOMPARE(l.step, 10);
  QCOMPARE(l.total, 40);
  l = widgets::TrainProcess::parseLine(QStringLiteral("nmar: error: x.toml: [optim].lr: bad"));
  QCOMPARE(l.kind, K::kError);
  QCOMPARE(l.text, QStringLiteral("x.toml: [optim].lr: bad"));
}

void TestTrainingLauncher::refusesBadInput() {
  widgets::TrainingLauncher launcher;
  QSignalSpy refused(&launcher, &widgets::TrainingLauncher::launchFailed);
  launcher.setStorePath(m_dir.filePath(QStringLiteral("runs.sqlite")));
  QVERIFY(!launcher.openExperiment(m_dir.filePath(QStringLiteral("missing.toml"))));
  QVERIFY(refused.last().at(0).toString().contains(QStringLiteral("missing.toml")));
  const QString broken = m_dir.filePath(QStringLiteral("broken.toml"));
  QFile f(broken);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write("[run]\nname = \"x\nseed = 1\n");
  f.close();
  QVERIFY(!launcher.openExperiment(broken));
  QVERIFY2(refused.last().at(0).toString().startsWith(broken + QStringLiteral(":2:")),
           qPrintable(refused.last().at(0).toString()));

  QVERIFY(launcher.openExperiment(m_experiment));
  QCOMPARE(launcher.form()->kind(), QStringLiteral("sft"));
  QCOMPARE(launcher.form()->field("train", "steps"), QStringLiteral("20"));
  QCOMPARE(launcher.form()->field("optim", "lr"), QStringLiteral("0.003"));
  launcher.form()->setField("optim", "lr", QStringLiteral("abc"));
  launcher.form()->setField("train", "steps", QStringLiteral("0"));
  launcher.form()->setField("data", "task", QStringLiteral("poetry"));
  QVERIFY(!launcher.start());
  const QString message = refused.last().at(0).toString();
  QVERIFY2(message.contains(QStringLiteral("[optim].lr: expected a number > 0, got 'abc'")), qPrintable(message));
  QVERIFY2(message.contains(QStringLiteral("[train].steps: expected an integer >= 1, got '0'")), qPrintable(message));
  QVERIFY2(message.contains(QStringLiteral("[data].task: expected one of addition, sorting, chain")), qPrintable(message));
  QCOMPARE(launcher.process()->state(), TrainState::kIdle);
  QVERIFY(!launcher.resume());  // nothing to resume yet
}

void TestTrainingLauncher::startPauseCancelResume() {
  const QString store = m_dir.filePath(QStringLiteral("runs.sqlite"));
  widgets::TrainingLauncher launcher;
  launcher.setStorePath(store);
  launcher.setExtraArguments({QStringLiteral("--out"), m_dir.filePath(QStringLiteral("out"))});
  QVERIFY(launcher.openExperiment(m_experiment));
  launcher.form()->setField("train", "steps", QStringLiteral("60"));
  launcher.form()->setField("train", "log_every", QStringLiteral("1"));
  launcher.form()->setField("checkpoint", "every", QStringLiteral("1000"));
  launcher.form()->setField("eval", "every", QStringLiteral("1000"));
  QVERIFY(launcher.form()->isModified());
  QSignalSpy started(&launcher, &widgets::TrainingLauncher::runStarted);
  QSignalSpy ended(&launcher, &widgets::TrainingLauncher::runEnded);
  widgets::TrainProcess* p = launcher.process();
  QVERIFY(launcher.start());
  QVERIFY(p->experiment().endsWith(QStringLiteral("smoke.edited.toml")));  // the edited copy
  QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, 60000);
  const qint64 run = started.at(0).at(0).toLongLong();
  QTRY_VERIFY_WITH_TIMEOUT(p->step() >= 2, 60000);
  QCOMPARE(p->total(), 60);
  QCOMPARE(storedRun(store, run).status, core::RunStatus::kRunning);

  launcher.pause();
  QCOMPARE(p->state(), TrainState::kPaused);
  QTest::qWait(300);  // output already in the pipe may still arrive
  const qint64 pausedAt = p->step();
  QTest::qWait(1500);
  QCOMPARE(p->step(), pausedAt);  // stopped: no progress while paused
  launcher.proceed();
  QCOMPARE(p->state(), TrainState::kRunning);
  QTRY_VERIFY_WITH_TIMEOUT(p->step() > pausedAt, 30000);

  launcher.cancel();
  QTRY_COMPARE_WITH_TIMEOUT(ended.count(), 1, 60000);
  QCOMPARE(ended.at(0).at(0).value<TrainState>(), TrainState::kCancelled);
  const qint64 cancelledAt = p->step();
  QVERIFY(cancelledAt < 60);
  const core::RunInfo cancelled = storedRun(store, run);
  QCOMPARE(cancelled.status, core::RunStatus::kCancelled);

  QVERIFY(launcher.resume());
  QVERIFY(p->arguments().contains(QStringLiteral("--resume")));
  QTRY_COMPARE_WITH_TIMEOUT(ended.count(), 2, 120000);
  QCOMPARE(ended.at(1).at(0).value<TrainState>(), TrainState::kFinished);
  QCOMPARE(p->runId(), run);  // the same run continued
  QCOMPARE(p->step(), 60);
  const core::RunInfo finished = storedRun(store, run);
  QCOMPARE(finished.status, core::RunStatus::kFinished);
  QCOMPARE(finished.config["train"]["steps"].get<int>(), 60);
  QVERIFY(launcher.progressText().startsWith(QStringLiteral("finished: step 60 of 60")));
}

QTEST_MAIN(TestTrainingLauncher)
#include "test_training_launcher.moc"
