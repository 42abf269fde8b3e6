#include "widgets/detector_scores.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <QStringList>

#include "widgets/decode_options.h"
#include "widgets/decode_timeline.h"

namespace nmar::widgets {
namespace {

// Viridis at 0, 1/8, ..., 1 (matplotlib's table); linear in between.
constexpr std::array<QRgb, 9> kViridis = {0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21918c,
                                          0x28ae80, 0x5ec962, 0xaadc32, 0xfde725};

}  // namespace

QString DetectorInfo::summary() const {
  if (!loaded()) return QStringLiteral("none");
  const QString name = dir.section(QLatin1Char('/'), -1, -1, QString::SectionSkipEmpty);
  const QString head =
      innerSize > 0 ? QStringLiteral("MLP %1").arg(innerSize) : QStringLiteral("linear");
  return QStringLiteral("%1 (%2, tau %3)").arg(name, head).arg(tau, 0, 'f', 2);
}

QString DetectorCell::tooltip(double tau) const {
  QStringList lines;
  if (pop) {
    lines << QStringLiteral("step %1  UNDO").arg(step + 1);
    lines << (verifierPop ? QStringLiteral("caused by the verifier (the score of the token it "
                                           "popped was over the decode's tau)")
                          : QStringLiteral("drawn by the model itself"));
    return lines.join(QLatin1Char('\n'));
  }
  lines << QStringLiteral("step %1  \"%2\"").arg(step + 1).arg(text);
  if (hasScore())
    lines << QStringLiteral("detector score %1 %2 tau %3")
                 .arg(score, 0, 'f', 3)
                 .arg(overTau(tau) ? QStringLiteral(">") : QStringLiteral("<="))
                 .arg(tau, 0, 'f', 2);
  else
    lines << QStringLiteral("no detector score");
  lines << (undone() ? QStringLiteral("undone by the UNDO of step %1").arg(undoneAt + 1)
                     : QStringLiteral("survived (on the stack at the end)"));
  return lines.join(QLatin1Char('\n'));
}

std::optional<double> DetectorCounts::precision() const {
  if (over == 0) return std::nullopt;
  return double(overUndone) / over;
}

bool traceHasVerifierScores(const core::Trace& trace) {
  return std::any_of(trace.steps.begin(), trace.steps.end(), [](const core::TraceStep& s) {
    return s.kind == core::StepKind::kPush && s.verifierScore.has_value();
  });
}

QList<DetectorCell> detectorCells(const core::Trace& trace) {
  QList<DetectorCell> cells;
  cells.reserve(qsizetype(trace.steps.size()));
  QList<int> stack;  // indices into cells of the pushed tokens still on the stack
  for (int k = 0; k < int(trace.steps.size()); ++k) {
    const core::TraceStep& s = trace.steps[std::size_t(k)];
    DetectorCell cell;
    cell.step = k;
    cell.pop = s.kind == core::StepKind::kPop;
    if (cell.pop) {
      cell.text = QStringLiteral("⟲");
      cell.verifierPop = s.verifier;
      if (!stack.isEmpty()) cells[stack.takeLast()].undoneAt = k;
    } else {
      cell.text = visibleText(QString::fromStdString(s.text));
      if (s.verifierScore) cell.score = *s.verifierScore;
      stack.append(int(cells.size()));
    }
    cells.append(cell);
  }
  return cells;
}

DetectorCounts countDetectorCells(const QList<DetectorCell>& cells, double tau) {
  DetectorCounts c;
  for (const DetectorCell& cell : cells) {
    if (cell.pop) {
      (cell.verifierPop ? c.verifierPops : c.modelPops) += 1;
      continue;
    }
    if (!cell.hasScore()) continue;
    ++c.scored;
    if (!cell.overTau(tau)) continue;
    ++c.over;
    (cell.undone() ? c.overUndone : c.overSurvived) += 1;
  }
  return c;
}

std::optional<double> traceVerifierTau(const core::Trace& trace) {
  if (!trace.meta.is_object()) return std::nullopt;
  const auto v = trace.meta.find("verifier");
  if (v == trace.meta.end() || !v->is_object()) return std::nullopt;
  const auto tau = v->find("tau");
  if (tau == v->end() || !tau->is_number()) return std::nullopt;
  const double t = tau->get<double>();
  if (!(t >= 0.0 && t <= 1.0)) return std::nullopt;
  return t;
}

QColor detectorColour(double score) {
  if (std::isnan(score)) return QColor(220, 220, 220);
  const double x = std::clamp(score, 0.0, 1.0) * double(kViridis.size() - 1);
  const int i = std::min(int(x), int(kViridis.size()) - 2);
  const double f = x - i;
  const QColor a(kViridis[std::size_t(i)]);
  const QColor b(kViridis[std::size_t(i) + 1]);
  auto mix = [f](int u, int v) { return int(std::lround(u + (v - u) * f)); };
  return QColor(mix(a.red(), b.red()), mix(a.green(), b.green()), mix(a.blue(), b.blue()));
}

}  // namespace nmar::widgets
