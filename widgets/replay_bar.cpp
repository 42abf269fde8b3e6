#include "widgets/replay_bar.h"

#include <algorithm>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QTimer>
#include <QToolButton>

namespace nmar::widgets {
namespace {

constexpr int kBaseIntervalMs = 250;  // 1× = 4 steps per second

}  // namespace

ReplayBar::ReplayBar(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("replayBar"));
  auto* h = new QHBoxLayout(this);
  h->setContentsMargins(4, 2, 4, 2);
  auto tool = [&](QToolButton*& b, const QString& text, const QString& name, const QString& tip) {
    b = new QToolButton;
    b->setText(text);
    b->setObjectName(name);
    b->setToolTip(tip);
    h->addWidget(b);
  };
  tool(m_start, QStringLiteral("|◀"), QStringLiteral("replayStart"), tr("To the prompt"));
  tool(m_back, QStringLiteral("◀"), QStringLiteral("replayBack"), tr("One step back"));
  tool(m_play, QStringLiteral("▶"), QStringLiteral("replayPlay"), tr("Play / pause"));
  tool(m_forward, QStringLiteral("▶|"), QStringLiteral("replayForward"), tr("One step forward"));
  tool(m_end, QStringLiteral("▶▶|"), QStringLiteral("replayEnd"), tr("To the last step"));
  m_slider = new QSlider(Qt::Horizontal);
  m_slider->setObjectName(QStringLiteral("replaySlider"));
  m_slider->setToolTip(tr("Drag to scrub through the steps"));
  h->addWidget(m_slider, 1);
  m_label = new QLabel;
  m_label->setObjectName(QStringLiteral("replayLabel"));
  m_label->setMinimumWidth(90);
  h->addWidget(m_label);
  m_speed = new QComboBox;
  m_speed->setObjectName(QStringLiteral("replaySpeed"));
  for (double s : {0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 40.0})
    m_speed->addItem(QStringLiteral("%1×").arg(s), s);
  m_speed->setCurrentIndex(2);
  m_speed->setToolTip(tr("Play speed (1× = 4 steps per second)"));
  h->addWidget(new QLabel(tr("speed")));
  h->addWidget(m_speed);
  m_timer = new QTimer(this);
  m_timer->setInterval(kBaseIntervalMs);

  connect(m_start, &QToolButton::clicked, this, &ReplayBar::toStart);
  connect(m_back, &QToolButton::clicked, this, &ReplayBar::stepBack);
  connect(m_forward, &QToolButton::clicked, this, &ReplayBar::stepForward);
  connect(m_end, &QToolButton::clicked, this, &ReplayBar::toEnd);
  connect(m_play, &QToolButton::clicked, this, [this] { isPlaying() ? pause() : play(); });
  connect(m_slider, &QSlider::valueChanged, this, &ReplayBar::setPosition);
  connect(m_timer, &QTimer::timeout, this, &ReplayBar::tick);
  connect(m_speed, &QComboBox::currentIndexChanged, this,
          [this] { m_timer->setInterval(tickInterval()); });
  refresh();
}

void ReplayBar::setStepCount(int steps) {
  m_steps = std::max(0, steps);
  if (m_position > m_steps) setPosition(m_steps);
  refresh();
}

void ReplayBar::setPosition(int applied) {
  const int clamped = std::clamp(applied, 0, m_steps);
  if (clamped == m_position) {
    refresh();
    return;
  }
  m_position = clamped;
  refresh();
  Q_EMIT positionChanged(m_position);
}

void ReplayBar::setSpeed(double speed) {
  int best = 0;
  for (int i = 0; i < m_speed->count(); ++i)
    if (std::abs(m_speed->itemData(i).toDouble() - speed) <
        std::abs(m_speed->itemData(best).toDouble() - speed))
      best = i;
  m_speed->setCurrentIndex(best);
}

double ReplayBar::speed() const { return m_speed->currentData().toDouble(); }

int ReplayBar::tickInterval() const { return std::max(1, int(kBaseIntervalMs / speed())); }

bool ReplayBar::isPlaying() const { return m_timer->isActive(); }

void ReplayBar::play() {
  if (m_steps == 0 || isPlaying()) return;
  if (m_position >= m_steps) setPosition(0);
  m_timer->start(tickInterval());
  refresh();
  Q_EMIT playingChanged(true);
}

void ReplayBar::pause() {
  if (!isPlaying()) return;
  m_timer->stop();
  refresh();
  Q_EMIT playingChanged(false);
}

void ReplayBar::tick() {
  if (m_position >= m_steps) return pause();
  stepForward();
  if (m_position >= m_steps) pause();
}

void ReplayBar::refresh() {
  const QSignalBlocker block(m_slider);
  m_slider->setRange(0, m_steps);
  m_slider->setValue(m_position);
  m_label->setText(tr("step %1/%2").arg(m_position).arg(m_steps));
  m_play->setText(isPlaying() ? QStringLiteral("❚❚") : QStringLiteral("▶"));
  const bool any = m_steps > 0;
  for (QWidget* w : {static_cast<QWidget*>(m_start), static_cast<QWidget*>(m_back),
                     static_cast<QWidget*>(m_play), static_cast<QWidget*>(m_forward),
                     static_cast<QWidget*>(m_end), static_cast<QWidget*>(m_slider)})
    w->setEnabled(any);
}

}  // namespace nmar::widgets
