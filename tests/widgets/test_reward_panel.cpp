// The per-token rewards panel over a hand-made GRPO group: stored values reach the tokens, UNDOs
// are linked to what they popped, colours follow the diverging scale, a click asks to replay the
// completion, and the view and values export.
#include <QFile>
#include <QFileInfo>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "store/run_store.h"
#include "trace/trace.h"
#include "widgets/reward_panel.h"
#include "widgets/store_poller.h"
#include "widgets/token_strips_view.h"
#include "widgets/trace_catalog.h"

using namespace nmar;
using widgets::TokenMeasure;

namespace {

/** A completion of "3+4=" (ids 1 2 3) as the token sequence @p ids (99 = UNDO). */
core::Trace completion(const std::vector<std::int64_t>& ids, const std::vector<std::string>& texts,
                       double total, double advantage) {
  core::Trace t;
  t.model = "hand-made";
  t.tokenizer = "char";
  t.promptIds = {1, 2, 3};
  t.promptText = "3+4=";
  t.undoId = 99;
  std::vector<std::int64_t> seq = t.promptIds;
  seq.insert(seq.end(), ids.begin(), ids.end());
  t.steps = core::stepsFromSequence(seq, 3, 99);
  std::vector<std::int64_t> stack;
  for (std::size_t k = 0; k < t.steps.size(); ++k) {
    t.steps[k].text = texts[k];
    if (t.steps[k].kind == core::StepKind::kPop) stack.pop_back();
    else stack.push_back(t.steps[k].token);
  }
  t.outputIds = stack;
  t.outputText = "7";
  t.verdict = {{"correct", true}};
  t.rewards = {{"total", total}, {"advantage", advantage}};
  return t;
}

std::vector<core::TokenScore> scores(const core::Trace& t, const std::vector<double>& reward,
                                     const std::vector<double>& advantage) {
  std::vector<core::TokenScore> out;
  for (std::size_t k = 0; k < t.steps.size(); ++k)
    out.push_back({int(k), t.steps[k].token, reward[k], advantage[k], -0.1 * double(k + 1), 1.0});
  return out;
}

}  // namespace

class TestRewardPanel : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void showsStoredValues();
  void coloursAndClicks();
  void exports();
  void badStoreIsNamed();

 private:
  QTemporaryDir m_dir;
  QString m_path;
  std::int64_t m_run = 0;
  std::unique_ptr<widgets::StorePoller> m_poller;
  std::unique_ptr<widgets::RewardPanel> m_panel;
};

void TestRewardPanel::initTestCase() {
  m_path = m_dir.filePath(QStringLiteral("grpo.sqlite"));
  {
    core::RunStore store(m_path.toStdString());
    m_run = store.createRun({"hand-grpo", "grpo", {{"grpo", {{"num_generations", 2}}}}});
    const core::Trace a = completion({7, 9, 99, 8}, {"7", "9", "<|undo|>", "8"}, 1.0, 0.7);
    const core::Trace b = completion({7, 8}, {"7", "8"}, 0.5, -0.7);
    store.addTrace(m_run, 5, a, 0, scores(a, {0.0, -0.05, 0.2, 0.0}, {0.7, 0.65, 0.9, 0.7}));
    store.addTrace(m_run, 5, b, 0, scores(b, {0.0, 0.0}, {-0.7, -0.7}));
    store.addTrace(m_run, 10, b, 1, scores(b, {0.0, 0.0}, {0.0, 0.0}));
    store.flush();
    store.finishRun(m_run, core::RunStatus::kFinished);
  }
  m_poller = std::make_unique<widgets::StorePoller>();
  m_panel = std::make_unique<widgets::RewardPanel>(m_poller.get());
  m_panel->resize(900, 500);
  m_panel->show();
  QSignalSpy shown(m_panel.get(), &widgets::RewardPanel::groupShown);
  m_poller->setStorePath(m_path);
  QTRY_COMPARE(m_panel->runId(), qint64(m_run));  // the GRPO run is picked by itself
  QTRY_VERIFY(shown.count() >= 1);
  QCOMPARE(m_panel->groups().size(), std::size_t(2));
  QCOMPARE(m_panel->group().step, qint64(10));  // the newest group first
}

void TestRewardPanel::showsStoredValues() {
  QSignalSpy shown(m_panel.get(), &widgets::RewardPanel::groupShown);
  m_panel->showGroup(5, 0);
  QTRY_COMPARE(shown.count(), 1);
  const widgets::RewardGroup& g = m_panel->group();
  QCOMPARE(g.prompt, QStringLiteral("3+4="));
  QCOMPARE(g.completions.size(), 2);
  const widgets::ScoredCompletion& a = g.completions[0];
  QCOMPARE(a.tokens.size(), 4);
  QCOMPARE(*a.total, 1.0);
  QCOMPARE(*a.advantage, 0.7);
  QCOMPARE(a.verdict, QStringLiteral("ok"));
  QCOMPARE(*a.tokens[1].reward, -0.05);
  QCOMPARE(*a.tokens[2].reward, 0.2);
  QCOMPARE(*a.tokens[2].advantage, 0.9);
  QCOMPARE(*a.tokens[3].logprob, -0.4);
  QCOMPARE(*a.tokens[3].ratio, 1.0);
  // The UNDO (step 2) popped the '9' (step 1): linked both ways.
  QVERIFY(a.tokens[2].undo);
  QCOMPARE(a.tokens[2].link, 1);
  QVERIFY(a.tokens[1].popped);
  QCOMPARE(a.tokens[1].link, 2);
  QVERIFY(!a.tokens[0].popped && !a.tokens[3].popped);
  QCOMPARE(a.tokens[1].text, QStringLiteral("9"));
  QCOMPARE(g.completions[1].tokens.size(), 2);
  QCOMPARE(*g.completions[1].tokens[0].advantage, -0.7);
  QCOMPARE(g.maxAbs(TokenMeasure::kAdvantage), 0.9);
  QCOMPARE(g.maxAbs(TokenMeasure::kReward), 0.2);
}

void TestRewardPanel::coloursAndClicks() {
  using V = widgets::TokenStripsView;
  QCOMPARE(V::divergingColour(0.0, 1.0), QColor(255, 255, 255));
  QCOMPARE(V::divergingColour(1.0, 1.0), QColor(5, 113, 176));
  QCOMPARE(V::divergingColour(-1.0, 1.0), QColor(202, 0, 32));
  QCOMPARE(V::divergingColour(std::nullopt, 1.0), QColor(238, 238, 238));
  const QColor half = V::divergingColour(-0.5, 1.0);
  QVERIFY(half.red() > 200 && half.green() < 200 && half.green() > 100);

  V* view = m_panel->view();
  m_panel->setMeasure(TokenMeasure::kAdvantage);
  QCOMPARE(view->measure(), TokenMeasure::kAdvantage);
  // The painted box of a token has its colour (advantage 0.9 is the end of the scale).
  const QImage image = view->grab().toImage();
  const QPoint inside = view->tokenRect(0, 2).topLeft() + QPoint(3, 3);
  QCOMPARE(image.pixelColor(inside * view->devicePixelRatioF()), QColor(5, 113, 176));
  QCOMPARE(view->cellAt(view->tokenRect(1, 1).center()), QPoint(1, 1));

  QSignalSpy replay(m_panel.get(), &widgets::RewardPanel::replayRequested);
  QTest::mouseClick(view, Qt::LeftButton, {}, view->tokenRect(1, 0).center());
  QCOMPARE(replay.count(), 1);
  const auto catalog = replay.at(0).at(0).value<widgets::TraceCatalog>();
  const auto entry = replay.at(0).at(1).value<widgets::TraceEntry>();
  QCOMPARE(entry.traceId, m_panel->group().completions[1].traceId);
  const core::Trace t = widgets::loadCatalogTrace(catalog, entry);  // what the stack panel gets
  QCOMPARE(t.steps.size(), std::size_t(2));
  QCOMPARE(t.outputIds, (std::vector<std::int64_t>{7, 8}));
}

void TestRewardPanel::exports() {
  for (const char* ext : {"png", "svg", "pdf"}) {
    const QString file = m_dir.filePath(QStringLiteral("group.") + QLatin1String(ext));
    QString error;
    QVERIFY2(m_panel->exportView(file, &error), qPrintable(error));
    QVERIFY(QFileInfo(file).size() > 300);
  }
  const QString csv = m_dir.filePath(QStringLiteral("group.csv"));
  QString error;
  QVERIFY2(m_panel->exportCsv(csv, &error), qPrintable(error));
  QFile f(csv);
  QVERIFY(f.open(QIODevice::ReadOnly));
  const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(lines.size(), 1 + 4 + 2);
  QCOMPARE(lines[3], QStringLiteral("%1,2,<|undo|>,1,0,1,0,0.2,0.9,-0.3,1")
                         .arg(m_panel->group().completions[0].traceId));
  QVERIFY(!m_panel->exportCsv(m_dir.filePath(QStringLiteral("g.txt")), &error));
  QVERIFY(error.contains(QStringLiteral("g.txt")));
}

void TestRewardPanel::badStoreIsNamed() {
  const QString bad = m_dir.filePath(QStringLiteral("not-a-store.sqlite"));
  QFile f(bad);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write("this is not SQLite");
  f.close();
  try {
    widgets::listRewardGroups(bad, 1);
    QFAIL("a file that is not a store was read");
  } catch (const std::exception& e) {
    QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("not-a-store.sqlite")), e.what());
  }
  try {
    widgets::loadRewardGroup(m_path, m_run, 99, 0);
    QFAIL("a missing group was loaded");
  } catch (const std::exception& e) {
    QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("no traces at step 99")), e.what());
  }
}

QTEST_MAIN(TestRewardPanel)
#include "test_reward_panel.moc"
