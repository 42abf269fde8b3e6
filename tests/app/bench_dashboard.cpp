// bench_dashboard [STEPS] [PACE_MS]: how long the GUI thread's event loop stalls while another
// process (store_feeder) logs a run at full speed (or one step every PACE_MS) into the store that
// the training dashboard, run explorer and per-token rewards panel watch live (offscreen). A 1 ms
// timer on the GUI thread records the gaps between its ticks; a gap is the longest time the GUI
// could not react. The paced run is repeated with each panel alone and with none (the baseline:
// nothing of ours on the GUI thread, so its stalls are the machine's), and every event the GUI
// thread spends over 30 ms on is printed with its receiver and type. Prints numbers; not a ctest
// test.
#include <memory>
#include <algorithm>
#include <cstdio>
#include <vector>

#include <QApplication>
#include <QMap>
#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QTimer>

#include "viz/curve_view.h"
#include "viz/qcp.h"
#include "widgets/reward_panel.h"
#include "widgets/run_explorer.h"
#include "widgets/store_poller.h"
#include "widgets/training_dashboard.h"

using namespace nmar;

namespace {

/** Times every event the GUI thread delivers; the slow ones name their receiver and type. */
class TimingApplication : public QApplication {
 public:
  using QApplication::QApplication;
  bool notify(QObject* receiver, QEvent* event) override {
    if (m_depth++ > 0) {  // nested (sent from inside another event): the outer one counts
      const bool r = QApplication::notify(receiver, event);
      --m_depth;
      return r;
    }
    QElapsedTimer t;
    t.start();
    const bool r = QApplication::notify(receiver, event);
    --m_depth;
    const double ms = t.nsecsElapsed() / 1e6;
    if (ms > 30.0) {
      QString what = QString::fromLatin1(receiver->metaObject()->className());
      if (!receiver->objectName().isEmpty()) what += QStringLiteral(" '%1'").arg(receiver->objectName());
      what += QStringLiteral(" event %1").arg(int(event->type()));
      m_slow[what].push_back(ms);
    }
    return r;
  }
  /** Slow events since the last call: "receiver event type: count, max ms", then forgets them. */
  QStringList takeSlow() {
    QStringList out;
    for (auto it = m_slow.begin(); it != m_slow.end(); ++it)
      out << QStringLiteral("%1: %2 x, max %3 ms")
                 .arg(it.key())
                 .arg(it.value().size())
                 .arg(*std::max_element(it.value().begin(), it.value().end()), 0, 'f', 1);
    m_slow.clear();
    return out;
  }

 private:
  int m_depth = 0;
  QMap<QString, QVector<double>> m_slow;
};

struct Result {
  double seconds = 0;
  std::vector<double> gapsMs;
  std::vector<double> handlerMs;
  int polls = 0, redraws = 0, points = 0;
  qint64 lastQueryUs = 0;
  double replotMs = 0;  ///< the slowest chart's mean replot time
  QString slowest;
};

enum Panels { kDashboard = 1, kExplorer = 2, kRewards = 4, kAll = 7 };

/** @p panels: which panels watch the store (a Panels mask); 0 is the baseline, the timer and the
 *  feeder only (no poller either). */
Result measure(long steps, int paceMs, int panels = kAll) {
  QTemporaryDir dir;
  const QString path = dir.filePath(QStringLiteral("bench.sqlite"));
  widgets::StorePoller poller;
  Result r;
  // The panels' reaction to a poll: from the first to the last slot connected to updated().
  QElapsedTimer handler;
  std::unique_ptr<widgets::TrainingDashboard> dashboard;
  std::unique_ptr<widgets::RunExplorer> explorer;
  std::unique_ptr<widgets::RewardPanel> rewards;
  if (panels) {
    QObject::connect(&poller, &widgets::StorePoller::updated, &poller, [&] { handler.start(); });
    if (panels & kDashboard) {
      dashboard = std::make_unique<widgets::TrainingDashboard>(&poller);
      dashboard->resize(1200, 800);
      dashboard->show();
    }
    if (panels & kExplorer) {
      explorer = std::make_unique<widgets::RunExplorer>(&poller);
      explorer->show();
    }
    if (panels & kRewards) {
      rewards = std::make_unique<widgets::RewardPanel>(&poller);
      rewards->show();
    }
    QObject::connect(&poller, &widgets::StorePoller::updated, &poller, [&] {
      r.handlerMs.push_back(handler.nsecsElapsed() / 1e6);
    });
    poller.setStorePath(path);
    poller.start();
  }

  QProcess feeder;
  feeder.setProcessChannelMode(QProcess::ForwardedErrorChannel);
  QElapsedTimer clock, gap;
  QTimer tick;
  tick.setTimerType(Qt::PreciseTimer);
  tick.setInterval(1);
  QObject::connect(&tick, &QTimer::timeout, &tick, [&] {
    r.gapsMs.push_back(gap.nsecsElapsed() / 1e6);
    gap.restart();
  });
  QObject::connect(&feeder, &QProcess::finished, &tick, [&] {
    // Let the last rows reach the charts, then stop.
    QTimer::singleShot(1000, qApp, &QCoreApplication::quit);
  });
  feeder.start(QStringLiteral(NMAR_STORE_FEEDER),
               {path, QStringLiteral("bench"), QString::number(steps), QString::number(paceMs)});
  clock.start();
  gap.start();
  tick.start();
  QApplication::exec();
  r.seconds = clock.elapsed() / 1000.0;
  r.polls = poller.pollCount();
  if (!dashboard) return r;
  r.redraws = dashboard->redrawCount();
  r.lastQueryUs = poller.lastQueryUs();
  if (viz::CurveView* loss = dashboard->chart(QStringLiteral("train/loss"))) r.points = loss->pointCount(0);
  for (const QString& title : dashboard->shownCharts()) {
    const double ms = dashboard->chart(title)->plot()->replotTime(true);
    if (ms > r.replotMs) r.slowest = title;
    r.replotMs = std::max(r.replotMs, ms);
  }
  return r;
}

void print(const char* name, long steps, const Result& r) {
  struct SlowAfter {
    ~SlowAfter() {
      for (const QString& line : static_cast<TimingApplication*>(qApp)->takeSlow())
        std::printf("|   event over 30 ms: %s\n", qPrintable(line));
    }
  } slowAfter;
  std::vector<double> g = r.gapsMs;
  std::sort(g.begin(), g.end());
  auto pct = [&](double p) { return g.empty() ? 0.0 : g[std::min(g.size() - 1, std::size_t(p * g.size()))]; };
  const long over = std::count_if(g.begin(), g.end(), [](double v) { return v > 50.0; });
  const double handlerMax = r.handlerMs.empty() ? 0.0 : *std::max_element(r.handlerMs.begin(), r.handlerMs.end());
  std::printf("| %-24s | %8ld | %6.1f | %6d | %7d | %9d | %6.2f | %6.2f | %7.1f | %5ld | %8.1f | %8.1f |\n", name,
              steps, r.seconds, r.polls, r.redraws, r.points, pct(0.5), pct(0.99),
              g.empty() ? 0.0 : g.back(), over, r.lastQueryUs / 1000.0, handlerMax);
  if (!r.slowest.isEmpty())
    std::printf("|   (mean replot of the slowest chart, %s: %.1f ms)\n", qPrintable(r.slowest), r.replotMs);
}

}  // namespace

/** Time to set @p n points on one chart and replot it at once (no other load of ours); constant
 *  values, or a sawtooth from 0 to 0.99 every 100 points (the feeder's eval/clean_acc). */
double replotCost(int n, bool sawtooth = false) {
  viz::CurveView view;
  view.resize(560, 260);
  view.show();
  viz::CurveSeries s;
  s.name = QStringLiteral("loss");
  s.color = Qt::blue;
  for (int i = 0; i < n; ++i) {
    s.x << i;
    s.y << (sawtooth ? (i % 100) / 100.0 : 0.001);  // or constant, like train/lr after warmup
  }
  QElapsedTimer t;
  t.start();
  view.setSeries({s});
  view.plot()->replot(QCustomPlot::rpImmediateRefresh);
  return t.nsecsElapsed() / 1e6;
}

int main(int argc, char** argv) {
  qputenv("QT_QPA_PLATFORM", "offscreen");
  TimingApplication app(argc, argv);
  const long steps = argc > 1 ? std::atol(argv[1]) : 200000;
  const int pace = argc > 2 ? std::atoi(argv[2]) : 1;
  std::printf("| %-24s | %8s | %6s | %6s | %7s | %9s | %6s | %6s | %7s | %5s | %8s | %8s |\n", "run", "steps",
              "wall s", "polls", "redraws", "points", "p50 ms", "p99 ms", "max ms", ">50ms",
              "query ms", "slots ms");
  std::printf("|%s|\n", std::string(143, '-').c_str());
  for (int n : {2000, 20000, 200000}) std::printf("|   one chart, %d constant points: setSeries + replot %.1f ms\n", n, replotCost(n));
  for (int n : {250, 251, 1000, 10000})
    std::printf("|   one chart, %d points of a sawtooth: setSeries + replot %.1f ms\n", n, replotCost(n, true));
  print("full speed", steps, measure(steps, 0));
  char name[64];
  std::snprintf(name, sizeof name, "paced %d ms/step", pace);
  print(name, steps / 10, measure(steps / 10, pace));
  // Which panel stalls: each alone, then the baseline without any.
  const std::pair<const char*, int> alone[] = {
      {"dashboard", kDashboard}, {"explorer", kExplorer}, {"rewards", kRewards}, {"no panel", 0}};
  for (const auto& [what, mask] : alone) {
    std::snprintf(name, sizeof name, "paced, %s only", what);
    print(name, steps / 10, measure(steps / 10, pace, mask));
  }
  return 0;
}
