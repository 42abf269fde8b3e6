// The training dashboard and run explorer watching a store that another process (store_feeder)
// writes: the run appears, its curve grows within a second of new rows, values are the stored
// ones; smoothing, log scale, wall-time axis and chart export.
#include <QElapsedTimer>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include "viz/curve_view.h"
#include "viz/qcp.h"
#include "widgets/run_explorer.h"
#include "widgets/store_poller.h"
#include "widgets/training_dashboard.h"

using namespace nmar;

class TestTrainingDashboard : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void runFromAnotherProcessAppearsAndGrows();
  void chartsOverlayAndExport();

 private:
  QTemporaryDir m_dir;
};

void TestTrainingDashboard::runFromAnotherProcessAppearsAndGrows() {
  const QString path = m_dir.filePath(QStringLiteral("live.sqlite"));
  widgets::StorePoller poller;
  widgets::TrainingDashboard dashboard(&poller);
  widgets::RunExplorer explorer(&poller);
  dashboard.resize(1000, 700);
  dashboard.show();
  poller.setStorePath(path);  // no file yet: a first run creates it
  poller.start();
  QTRY_VERIFY(poller.storeMissing());
  QCOMPARE(explorer.visibleRunIds().size(), 0);

  QProcess feeder;
  feeder.setProcessChannelMode(QProcess::ForwardedErrorChannel);
  feeder.start(QStringLiteral(NMAR_STORE_FEEDER),
               {path, QStringLiteral("live-run"), QStringLiteral("600"), QStringLiteral("20")});
  QVERIFY2(feeder.waitForStarted(), qPrintable(feeder.errorString()));

  QTRY_COMPARE_WITH_TIMEOUT(explorer.visibleRunIds().size(), 1, 10000);
  const qint64 id = explorer.visibleRunIds().front();
  QTRY_COMPARE(dashboard.checkedRuns(), (std::set<std::int64_t>{id}));  // new running run: shown
  QTRY_VERIFY_WITH_TIMEOUT(dashboard.chart(QStringLiteral("train/loss")) != nullptr, 5000);
  viz::CurveView* loss = dashboard.chart(QStringLiteral("train/loss"));
  QTRY_VERIFY(loss->pointCount(0) > 0);

  // Live: every poll that sees new rows extends the curve; each wait below is under a second.
  for (int round = 0; round < 3; ++round) {
    const int before = loss->pointCount(0);
    QElapsedTimer clock;
    clock.start();
    QTRY_VERIFY_WITH_TIMEOUT(loss->pointCount(0) > before, 1000);
    qInfo("round %d: %d -> %d points after %lld ms", round, before, loss->pointCount(0),
          static_cast<long long>(clock.elapsed()));
  }
  // The values are the stored ones: loss = 1 / (step + 1).
  const viz::CurveSeries& s = loss->series().front();
  QCOMPARE(s.name, QStringLiteral("#%1 live-run").arg(id));
  for (int i = 0; i < s.x.size(); ++i) QCOMPARE(s.y[i], 1.0 / (s.x[i] + 1.0));
  QVERIFY(dashboard.chartTitles().contains(QStringLiteral("eval/clean_acc")));
  QVERIFY(dashboard.shownCharts().contains(QStringLiteral("train/lr")));
  // train/lr is constant: its axis still has a width around the value.
  const QCPRange lr = dashboard.chart(QStringLiteral("train/lr"))->plot()->yAxis->range();
  QVERIFY(lr.lower < 0.001 && lr.upper > 0.001);

  feeder.kill();  // the run is left "running" by a dead process
  feeder.waitForFinished();
}

void TestTrainingDashboard::chartsOverlayAndExport() {
  const QString path = m_dir.filePath(QStringLiteral("two.sqlite"));
  for (const char* name : {"first", "second"}) {
    QProcess feeder;
    feeder.start(QStringLiteral(NMAR_STORE_FEEDER),
                 {path, QString::fromLatin1(name), QStringLiteral("50"), QStringLiteral("0")});
    QVERIFY(feeder.waitForFinished(30000));
    QCOMPARE(feeder.exitCode(), 0);
  }
  widgets::StorePoller poller;
  widgets::TrainingDashboard dashboard(&poller);
  dashboard.resize(1000, 700);
  dashboard.show();
  poller.setStorePath(path);
  QTRY_COMPARE(poller.runs().size(), std::size_t(2));
  QCOMPARE(dashboard.checkedRuns(), (std::set<std::int64_t>{2}));  // the newest at first
  dashboard.setCheckedRuns({1, 2});
  QTRY_VERIFY(dashboard.chart(QStringLiteral("train/loss")) &&
              dashboard.chart(QStringLiteral("train/loss"))->series().size() == 2);
  viz::CurveView* loss = dashboard.chart(QStringLiteral("train/loss"));
  QCOMPARE(loss->series()[0].name, QStringLiteral("#1 first"));
  QCOMPARE(loss->series()[1].name, QStringLiteral("#2 second"));
  QCOMPARE(loss->pointCount(1), 50);

  dashboard.setSmoothing(0.9);
  QCOMPARE(loss->smoothing(), 0.9);
  QCOMPARE(loss->pointCount(1), 50);
  const QVector<double> sm = viz::smoothed({1.0, 0.0}, 0.5);
  QCOMPARE(sm[0], 1.0);               // bias-corrected: the first value is kept
  QCOMPARE(sm[1], 0.25 / 0.75);       // (0.5 * 0.5 * 1 + 0.5 * 0) / (1 - 0.5^2)
  dashboard.setLogY(true);
  QVERIFY(loss->logY());
  dashboard.setChartShown(QStringLiteral("train/lr"), false);
  QVERIFY(!dashboard.chart(QStringLiteral("train/lr")));
  dashboard.setXAxis(widgets::XAxis::kWallMinutes);
  for (double x : loss->series()[0].x) QVERIFY(x >= 0.0 && x < 5.0);  // minutes since start

  for (const char* ext : {"png", "svg", "pdf"}) {
    const QString file = m_dir.filePath(QStringLiteral("loss.") + QLatin1String(ext));
    QString error;
    QVERIFY2(dashboard.exportChart(QStringLiteral("train/loss"), file, &error), qPrintable(error));
    QVERIFY(QFileInfo(file).size() > 500);
  }
  QString error;
  QVERIFY(!dashboard.exportChart(QStringLiteral("nope"), m_dir.filePath("x.png"), &error));
  QVERIFY(error.contains(QStringLiteral("nope")));
}

QTEST_MAIN(TestTrainingDashboard)
#include "test_training_dashboard.moc"
