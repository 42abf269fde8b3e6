// bench_workbench [N ...]: time to build and draw the attention map of a trace of N steps, and the
// frame time of replaying it step by step (stack panel + attention panel), offscreen.
// Not a ctest test: speed goals live in benchmarks. Default N: 512 2000.
#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include <QApplication>
#include <QElapsedTimer>

#include "viz/heatmap_view.h"
#include "viz/qcp.h"
#include "widgets/attention_map.h"
#include "widgets/decode_timeline.h"
#include "widgets/generation_stack_panel.h"

using namespace nmar;
using namespace nmar::widgets;

namespace {

constexpr int kLayers = 2;
constexpr int kHeads = 4;

/** A hard-mode trace of @p n steps (prompt of 8), 30 % UNDOs, random attention rows. */
core::Trace syntheticTrace(int n) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  core::Trace t;
  t.model = "bench";
  t.tokenizer = "char";
  t.promptIds = {1, 2, 3, 4, 5, 6, 7, 8};
  t.promptText = "12345678";
  t.undoId = 30;
  int depth = 0;
  const int m = int(t.promptIds.size());
  for (int k = 0; k < n; ++k) {
    core::TraceStep s;
    const bool pop = depth > 0 && u(rng) < 0.3f;
    s.position = m + depth;
    if (pop) {
      s.kind = core::StepKind::kPop;
      s.token = t.undoId;
      s.text = "<|undo|>";
      --depth;
    } else {
      s.kind = core::StepKind::kPush;
      s.token = 10 + int(u(rng) * 10);
      s.text = std::to_string(s.token % 10);
      ++depth;
    }
    s.depth = depth;
    s.logprob = -0.5;
    s.entropy = 1.0;
    s.topk = {{11, 0.5}, {12, 0.2}};
    s.attention.heads = kHeads;
    s.attention.keys = s.position + 1;
    for (int l = 0; l < kLayers; ++l) {
      std::vector<float> row(std::size_t(kHeads * s.attention.keys));
      for (float& v : row) v = u(rng) / float(s.attention.keys) * 2.0f;
      s.attention.layers.push_back(std::move(row));
    }
    t.steps.push_back(std::move(s));
  }
  return t;
}

double ms(const QElapsedTimer& t) { return double(t.nsecsElapsed()) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  std::vector<int> sizes;
  for (const QString& a : app.arguments().mid(1)) sizes.push_back(a.toInt());
  if (sizes.empty()) sizes = {512, 2000};

  std::printf(
      "| steps | build map ms | setMatrix+shade ms | first draw ms | replay frame ms "
      "(mean / p95 / max) |\n|---:|---:|---:|---:|---|\n");
  for (int n : sizes) {
    const core::Trace trace = syntheticTrace(n);
    DecodeTimeline timeline;
    timeline.reset(trace);
    QStringList stepLabels;
    for (const core::TraceStep& s : trace.steps)
      stepLabels << (s.kind == core::StepKind::kPop ? QStringLiteral("⟲")
                                                    : QString::fromStdString(s.text));

    QElapsedTimer t;
    t.start();
    AttentionMap map = buildAttentionMap(trace, attentionRowsOf(trace), KeyLayout::kStack, {1, -1},
                                         timeline.promptLabels(), stepLabels);
    map.cells = viz::prepareHeatmapCells(map.matrix);  // also on the worker, in the panel
    const double build = ms(t);

    viz::HeatmapView view;
    view.resize(900, 700);
    view.show();
    t.restart();
    view.setMatrix(map.matrix, nullptr, map.cells);
    view.setColorRange(0, 1);
    if (qEnvironmentVariableIsEmpty("NOSHADE")) view.setShadedMask(map.shaded);
    const double set = ms(t);
    t.restart();
    view.plot()->replot(QCustomPlot::rpImmediateRefresh);
    const double draw = ms(t);

    GenerationStackPanel panel;
    panel.resize(1200, 200);
    panel.show();
    const QList<int> depths = timeline.snapshot(n).depths;
    std::vector<double> frames;
    double stackMs = 0, mapMs = 0, snapMs = 0, extentMs = 0;
    const int from = std::max(0, n - 100);  // the last 100 steps: the longest stacks and maps
    for (int k = from; k <= n; ++k) {
      t.restart();
      const StackSnapshot snap = timeline.snapshot(k);
      snapMs += ms(t);
      panel.showSnapshot(snap, depths, false);
      panel.repaint();
      const double a = ms(t);
      view.setVisibleExtent(k, map.promptLength + k);
      extentMs += ms(t) - a;
      view.plot()->replot(QCustomPlot::rpImmediateRefresh);
      frames.push_back(ms(t));
      stackMs += a;
      mapMs += frames.back() - a;
    }
    const double f = double(frames.size());
    std::fprintf(stderr,
                 "n=%d: stack panel %.2f ms/frame (snapshot %.2f), attention %.2f ms/frame "
                 "(set extent %.2f)\n",
                 n, stackMs / f, snapMs / f, mapMs / f, extentMs / f);
    std::sort(frames.begin(), frames.end());
    double mean = 0;
    for (double f : frames) mean += f;
    mean /= double(frames.size());
    std::printf("| %d | %.1f | %.1f | %.1f | %.2f / %.2f / %.2f |\n", n, build, set, draw, mean,
                frames[std::size_t(double(frames.size()) * 0.95)], frames.back());
    std::fflush(stdout);
  }
  return 0;
}
