#include "widgets/stack_view.h"

#include <algorithm>

#include <QEasingCurve>
#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>
#include <QVariantAnimation>

namespace nmar::widgets {
namespace {

constexpr qreal kMargin = 6;
constexpr qreal kLaneTitle = 56;  // room for "stack" / "pruned" on the left
constexpr qreal kChipHeight = 24;
constexpr qreal kLaneGap = 14;
constexpr qreal kChipGap = 3;

qreal stackLaneY() { return kMargin; }
qreal prunedLaneY() { return kMargin + kChipHeight + kLaneGap; }

}  // namespace

StackView::StackView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setObjectName(QStringLiteral("stackView"));
  setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
  m_animation = new QVariantAnimation(this);
  m_animation->setStartValue(0.0);
  m_animation->setEndValue(1.0);
  m_animation->setDuration(260);
  m_animation->setEasingCurve(QEasingCurve::OutCubic);
  connect(m_animation, &QVariantAnimation::valueChanged, this, [this](const QVariant& v) {
    m_progress = v.toReal();
    update();
  });
}

void StackView::setAnimationDuration(int ms) { m_animation->setDuration(std::max(ms, 0)); }

bool StackView::isAnimating() const { return m_animation->state() == QAbstractAnimation::Running; }

qreal StackView::chipWidth(const TokenChip& chip) const {
  return std::max<qreal>(18, fontMetrics().horizontalAdvance(chip.text) + 10);
}

void StackView::setSnapshot(const StackSnapshot& snapshot, bool animate) {
  // Where the chips that are about to be popped are drawn now: the animation starts there.
  QHash<int, QRectF> liveRects;
  for (const Placed& p : m_placed)
    if (p.kind == Placed::Kind::Live) liveRects.insert(p.chip.step, p.rect);
  const int oldApplied = m_snapshot.applied;
  const bool grew = snapshot.applied > oldApplied;
  m_snapshot = snapshot;
  m_hovered = nullptr;
  relayout();
  m_animFrom.clear();
  bool moving = false;
  for (const Placed& p : m_placed) {
    QRectF from;
    if (animate && grew && (p.kind == Placed::Kind::Popped || p.kind == Placed::Kind::Undo)) {
      // Only pairs popped by the new steps move, and only from where the view showed them.
      const bool fresh = p.kind == Placed::Kind::Popped && p.chip.poppedAt >= oldApplied;
      if (fresh && liveRects.contains(p.chip.step)) {
        from = liveRects.value(p.chip.step);
        moving = true;
      } else if (fresh) {  // pushed and popped within one batch: slide down from the stack lane
        from = p.rect.translated(0, stackLaneY() - prunedLaneY());
        moving = true;
      } else if (p.kind == Placed::Kind::Undo && !m_animFrom.isEmpty() &&
                 !m_animFrom.last().isNull()) {
        from = m_animFrom.last().translated(m_animFrom.last().width() + kChipGap, 0);
      }
    }
    m_animFrom.append(from);
  }
  m_animation->stop();
  if (moving && m_animation->duration() > 0) {
    m_progress = 0.0;
    m_animation->start();
  } else {
    m_progress = 1.0;
  }
  updateGeometry();
  update();
}

void StackView::relayout() {
  m_placed.clear();
  qreal x = kMargin + kLaneTitle;
  QHash<int, qreal> stepX;  // where each trace step's chip sat on the stack lane
  auto place = [&](const TokenChip& chip, Placed::Kind kind, qreal at, qreal y) {
    const qreal w = chipWidth(chip);
    m_placed.append({chip, QRectF(at, y, w, kChipHeight), kind});
    return w;
  };
  for (const TokenChip& chip : m_snapshot.prompt)
    x += place(chip, Placed::Kind::Prompt, x, stackLaneY()) + kChipGap;
  // Popped tokens sat where the live token of the same depth sits now (or would sit): replaying
  // the depth gives each pruned pair its column.
  const qreal stackStart = x;
  QList<qreal> depthX{stackStart};
  for (const TokenChip& chip : m_snapshot.stack) {
    x += place(chip, Placed::Kind::Live, x, stackLaneY()) + kChipGap;
    depthX.append(x);
  }
  qreal end = x;
  qreal prunedX = stackStart;
  for (const PrunedPair& pair : m_snapshot.pruned) {
    const int depthBefore = pair.undo.step >= 1 && pair.undo.step - 1 < m_snapshot.depths.size()
                                ? m_snapshot.depths.at(pair.undo.step - 1)
                                : 1;
    const int slot = std::clamp(depthBefore - 1, 0, int(depthX.size()) - 1);
    qreal at = std::max(prunedX, depthX.at(slot));
    at += place(pair.token, Placed::Kind::Popped, at, prunedLaneY()) + 1;
    at += place(pair.undo, Placed::Kind::Undo, at, prunedLaneY()) + kChipGap + 4;
    prunedX = at;
    end = std::max(end, at);
  }
  m_width = end + kMargin;
}

QSize StackView::sizeHint() const {
  return QSize(int(std::max<qreal>(m_width, 300)), int(prunedLaneY() + kChipHeight + kMargin));
}

QSize StackView::minimumSizeHint() const { return QSize(200, sizeHint().height()); }

const TokenChip* StackView::chipAt(const QPoint& pos) const {
  for (const Placed& p : m_placed)
    if (p.rect.contains(pos)) return &p.chip;
  return nullptr;
}

void StackView::paintChip(QPainter& p, const Placed& placed, const QRectF& rect) const {
  QColor fill(225, 235, 250), border(120, 140, 180), text(20, 20, 20);
  switch (placed.kind) {
    case Placed::Kind::Prompt:
      fill = QColor(232, 232, 232);
      border = QColor(170, 170, 170);
      text = QColor(80, 80, 80);
      break;
    case Placed::Kind::Live:
      break;
    case Placed::Kind::Popped:
      fill = QColor(250, 228, 228);
      border = QColor(190, 120, 120);
      text = QColor(140, 60, 60);
      break;
    case Placed::Kind::Undo:
      fill = QColor(255, 236, 200);
      border = QColor(210, 150, 60);
      text = QColor(150, 90, 0);
      break;
  }
  QPen pen(placed.chip.forced ? QColor(210, 30, 30) : border, placed.chip.forced ? 2.0 : 1.0);
  p.setPen(pen);
  p.setBrush(fill);
  p.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 4, 4);
  p.setPen(text);
  QFont f = font();
  f.setStrikeOut(placed.kind == Placed::Kind::Popped);  // struck out: it no longer counts
  p.setFont(f);
  p.drawText(rect, Qt::AlignCenter, placed.chip.text);
  p.setFont(font());
  if (placed.chip.forced && placed.kind != Placed::Kind::Undo) {  // a red corner: injected
    QPainterPath corner;
    corner.moveTo(rect.topRight() + QPointF(-7, 0.5));
    corner.lineTo(rect.topRight() + QPointF(-0.5, 0.5));
    corner.lineTo(rect.topRight() + QPointF(-0.5, 7));
    corner.closeSubpath();
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(210, 30, 30));
    p.drawPath(corner);
  }
}

void StackView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  p.fillRect(rect(), palette().base());
  p.setPen(palette().color(QPalette::PlaceholderText));
  p.drawText(QRectF(kMargin, stackLaneY(), kLaneTitle, kChipHeight), Qt::AlignVCenter, tr("stack"));
  p.drawText(QRectF(kMargin, prunedLaneY(), kLaneTitle, kChipHeight), Qt::AlignVCenter,
             tr("pruned"));
  p.setPen(QPen(palette().color(QPalette::Mid), 1, Qt::DashLine));
  const qreal sepY = prunedLaneY() - kLaneGap / 2;
  p.drawLine(QPointF(kMargin, sepY), QPointF(width() - kMargin, sepY));
  for (int i = 0; i < m_placed.size(); ++i) {
    const Placed& placed = m_placed[i];
    QRectF r = placed.rect;
    const QRectF from = i < m_animFrom.size() ? m_animFrom[i] : QRectF();
    if (!from.isNull() && m_progress < 1.0) {
      const QPointF delta = (placed.rect.topLeft() - from.topLeft()) * m_progress;
      r = QRectF(from.topLeft() + delta, placed.rect.size());
    }
    paintChip(p, placed, r);
  }
}

bool StackView::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(event);
    if (const TokenChip* chip = chipAt(help->pos())) {
      QToolTip::showText(help->globalPos(), chip->tooltip(), this);
    } else {
      QToolTip::hideText();
      event->ignore();
    }
    return true;
  }
  return QWidget::event(event);
}

void StackView::mouseMoveEvent(QMouseEvent* event) {
  const TokenChip* chip = chipAt(event->position().toPoint());
  if (chip == m_hovered) return;
  m_hovered = chip;
  if (chip)
    Q_EMIT chipHovered(*chip);
  else
    Q_EMIT hoverLeft();
}

void StackView::leaveEvent(QEvent*) {
  if (m_hovered) Q_EMIT hoverLeft();
  m_hovered = nullptr;
}

}  // namespace nmar::widgets
