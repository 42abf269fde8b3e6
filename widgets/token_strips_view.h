#pragma once
/** @file The completions of a GRPO group side by side, one token per row, coloured and barred. */
#include <QWidget>

#include "widgets/reward_group.h"

namespace nmar::widgets {

/**
 * Paints a RewardGroup: one column per completion (header: trace id, verdict, total reward and
 * advantage), one row per step. Each token's box is coloured by the chosen measure on a diverging
 * scale (red below 0, white at 0, blue above; the scale ends at the group's largest |value|), and
 * a bar beside it, centred on 0, shows the same value, so bars of the same step line up across
 * completions. An UNDO row (⟲) is linked to the token it popped by an arc in the left gutter; the
 * popped token is struck through. Hovering shows the stored values; clicking a column emits
 * completionClicked(). GUI thread only.
 */
class TokenStripsView : public QWidget {
  Q_OBJECT
 public:
  explicit TokenStripsView(QWidget* parent = nullptr);

  void setGroup(const RewardGroup& group);
  const RewardGroup& group() const { return m_group; }
  void setMeasure(TokenMeasure measure);
  TokenMeasure measure() const { return m_measure; }

  /** The colour of @p value on the diverging scale ending at ±@p maxAbs (white for no value). */
  static QColor divergingColour(std::optional<double> value, double maxAbs);
  /** The completion column and step row at @p pos: {-1, -1} outside. Row -1: the header. */
  QPoint cellAt(const QPoint& pos) const;
  /** The rectangle of the token box of @p step in completion @p column. */
  QRect tokenRect(int column, int step) const;

  QSize sizeHint() const override;

 Q_SIGNALS:
  /** Completion @p index of the group was clicked. */
  void completionClicked(int index);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  bool event(QEvent* event) override;

 private:
  RewardGroup m_group;
  TokenMeasure m_measure = TokenMeasure::kAdvantage;
  int m_selected = -1;
};

}  // namespace nmar::widgets
