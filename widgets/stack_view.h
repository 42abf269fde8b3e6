#pragma once
/** @file The generation stack drawn as token chips: a stack lane and a "pruned" lane below it. */
#include <QList>
#include <QRectF>
#include <QWidget>

#include "widgets/decode_timeline.h"

class QVariantAnimation;

namespace nmar::widgets {

/**
 * Paints a StackSnapshot: prompt chips (grey) and live trace chips on the stack lane; every
 * popped token with its UNDO on the pruned lane, under the place it was popped from. Forced
 * deviations have a red frame and a "!" mark. When a new snapshot pops tokens the view was showing
 * (a live decode, or stepping forward), the popped chip and its UNDO slide down into the pruned
 * lane (a short QVariantAnimation). Hovering a chip shows its tooltip (probability, top-k,
 * entropy) and emits chipHovered(). GUI thread only.
 */
class StackView : public QWidget {
  Q_OBJECT
 public:
  explicit StackView(QWidget* parent = nullptr);

  /**
   * Shows @p snapshot. With @p animate, pairs that are new in the pruned lane move there from the
   * stack lane; otherwise the view jumps.
   */
  void setSnapshot(const StackSnapshot& snapshot, bool animate);
  const StackSnapshot& snapshot() const { return m_snapshot; }
  /** True while a pop animation runs. */
  bool isAnimating() const;
  /** Animation length in ms (0 disables animations; tests use it). */
  void setAnimationDuration(int ms);

  /** The chip under @p pos (widget coordinates), or nullptr. */
  const TokenChip* chipAt(const QPoint& pos) const;

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 Q_SIGNALS:
  void chipHovered(const nmar::widgets::TokenChip& chip);
  void hoverLeft();

 protected:
  void paintEvent(QPaintEvent* event) override;
  bool event(QEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  struct Placed {
    TokenChip chip;
    QRectF rect;
    enum class Kind { Prompt, Live, Popped, Undo } kind;
  };
  void relayout();
  qreal chipWidth(const TokenChip& chip) const;
  void paintChip(QPainter& p, const Placed& placed, const QRectF& rect) const;

  StackSnapshot m_snapshot;
  QList<Placed> m_placed;
  QList<QRectF> m_animFrom;  // per placed pruned chip: where it starts (empty rect: no move)
  QVariantAnimation* m_animation = nullptr;
  qreal m_progress = 1.0;
  qreal m_width = 0;
  const TokenChip* m_hovered = nullptr;
};

}  // namespace nmar::widgets
