#pragma once
/** @file The trace replay bar: scrubber, step back/forward, play at a chosen speed. */
#include <QWidget>

class QComboBox;
class QLabel;
class QSlider;
class QTimer;
class QToolButton;

namespace nmar::widgets {

/**
 * A timeline over the steps of a trace. The position is the number of steps applied, 0 (only the
 * prompt) to stepCount(); every change, by the user or by setPosition(), emits positionChanged()
 * once. Play advances one step per tick (4 steps per second at 1×) and stops at the end.
 * GUI thread only.
 */
class ReplayBar : public QWidget {
  Q_OBJECT
 public:
  explicit ReplayBar(QWidget* parent = nullptr);

  /** The number of steps of the trace; keeps the position when it still fits. */
  void setStepCount(int steps);
  int stepCount() const { return m_steps; }
  int position() const { return m_position; }
  /** Play speed multiplier (1 = 4 steps per second). */
  void setSpeed(double speed);
  double speed() const;
  bool isPlaying() const;
  /** Milliseconds between two steps while playing. */
  int tickInterval() const;

 public Q_SLOTS:
  /** Moves to @p applied steps (clamped) and emits positionChanged() if it moved. */
  void setPosition(int applied);
  void stepBack() { setPosition(m_position - 1); }
  void stepForward() { setPosition(m_position + 1); }
  void toStart() { setPosition(0); }
  void toEnd() { setPosition(m_steps); }
  /** Starts playing (from the start when at the end); pause() stops. */
  void play();
  void pause();

 Q_SIGNALS:
  void positionChanged(int applied);
  void playingChanged(bool playing);

 private:
  void tick();
  void refresh();

  QToolButton* m_start = nullptr;
  QToolButton* m_back = nullptr;
  QToolButton* m_play = nullptr;
  QToolButton* m_forward = nullptr;
  QToolButton* m_end = nullptr;
  QSlider* m_slider = nullptr;
  QLabel* m_label = nullptr;
  QComboBox* m_speed = nullptr;
  QTimer* m_timer = nullptr;
  int m_steps = 0;
  int m_position = 0;
};

}  // namespace nmar::widgets
