#include "widgets/token_strips_view.h"

#include <cmath>

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>

namespace nmar::widgets {
namespace {

constexpr int kGutter = 18;   // UNDO links
constexpr int kToken = 64;    // token box
constexpr int kBar = 96;      // bar area
constexpr int kGap = 14;      // between columns
constexpr int kColumn = kGutter + kToken + kBar + kGap;
constexpr int kHeader = 48;
constexpr int kRow = 18;
constexpr int kMargin = 6;

QString number(const std::optional<double>& v) {
  return v ? QString::number(*v, 'g', 4) : QStringLiteral("–");
}

}  // namespace

TokenStripsView::TokenStripsView(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("tokenStrips"));
  setMouseTracking(true);
  setAttribute(Qt::WA_OpaquePaintEvent);
  setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
}

void TokenStripsView::setGroup(const RewardGroup& group) {
  m_group = group;
  m_selected = -1;
  resize(sizeHint());
  updateGeometry();
  update();
}

void TokenStripsView::setMeasure(TokenMeasure measure) {
  m_measure = measure;
  update();
}

QColor TokenStripsView::divergingColour(std::optional<double> value, double maxAbs) {
  if (!value || !std::isfinite(*value)) return QColor(238, 238, 238);
  const double t = maxAbs > 0 ? std::clamp(*value / maxAbs, -1.0, 1.0) : 0.0;
  const QColor end = t < 0 ? QColor(202, 0, 32) : QColor(5, 113, 176);  // RdBu ends
  const double a = std::abs(t);
  return QColor(int(255 + (end.red() - 255) * a), int(255 + (end.green() - 255) * a),
                int(255 + (end.blue() - 255) * a));
}

QSize TokenStripsView::sizeHint() const {
  int rows = 0;
  for (const ScoredCompletion& c : m_group.completions) rows = std::max(rows, int(c.tokens.size()));
  return {kMargin * 2 + std::max(1, int(m_group.completions.size())) * kColumn,
          kMargin * 2 + kHeader + std::max(1, rows) * kRow};
}

QRect TokenStripsView::tokenRect(int column, int step) const {
  return {kMargin + column * kColumn + kGutter, kMargin + kHeader + step * kRow, kToken, kRow - 2};
}

QPoint TokenStripsView::cellAt(const QPoint& pos) const {
  const int column = (pos.x() - kMargin) / kColumn;
  if (pos.x() < kMargin || column >= m_group.completions.size()) return {-1, -1};
  const int y = pos.y() - kMargin - kHeader;
  if (pos.y() < kMargin) return {-1, -1};
  if (y < 0) return {column, -1};
  const int row = y / kRow;
  if (row >= m_group.completions[column].tokens.size()) return {column, -2};
  return {column, row};
}

void TokenStripsView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().base());
  p.setRenderHint(QPainter::Antialiasing);
  const double maxAbs = m_group.maxAbs(m_measure);
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.85);
  for (int c = 0; c < m_group.completions.size(); ++c) {
    const ScoredCompletion& comp = m_group.completions[c];
    const int x0 = kMargin + c * kColumn;
    if (c == m_selected)
      p.fillRect(QRect(x0, kMargin, kColumn - kGap / 2, height() - 2 * kMargin), QColor(255, 249, 196));
    p.setPen(palette().color(QPalette::Text));
    p.setFont(small);
    const QString head = QStringLiteral("#%1  %2").arg(comp.traceId).arg(comp.verdict);
    p.drawText(QRect(x0, kMargin, kColumn - kGap, 16), Qt::AlignLeft | Qt::AlignVCenter, head);
    p.drawText(QRect(x0, kMargin + 15, kColumn - kGap, 16), Qt::AlignLeft | Qt::AlignVCenter,
               QStringLiteral("R %1  A %2").arg(number(comp.total), number(comp.advantage)));
    p.drawText(QRect(x0, kMargin + 30, kColumn - kGap, 16), Qt::AlignLeft | Qt::AlignVCenter,
               p.fontMetrics().elidedText(comp.output, Qt::ElideRight, kColumn - kGap));
    const int barCentre = x0 + kGutter + kToken + kBar / 2;
    p.setPen(QPen(QColor(180, 180, 180), 1, Qt::DotLine));
    p.drawLine(barCentre, kMargin + kHeader, barCentre, kMargin + kHeader + comp.tokens.size() * kRow);
    for (int k = 0; k < comp.tokens.size(); ++k) {
      const ScoredToken& t = comp.tokens[k];
      const QRect box = tokenRect(c, k);
      const auto v = t.value(m_measure);
      p.setPen(t.forced ? QPen(QColor(230, 81, 0), 2) : QPen(QColor(160, 160, 160), 1));
      p.setBrush(divergingColour(v, maxAbs));
      p.drawRect(box);
      QFont f = font();
      f.setStrikeOut(t.popped);
      f.setItalic(t.popped);
      f.setBold(t.undo);
      p.setFont(f);
      p.setPen(t.popped ? QColor(120, 120, 120) : palette().color(QPalette::Text));
      QString text = t.undo ? QStringLiteral("⟲") : t.text;
      text.replace(QLatin1Char('\n'), QStringLiteral("⏎"));
      p.drawText(box, Qt::AlignCenter, p.fontMetrics().elidedText(text, Qt::ElideRight, kToken - 4));
      if (v && std::isfinite(*v) && maxAbs > 0) {
        const int len = int(std::round(*v / maxAbs * (kBar / 2 - 4)));
        const QRect bar = len >= 0 ? QRect(barCentre, box.top() + 3, len, kRow - 8)
                                   : QRect(barCentre + len, box.top() + 3, -len, kRow - 8);
        p.fillRect(bar, divergingColour(*v >= 0 ? maxAbs : -maxAbs, maxAbs));
      }
      if (t.undo && t.link >= 0) {  // arc in the gutter from the UNDO to the token it popped
        const QRect from = tokenRect(c, k);
        const QRect to = tokenRect(c, t.link);
        QPainterPath arc;
        arc.moveTo(from.left(), from.center().y());
        const double bulge = std::min(kGutter - 2, 4 + 2 * (k - t.link));
        arc.cubicTo(from.left() - bulge, from.center().y(), to.left() - bulge, to.center().y(),
                    to.left(), to.center().y());
        p.setPen(QPen(QColor(106, 27, 154), 1.4));
        p.setBrush(Qt::NoBrush);
        p.drawPath(arc);
      }
    }
  }
  if (m_group.completions.isEmpty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter, tr("no group loaded"));
  }
}

void TokenStripsView::mousePressEvent(QMouseEvent* event) {
  const QPoint cell = cellAt(event->position().toPoint());
  if (cell.x() < 0) return;
  m_selected = cell.x();
  update();
  Q_EMIT completionClicked(cell.x());
}

bool TokenStripsView::event(QEvent* event) {
  if (event->type() != QEvent::ToolTip) return QWidget::event(event);
  auto* help = static_cast<QHelpEvent*>(event);
  const QPoint cell = cellAt(help->pos());
  if (cell.x() < 0 || cell.y() < 0) {
    QToolTip::hideText();
    if (cell.x() >= 0) QToolTip::showText(help->globalPos(), tr("Click to replay this completion"), this);
    return true;
  }
  const ScoredToken& t = m_group.completions[cell.x()].tokens[cell.y()];
  QString text = tr("step %1: '%2'%3%4\nreward %5  advantage %6\nlogprob %7  ratio %8")
                     .arg(cell.y())
                     .arg(t.text)
                     .arg(t.undo ? tr(" (UNDO of step %1)").arg(t.link) : QString())
                     .arg(t.popped ? tr(" (popped by step %1)").arg(t.link) : QString())
                     .arg(number(t.reward), number(t.advantage), number(t.logprob), number(t.ratio));
  if (t.forced) text += tr("\nforced deviation");
  QToolTip::showText(help->globalPos(), text, this);
  return true;
}

}  // namespace nmar::widgets
