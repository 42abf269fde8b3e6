// LogPane: lines from any thread arrive on the GUI thread with their level; filter; ring limit.
#include <QClipboard>
#include <QComboBox>
#include <QGuiApplication>
#include <QSignalSpy>
#include <QTest>
#include <QThread>
#include <thread>
#include <vector>

#include "util/log.h"
#include "widgets/log_pane.h"

using nmar::widgets::LogLevel;
using nmar::widgets::LogLine;
using nmar::widgets::LogPane;

Q_DECLARE_METATYPE(LogLevel)

namespace {

LogLine makeLine(LogLevel level, const QString& text) {
  LogLine line;
  line.level = level;
  line.logger = QStringLiteral("test");
  line.text = text;
  return line;
}

void appendOneOfEachLevel(LogPane* pane) {
  for (int level = int(LogLevel::Trace); level <= int(LogLevel::Critical); ++level) {
    pane->appendLine(makeLine(LogLevel(level), QStringLiteral("level %1").arg(level)));
  }
}

}  // namespace

class TestLogPane : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void lineFromWorkerThreadArrivesOnGuiThread();
  void linesFromManyThreadsKeepPerThreadOrder();
  void spdlogLevelsMapToPaneLevels();
  void filterHidesLowerLevels_data();
  void filterHidesLowerLevels();
  void levelComboDrivesFilter();
  void ringKeepsNewestLines();
  void ringCountsVisibleLinesUnderFilter();
  void clearAndCopy();
  void destroyedPaneStopsReceiving();
};

void TestLogPane::initTestCase() { nmar::core::setLogLevel("trace"); }

void TestLogPane::lineFromWorkerThreadArrivesOnGuiThread() {
  LogPane pane;
  QThread* receivedOn = nullptr;
  connect(&pane, &LogPane::lineAppended, &pane,
          [&receivedOn] { receivedOn = QThread::currentThread(); });
  std::thread worker([] { nmar::core::logger("test.worker")->warn("from worker {}", 42); });
  worker.join();
  QCOMPARE(pane.lineCount(), 0);  // queued: nothing arrives before the event loop runs
  QTRY_COMPARE(pane.lineCount(), 1);
  QCOMPARE(receivedOn, QCoreApplication::instance()->thread());
  const LogLine line = pane.lines().first();
  QCOMPARE(line.level, LogLevel::Warn);
  QCOMPARE(line.logger, QStringLiteral("test.worker"));
  QVERIFY2(line.text.endsWith(QStringLiteral("[test.worker] from worker 42")),
           qPrintable(line.text));
  QVERIFY2(line.text.contains(QStringLiteral("warning")), qPrintable(line.text));
  QVERIFY(!line.text.endsWith(QLatin1Char('\n')));
  QVERIFY(line.time.isValid());
  QVERIFY(qAbs(line.time.msecsTo(QDateTime::currentDateTime())) < 60000);
  QVERIFY(pane.visibleText().contains(QStringLiteral("from worker 42")));
}

void TestLogPane::linesFromManyThreadsKeepPerThreadOrder() {
  LogPane pane;
  constexpr int kThreads = 4;
  constexpr int kLinesEach = 50;
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([t] {
      auto log = nmar::core::logger("test.pool");
      for (int i = 0; i < kLinesEach; ++i) log->info("t{} #{}", t, i);
    });
  }
  for (std::thread& worker : workers) worker.join();
  QTRY_COMPARE(pane.lineCount(), kThreads * kLinesEach);
  std::vector<int> next(kThreads, 0);
  for (const LogLine& line : pane.lines()) {
    const QString tail = line.text.section(QLatin1Char(' '), -2);  // "tN #i"
    const int t = tail.mid(1, tail.indexOf(QLatin1Char(' ')) - 1).toInt();
    const int i = tail.section(QLatin1Char('#'), 1).toInt();
    QCOMPARE(i, next[size_t(t)]);
    ++next[size_t(t)];
  }
}

void TestLogPane::spdlogLevelsMapToPaneLevels() {
  LogPane pane;
  auto log = nmar::core::logger("test.levels");
  log->trace("t");
  log->debug("d");
  log->info("i");
  log->warn("w");
  log->error("e");
  log->critical("c");
  QTRY_COMPARE(pane.lineCount(), 6);
  const QList<LogLine> lines = pane.lines();
  for (int i = 0; i < 6; ++i) QCOMPARE(int(lines[i].level), i);
}

void TestLogPane::filterHidesLowerLevels_data() {
  QTest::addColumn<LogLevel>("minimum");
  QTest::addColumn<int>("visible");
  QTest::addColumn<QString>("firstShown");
  QTest::addRow("trace") << LogLevel::Trace << 6 << "level 0";
  QTest::addRow("info") << LogLevel::Info << 4 << "level 2";
  QTest::addRow("warning") << LogLevel::Warn << 3 << "level 3";
  QTest::addRow("error") << LogLevel::Error << 2 << "level 4";
  QTest::addRow("critical") << LogLevel::Critical << 1 << "level 5";
}

void TestLogPane::filterHidesLowerLevels() {
  QFETCH(LogLevel, minimum);
  QFETCH(int, visible);
  QFETCH(QString, firstShown);
  LogPane pane;
  appendOneOfEachLevel(&pane);
  pane.setMinimumLevel(minimum);
  QCOMPARE(pane.minimumLevel(), minimum);
  QCOMPARE(pane.visibleLineCount(), visible);
  const QStringList shown = pane.visibleText().split(QLatin1Char('\n'));
  QCOMPARE(shown.size(), visible);
  QCOMPARE(shown.first(), firstShown);
  QCOMPARE(pane.lineCount(), 6);  // hidden, not discarded
  pane.appendLine(makeLine(LogLevel::Trace, QStringLiteral("late trace")));
  QCOMPARE(pane.visibleText().contains(QStringLiteral("late trace")), minimum == LogLevel::Trace);
  pane.setMinimumLevel(LogLevel::Trace);
  QCOMPARE(pane.visibleLineCount(), 7);
}

void TestLogPane::levelComboDrivesFilter() {
  LogPane pane;
  appendOneOfEachLevel(&pane);
  auto* combo = pane.findChild<QComboBox*>(QStringLiteral("logLevelFilter"));
  QVERIFY(combo);
  combo->setCurrentIndex(combo->findText(QStringLiteral("error")));
  QCOMPARE(pane.minimumLevel(), LogLevel::Error);
  QCOMPARE(pane.visibleLineCount(), 2);
  pane.setMinimumLevel(LogLevel::Debug);  // and the other way round
  QCOMPARE(combo->currentText(), QStringLiteral("debug"));
}

void TestLogPane::ringKeepsNewestLines() {
  LogPane pane;
  QCOMPARE(pane.maxLines(), LogPane::kDefaultMaxLines);
  pane.setMaxLines(3);
  for (int i = 0; i < 5; ++i)
    pane.appendLine(makeLine(LogLevel::Info, QStringLiteral("line %1").arg(i)));
  QCOMPARE(pane.lineCount(), 3);
  QCOMPARE(pane.lines().first().text, QStringLiteral("line 2"));
  QCOMPARE(pane.visibleText(), QStringLiteral("line 2\nline 3\nline 4"));
  pane.setMaxLines(2);  // shrinking drops the oldest
  QCOMPARE(pane.visibleText(), QStringLiteral("line 3\nline 4"));
  pane.setMaxLines(0);  // at least one line is kept
  QCOMPARE(pane.maxLines(), 1);
  QCOMPARE(pane.visibleText(), QStringLiteral("line 4"));
}

void TestLogPane::ringCountsVisibleLinesUnderFilter() {
  LogPane pane;
  pane.setMaxLines(4);
  pane.setMinimumLevel(LogLevel::Warn);
  pane.appendLine(makeLine(LogLevel::Error, QStringLiteral("e0")));
  pane.appendLine(makeLine(LogLevel::Info, QStringLiteral("i1")));
  pane.appendLine(makeLine(LogLevel::Warn, QStringLiteral("w2")));
  pane.appendLine(makeLine(LogLevel::Info, QStringLiteral("i3")));
  QCOMPARE(pane.visibleLineCount(), 2);
  pane.appendLine(makeLine(LogLevel::Info, QStringLiteral("i4")));  // evicts e0
  QCOMPARE(pane.lineCount(), 4);
  QCOMPARE(pane.visibleLineCount(), 1);
  QCOMPARE(pane.visibleText(), QStringLiteral("w2"));
}

void TestLogPane::clearAndCopy() {
  LogPane pane;
  pane.appendLine(makeLine(LogLevel::Info, QStringLiteral("alpha")));
  pane.appendLine(makeLine(LogLevel::Error, QStringLiteral("beta")));
  pane.copyToClipboard();
  QCOMPARE(QGuiApplication::clipboard()->text(), QStringLiteral("alpha\nbeta"));
  pane.setMinimumLevel(LogLevel::Error);
  pane.copyToClipboard();  // copies what is shown
  QCOMPARE(QGuiApplication::clipboard()->text(), QStringLiteral("beta"));
  pane.clear();
  QCOMPARE(pane.lineCount(), 0);
  QCOMPARE(pane.visibleLineCount(), 0);
  QVERIFY(pane.visibleText().isEmpty());
}

void TestLogPane::destroyedPaneStopsReceiving() {
  auto log = nmar::core::logger("test.lifetime");
  {
    LogPane gone;
    log->info("while alive");
    QTRY_COMPARE(gone.lineCount(), 1);
  }
  log->info("after destruction");  // must neither crash nor reach the destroyed pane
  LogPane pane;
  log->info("new pane");
  QTRY_COMPARE(pane.lineCount(), 1);
  QTest::qWait(20);  // let any stray queued line arrive
  QCOMPARE(pane.lineCount(), 1);
  QVERIFY(pane.lines().first().text.endsWith(QStringLiteral("new pane")));
}

QTEST_MAIN(TestLogPane)
#include "test_log_pane.moc"
