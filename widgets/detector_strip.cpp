#include "widgets/detector_strip.h"

#include <algorithm>
#include <cmath>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QVBoxLayout>

#include "widgets/detector_cells_view.h"

namespace nmar::widgets {

DetectorStrip::DetectorStrip(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("detectorStrip"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);

  m_explain = new QLabel;
  m_explain->setObjectName(QStringLiteral("detectorExplanation"));
  m_explain->setWordWrap(true);
  m_explain->setForegroundRole(QPalette::PlaceholderText);
  m_view = new DetectorCellsView;
  layout->addWidget(m_explain);
  layout->addWidget(m_view);

  auto* controls = new QHBoxLayout;
  controls->setContentsMargins(0, 0, 0, 0);
  m_tauRow = new QWidget;
  auto* tau = new QHBoxLayout(m_tauRow);
  tau->setContentsMargins(0, 0, 0, 0);
  m_slider = new QSlider(Qt::Horizontal);
  m_slider->setObjectName(QStringLiteral("tauSlider"));
  m_slider->setRange(0, 100);
  m_slider->setFixedWidth(140);
  m_slider->setToolTip(
      tr("Detector threshold tau: a score > tau is marked (and, in a live "
         "decode with a detector, triggers UNDO)"));
  m_tauBox = new QDoubleSpinBox;
  m_tauBox->setObjectName(QStringLiteral("tauBox"));
  m_tauBox->setRange(0, 1);
  m_tauBox->setSingleStep(0.01);
  m_tauBox->setDecimals(2);
  m_tauBox->setToolTip(m_slider->toolTip());
  auto* tauCaption = new QLabel(tr("τ:"));
  tauCaption->setBuddy(m_tauBox);
  m_counts = new QLabel;
  m_counts->setObjectName(QStringLiteral("detectorCounts"));
  m_counts->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_counts->setToolTip(
      tr("Tokens whose detector score is over tau, and what the trace did with them: undone "
         "later (by the model or the verifier) or still on the stack at the end. undone / over "
         "is the precision of the detector at tau, judged by the trace's own UNDOs."));
  tau->addWidget(tauCaption);
  tau->addWidget(m_slider);
  tau->addWidget(m_tauBox);
  tau->addWidget(m_counts, 1);
  controls->addWidget(m_tauRow, 1);
  controls->addSpacing(16);

  m_triggerRow = new QWidget;
  auto* trigger = new QHBoxLayout(m_triggerRow);
  trigger->setContentsMargins(0, 0, 0, 0);
  m_detectorLabel = new QLabel;
  m_detectorLabel->setObjectName(QStringLiteral("detectorName"));
  m_trigger = new QComboBox;
  m_trigger->setObjectName(QStringLiteral("triggerBox"));
  m_trigger->addItem(tr("force UNDO"), int(VerifierTrigger::kForce));
  m_trigger->addItem(tr("raise UNDO logit"), int(VerifierTrigger::kBias));
  m_trigger->addItem(tr("scores only"), int(VerifierTrigger::kOff));
  m_trigger->setToolTip(
      tr("What a score > tau does in the next live decode: force an UNDO, add the bias to the "
         "UNDO logit (the model may decline), or nothing (scores are still recorded)"));
  m_bias = new QDoubleSpinBox;
  m_bias->setObjectName(QStringLiteral("verifierBiasBox"));
  m_bias->setRange(-20, 20);
  m_bias->setSingleStep(0.5);
  m_bias->setDecimals(2);
  m_bias->setValue(2.0);
  m_bias->setToolTip(tr("Added to the UNDO logit when the trigger is \"raise UNDO logit\""));
  auto* triggerCaption = new QLabel(tr("trigger:"));
  triggerCaption->setBuddy(m_trigger);
  trigger->addWidget(m_detectorLabel);
  trigger->addWidget(triggerCaption);
  trigger->addWidget(m_trigger);
  trigger->addWidget(m_bias);
  controls->addWidget(m_triggerRow);
  layout->addLayout(controls);

  connect(m_slider, &QSlider::valueChanged, this, [this](int v) { onTauEdited(v / 100.0); });
  connect(m_tauBox, &QDoubleSpinBox::valueChanged, this, &DetectorStrip::onTauEdited);
  connect(m_trigger, &QComboBox::currentIndexChanged, this, [this] {
    m_bias->setEnabled(m_trigger->currentData().toInt() == int(VerifierTrigger::kBias));
  });
  connect(m_view, &DetectorCellsView::stepClicked, this, &DetectorStrip::stepClicked);
  setTau(0.5);
  m_bias->setEnabled(false);
  refresh();
}

void DetectorStrip::setTrace(const core::Trace& trace, int applied) {
  m_cells = detectorCells(trace);
  m_hasScores = traceHasVerifierScores(trace);
  m_view->setCells(m_cells, applied);
  refresh();
}

void DetectorStrip::setApplied(int applied) { m_view->setApplied(applied); }

void DetectorStrip::setDetector(const DetectorInfo& detector) {
  // A recorded decode on show keeps the tau it was read with (its own decode's).
  const bool adopt = detector.loaded() && detector.dir != m_detector.dir && !m_hasScores;
  m_detector = detector;
  if (adopt) setTau(detector.tau);
  refresh();
}

double DetectorStrip::tau() const { return m_tauBox->value(); }

void DetectorStrip::setTau(double tau) {
  const double t = std::round(std::clamp(tau, 0.0, 1.0) * 100.0) / 100.0;
  {
    const QSignalBlocker a(m_slider), b(m_tauBox);
    m_tauBox->setValue(t);
    m_slider->setValue(int(std::lround(t * 100.0)));
  }
  m_view->setTau(t);
  refresh();
  Q_EMIT tauChanged(t);
}

void DetectorStrip::onTauEdited(double tau) { setTau(tau); }

VerifierOptions DetectorStrip::verifierOptions() const {
  VerifierOptions o;
  o.tau = tau();
  o.trigger = VerifierTrigger(m_trigger->currentData().toInt());
  o.bias = m_bias->value();
  return o;
}

void DetectorStrip::setVerifierOptions(const VerifierOptions& options) {
  const int index = m_trigger->findData(int(options.trigger));
  if (index >= 0) m_trigger->setCurrentIndex(index);
  m_bias->setValue(options.bias);
  setTau(options.tau);
}

void DetectorStrip::refresh() {
  const bool detector = m_detector.loaded();
  m_view->setVisible(m_hasScores);
  m_tauRow->setVisible(m_hasScores || detector);
  m_counts->setVisible(m_hasScores);
  m_triggerRow->setVisible(detector);
  m_explain->setVisible(!m_hasScores);
  if (detector) {
    m_detectorLabel->setText(tr("detector: %1").arg(m_detector.summary()));
    m_detectorLabel->setToolTip(m_detector.dir);
  }
  if (!m_hasScores) {
    m_explain->setText(
        detector ? tr("Detector: this trace has no detector scores. Step or Run decodes with the "
                      "loaded detector, which scores every pushed token here; tau and the trigger "
                      "below apply to that decode.")
                 : tr("Detector: this trace has no detector scores. Load a deviation detector "
                      "(Run → Load deviation detector…) and decode, or open a trace written by "
                      "nmar decode --verifier DIR."));
    return;
  }
  const DetectorCounts c = countDetectorCells(m_cells, tau());
  QString text = tr("%1 of %2 scored tokens over τ · %3 later undone · %4 survived")
                     .arg(c.over)
                     .arg(c.scored)
                     .arg(c.overUndone)
                     .arg(c.overSurvived);
  if (const auto precision = c.precision())
    text += tr(" (precision %1)").arg(*precision, 0, 'f', 2);
  text += tr(" · UNDO: %1 by the verifier, %2 by the model").arg(c.verifierPops).arg(c.modelPops);
  m_counts->setText(text);
}

}  // namespace nmar::widgets
