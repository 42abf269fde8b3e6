#pragma once
/** @file A small strip that draws the stack depth over the steps of a decode. */
#include <QList>
#include <QWidget>

namespace nmar::widgets {

/**
 * Draws depth per step as bars (pops, where the depth falls, in orange) and marks the current
 * step. Clicking a bar emits stepClicked() (the replay bar follows). GUI thread only.
 */
class DepthStrip : public QWidget {
  Q_OBJECT
 public:
  explicit DepthStrip(QWidget* parent = nullptr);

  /** Depths after each step of the whole trace, and how many of them are applied now. */
  void setDepths(const QList<int>& depths, int applied);
  const QList<int>& depths() const { return m_depths; }
  int applied() const { return m_applied; }

  QSize sizeHint() const override { return QSize(240, 44); }

 Q_SIGNALS:
  /** The user clicked the bar of step @p applied (number of steps applied, 1-based). */
  void stepClicked(int applied);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;

 private:
  QList<int> m_depths;
  int m_applied = 0;
};

}  // namespace nmar::widgets
