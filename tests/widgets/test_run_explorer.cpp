// The run explorer over a hand-made store: filtering, sorting, config diff, tags/notes, delete
// and exports; the filter and diff helpers on their own.
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "store/run_store.h"
#include "widgets/config_diff.h"
#include "widgets/run_explorer.h"
#include "widgets/run_filter.h"
#include "widgets/run_table_model.h"
#include "widgets/store_poller.h"

using namespace nmar;
using widgets::DiffState;

class TestRunExplorer : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void filters_data();
  void filters();
  void badFilterIsNamed();
  void sortsByName();
  void configDiffOfTwoRuns();
  void diffHelper();
  void tagsNotesAndDelete();
  void exports();

 private:
  QTemporaryDir m_dir;
  QString m_path;
  std::int64_t m_a = 0, m_b = 0, m_c = 0;
  std::unique_ptr<widgets::StorePoller> m_poller;
  std::unique_ptr<widgets::RunExplorer> m_explorer;
};

void TestRunExplorer::initTestCase() {
  QVERIFY(m_dir.isValid());
  m_path = m_dir.filePath(QStringLiteral("runs.sqlite"));
  {
    core::RunStore store(m_path.toStdString());
    core::NewRun a{"addition-masked", "sft",
                   {{"optim", {{"lr", 0.001}, {"warmup", 50}}}, {"seed", 2}, {"mode", "hard"}}};
    a.tags = {"best"};
    core::NewRun b{"addition-naive", "sft",
                   {{"optim", {{"lr", 0.002}, {"warmup", 50}}}, {"seed", 2}, {"naive", true}}};
    core::NewRun c{"addition-grpo", "grpo", {{"optim", {{"lr", 2e-5}}}, {"grpo", {{"beta", 0.02}}}}};
    m_a = store.createRun(a);
    m_b = store.createRun(b);
    m_c = store.createRun(c);
    store.logMetrics(m_a, 10, {{"train/loss", 1.5}});
    store.logMetrics(m_a, 20, {{"train/loss", 0.5}});
    store.finishRun(m_a, core::RunStatus::kFinished);
    store.finishRun(m_b, core::RunStatus::kFailed, "loss is NaN at step 7");
    store.finishRun(m_c, core::RunStatus::kFinished);
  }
  m_poller = std::make_unique<widgets::StorePoller>();
  m_explorer = std::make_unique<widgets::RunExplorer>(m_poller.get());
  m_poller->setStorePath(m_path);
  QTRY_COMPARE(m_explorer->visibleRunIds().size(), 3);
}

void TestRunExplorer::filters_data() {
  QTest::addColumn<QString>("filter");
  QTest::addColumn<QList<qint64>>("expected");  // sorted ids
  QTest::addRow("none") << QString() << QList<qint64>{1, 2, 3};
  QTest::addRow("kind") << QStringLiteral("kind:grpo") << QList<qint64>{3};
  QTest::addRow("status") << QStringLiteral("status:failed") << QList<qint64>{2};
  QTest::addRow("tag") << QStringLiteral("tag:best") << QList<qint64>{1};
  QTest::addRow("name words") << QStringLiteral("ADDITION na") << QList<qint64>{2};
  QTest::addRow("config number") << QStringLiteral("optim.lr=0.002") << QList<qint64>{2};
  QTest::addRow("config int as float") << QStringLiteral("seed=2.0") << QList<qint64>{1, 2};
  QTest::addRow("config bool") << QStringLiteral("naive=true") << QList<qint64>{2};
  QTest::addRow("config string") << QStringLiteral("mode=hard") << QList<qint64>{1};
  QTest::addRow("config nested") << QStringLiteral("grpo.beta=0.02 kind:grpo") << QList<qint64>{3};
  QTest::addRow("combined, no match") << QStringLiteral("kind:grpo tag:best") << QList<qint64>{};
}

void TestRunExplorer::filters() {
  QFETCH(QString, filter);
  QFETCH(QList<qint64>, expected);
  QVERIFY2(m_explorer->setFilterText(filter), qPrintable(m_explorer->filterError()));
  QList<qint64> shown = m_explorer->visibleRunIds();
  std::sort(shown.begin(), shown.end());
  QCOMPARE(shown, expected);
  m_explorer->setFilterText(QString());
}

void TestRunExplorer::badFilterIsNamed() {
  QVERIFY(!m_explorer->setFilterText(QStringLiteral("status:bogus")));
  QVERIFY2(m_explorer->filterError().contains(QStringLiteral("status:bogus")) &&
               m_explorer->filterError().contains(QStringLiteral("unknown run status")),
           qPrintable(m_explorer->filterError()));
  QVERIFY(m_explorer->setFilterText(QString()));
  QVERIFY(m_explorer->filterError().isEmpty());
}

void TestRunExplorer::sortsByName() {
  m_explorer->sortBy(widgets::RunTableModel::kName, Qt::AscendingOrder);
  QCOMPARE(m_explorer->visibleRunIds(), (QList<qint64>{m_c, m_a, m_b}));  // grpo, masked, naive
  m_explorer->sortBy(widgets::RunTableModel::kId, Qt::DescendingOrder);
  QCOMPARE(m_explorer->visibleRunIds(), (QList<qint64>{m_c, m_b, m_a}));
}

void TestRunExplorer::configDiffOfTwoRuns() {
  m_explorer->setOnlyDifferences(true);
  m_explorer->selectRuns({m_a, m_b});
  QCOMPARE(m_explorer->selectedRunIds(), (QList<qint64>{m_a, m_b}));
  const auto& rows = m_explorer->configRows();
  QCOMPARE(rows.size(), std::size_t(3));
  QCOMPARE(rows[0].key, std::string("mode"));
  QCOMPARE(rows[0].left, std::string("\"hard\""));
  QCOMPARE(rows[0].right, std::string());
  QVERIFY(rows[0].state == DiffState::kOnlyLeft);
  QCOMPARE(rows[1].key, std::string("naive"));
  QVERIFY(rows[1].state == DiffState::kOnlyRight);
  QCOMPARE(rows[2].key, std::string("optim.lr"));
  QCOMPARE(rows[2].left, std::string("0.001"));
  QCOMPARE(rows[2].right, std::string("0.002"));
  QVERIFY(rows[2].state == DiffState::kChanged);
  m_explorer->setOnlyDifferences(false);
  QCOMPARE(m_explorer->configRows().size(), std::size_t(5));  // + optim.warmup, seed
  m_explorer->selectRuns({m_c});
  QCOMPARE(m_explorer->configRows().size(), std::size_t(2));  // grpo.beta, optim.lr
  QCOMPARE(m_explorer->configRows()[0].key, std::string("grpo.beta"));
}

void TestRunExplorer::diffHelper() {
  const nlohmann::json a = {{"s", {{"stages", {{{"n", 1}}, {{"n", 2}}}}}}, {"e", nlohmann::json::object()}};
  const auto flat = widgets::flattenConfig(a);
  QCOMPARE(flat.size(), std::size_t(3));
  QCOMPARE(flat[0].first, std::string("e"));
  QCOMPARE(flat[0].second, std::string("{}"));
  QCOMPARE(flat[2].first, std::string("s.stages[1].n"));
  QCOMPARE(flat[2].second, std::string("2"));
  QVERIFY(widgets::configValueAt(a, "$.s.stages[1].n") == nlohmann::json(2));
  QVERIFY(!widgets::configValueAt(a, "$.s.stages[5].n"));
  QVERIFY(widgets::diffConfigs(a, a, true).empty());
}

void TestRunExplorer::tagsNotesAndDelete() {
  QSignalSpy done(m_explorer.get(), &widgets::RunExplorer::actionFinished);
  m_explorer->setTags(m_b, {QStringLiteral("baseline"), QStringLiteral(" naive ")});
  QTRY_COMPARE(done.count(), 1);
  QVERIFY2(done.at(0).at(0).toBool(), qPrintable(done.at(0).at(1).toString()));
  m_explorer->setNotes(m_b, QStringLiteral("diverged: lr too high"));
  QTRY_COMPARE(done.count(), 2);
  QTRY_VERIFY(m_poller->run(m_b) && m_poller->run(m_b)->notes == "diverged: lr too high");
  QCOMPARE(m_poller->run(m_b)->tags, (std::vector<std::string>{"baseline", "naive"}));
  QVERIFY(m_explorer->setFilterText(QStringLiteral("tag:baseline")));
  QCOMPARE(m_explorer->visibleRunIds(), (QList<qint64>{m_b}));
  m_explorer->setFilterText(QString());

  m_explorer->setTags(m_b, {QStringLiteral("bad tag")});  // whitespace: refused, named
  QTRY_COMPARE(done.count(), 3);
  QVERIFY(!done.at(2).at(0).toBool());
  QVERIFY2(done.at(2).at(1).toString().contains(QStringLiteral("bad tag")),
           qPrintable(done.at(2).at(1).toString()));

  m_explorer->deleteRuns({m_b});
  QTRY_COMPARE(done.count(), 4);
  QVERIFY(done.at(3).at(0).toBool());
  QTRY_COMPARE(m_explorer->visibleRunIds().size(), 2);
  QVERIFY(!m_explorer->visibleRunIds().contains(m_b));
  m_explorer->deleteRuns({999});
  QTRY_COMPARE(done.count(), 5);
  QVERIFY(!done.at(4).at(0).toBool());
  QVERIFY(done.at(4).at(1).toString().contains(QStringLiteral("999")));
}

void TestRunExplorer::exports() {
  const QString csv = m_dir.filePath(QStringLiteral("runs.csv"));
  QString error;
  m_explorer->setFilterText(QStringLiteral("kind:sft"));
  QVERIFY2(m_explorer->exportTable(csv, &error), qPrintable(error));
  QFile f(csv);
  QVERIFY(f.open(QIODevice::ReadOnly));
  const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(lines.size(), 2);  // header + addition-masked (naive was deleted)
  QVERIFY(lines[0].startsWith(QStringLiteral("ID,Name,Kind,Status")));
  QVERIFY(lines[1].startsWith(QStringLiteral("%1,addition-masked,sft,finished").arg(m_a)));
  QVERIFY(!m_explorer->exportTable(m_dir.filePath(QStringLiteral("runs.txt")), &error));
  QVERIFY(error.contains(QStringLiteral("runs.txt")));
  m_explorer->setFilterText(QString());

  QSignalSpy done(m_explorer.get(), &widgets::RunExplorer::actionFinished);
  const QString metrics = m_dir.filePath(QStringLiteral("metrics.csv"));
  m_explorer->exportRun(m_a, metrics);
  QTRY_COMPARE(done.count(), 1);
  QVERIFY2(done.at(0).at(0).toBool(), qPrintable(done.at(0).at(1).toString()));
  QFile m(metrics);
  QVERIFY(m.open(QIODevice::ReadOnly));
  const QStringList rows = QString::fromUtf8(m.readAll()).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(rows.size(), 3);
  QVERIFY(rows[1].startsWith(QStringLiteral("%1,train/loss,10,1.5").arg(m_a)));
  m_explorer->exportRun(m_a, m_dir.filePath(QStringLiteral("metrics.xml")));
  QTRY_COMPARE(done.count(), 2);
  QVERIFY(!done.at(1).at(0).toBool());
  QVERIFY(done.at(1).at(1).toString().contains(QStringLiteral("metrics.xml")));
}

QTEST_MAIN(TestRunExplorer)
#include "test_run_explorer.moc"
