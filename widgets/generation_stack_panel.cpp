#include "widgets/generation_stack_panel.h"

#include <cmath>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include "widgets/depth_strip.h"
#include "widgets/detector_strip.h"
#include "widgets/stack_view.h"

namespace nmar::widgets {
namespace {

QDoubleSpinBox* doubleBox(QWidget* parent, const QString& name, double lo, double hi, double step,
                          double value, const QString& tip) {
  auto* box = new QDoubleSpinBox(parent);
  box->setObjectName(name);
  box->setRange(lo, hi);
  box->setSingleStep(step);
  box->setDecimals(2);
  box->setValue(value);
  box->setToolTip(tip);
  return box;
}

QSpinBox* intBox(QWidget* parent, const QString& name, int lo, int hi, int value,
                 const QString& tip) {
  auto* box = new QSpinBox(parent);
  box->setObjectName(name);
  box->setRange(lo, hi);
  box->setValue(value);
  box->setToolTip(tip);
  return box;
}

QLabel* caption(const QString& text, QWidget* buddy) {
  auto* label = new QLabel(text);
  label->setBuddy(buddy);
  return label;
}

}  // namespace

GenerationStackPanel::GenerationStackPanel(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("generationStackPanel"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->setSpacing(4);
  layout->addWidget(makeSettingsRow());
  layout->addWidget(makeButtonRow());

  m_stackView = new StackView;
  m_scroll = new QScrollArea;
  m_scroll->setObjectName(QStringLiteral("stackScroll"));
  m_scroll->setWidget(m_stackView);
  m_scroll->setWidgetResizable(true);
  m_scroll->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  m_scroll->setFixedHeight(m_stackView->sizeHint().height() + 22);
  layout->addWidget(m_scroll);
  m_detector = new DetectorStrip;
  layout->addWidget(m_detector);

  auto* bottom = new QHBoxLayout;
  m_hover = new QLabel(tr("hover a token for its probability, alternatives and entropy"));
  m_hover->setObjectName(QStringLiteral("hoverLabel"));
  m_hover->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_summary = new QLabel;
  m_summary->setObjectName(QStringLiteral("stackSummary"));
  m_depth = new DepthStrip;
  m_depth->setFixedWidth(260);
  auto* texts = new QVBoxLayout;
  texts->addWidget(m_hover);
  texts->addWidget(m_summary);
  bottom->addLayout(texts, 1);
  bottom->addWidget(m_depth);
  layout->addLayout(bottom);
  setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);  // no empty band under the chips

  connect(m_stackView, &StackView::chipHovered, this, &GenerationStackPanel::showHover);
  connect(m_depth, &DepthStrip::stepClicked, this, &GenerationStackPanel::seekRequested);
  connect(m_detector, &DetectorStrip::stepClicked, this, &GenerationStackPanel::seekRequested);
  setControlsEnabled(false, false);
}

QWidget* GenerationStackPanel::makeSettingsRow() {
  auto* row = new QWidget;
  auto* h = new QHBoxLayout(row);
  h->setContentsMargins(0, 0, 0, 0);
  m_prompt = new QLineEdit;
  m_prompt->setObjectName(QStringLiteral("promptEdit"));
  m_prompt->setPlaceholderText(tr("prompt, e.g. 348+275="));
  m_prompt->setToolTip(tr("The prompt; it stays on the stack and can never be popped"));
  m_mode = new QComboBox;
  m_mode->setObjectName(QStringLiteral("modeBox"));
  m_mode->addItem(tr("hard"), int(core::TraceMode::kHard));
  m_mode->addItem(tr("soft"), int(core::TraceMode::kSoft));
  m_mode->addItem(tr("resample"), int(core::TraceMode::kResample));
  m_mode->setToolTip(
      tr("hard: UNDO prunes the popped token from the context (N-MAR); soft: it "
         "stays in context; resample: drop the top and sample again"));
  m_temperature = doubleBox(row, QStringLiteral("temperatureBox"), 0, 5, 0.1, 0.8,
                            tr("Temperature (0 = greedy)"));
  m_topP = doubleBox(row, QStringLiteral("topPBox"), 0.01, 1, 0.05, 0.95, tr("Nucleus top-p"));
  m_topK = intBox(row, QStringLiteral("topKBox"), 0, 100000, 0, tr("top-k (0 = off)"));
  m_seed = intBox(row, QStringLiteral("seedBox"), 0, 1 << 30, 0, tr("Sampler seed"));
  m_maxNew =
      intBox(row, QStringLiteral("maxNewBox"), 1, 100000, 48, tr("Most steps (pushes and UNDOs)"));
  m_undoBias =
      doubleBox(row, QStringLiteral("undoBiasBox"), -20, 20, 0.5, 0, tr("Added to the UNDO logit"));
  h->addWidget(caption(tr("&Prompt:"), m_prompt));
  h->addWidget(m_prompt, 1);
  h->addWidget(caption(tr("Mode:"), m_mode));
  h->addWidget(m_mode);
  h->addWidget(caption(tr("T:"), m_temperature));
  h->addWidget(m_temperature);
  h->addWidget(caption(tr("top-p:"), m_topP));
  h->addWidget(m_topP);
  h->addWidget(caption(tr("top-k:"), m_topK));
  h->addWidget(m_topK);
  h->addWidget(caption(tr("seed:"), m_seed));
  h->addWidget(m_seed);
  h->addWidget(caption(tr("max:"), m_maxNew));
  h->addWidget(m_maxNew);
  h->addWidget(caption(tr("UNDO bias:"), m_undoBias));
  h->addWidget(m_undoBias);
  m_stopAtEos = new QCheckBox(tr("EOS stops"));
  m_stopAtEos->setObjectName(QStringLiteral("stopAtEosBox"));
  m_stopAtEos->setChecked(true);
  m_stopAtEos->setToolTip(tr("End the decode when the model writes its end-of-sequence token"));
  h->addWidget(m_stopAtEos);
  return row;
}

QWidget* GenerationStackPanel::makeButtonRow() {
  auto* row = new QWidget;
  auto* h = new QHBoxLayout(row);
  h->setContentsMargins(0, 0, 0, 0);
  auto button = [&](QPushButton*& b, const QString& text, const QString& name, const QString& tip) {
    b = new QPushButton(text);
    b->setObjectName(name);
    b->setToolTip(tip);
    h->addWidget(b);
  };
  button(m_step, tr("Step"), QStringLiteral("stepButton"), tr("Take one step (F10)"));
  button(m_run, tr("Run"), QStringLiteral("runButton"), tr("Decode until the end (F5)"));
  button(m_pause, tr("Pause"), QStringLiteral("pauseButton"), tr("Stop after this step (F6)"));
  button(m_reset, tr("Reset"), QStringLiteral("resetButton"), tr("Forget this decode"));
  h->addSpacing(16);
  m_injectToken = new QLineEdit;
  m_injectToken->setObjectName(QStringLiteral("injectTokenEdit"));
  m_injectToken->setPlaceholderText(tr("random"));
  m_injectToken->setMaximumWidth(90);
  m_injectToken->setToolTip(
      tr("The wrong token to push (one token); empty: a random wrong one "
         "from the model's top-k after its favourite"));
  m_injectStep =
      intBox(row, QStringLiteral("injectStepBox"), 0, 100000, 0, tr("At step number (0 = now)"));
  m_injectStep->setSpecialValueText(tr("now"));
  button(m_inject, tr("Inject error"), QStringLiteral("injectButton"),
         tr("Force a wrong token onto the stack (now, or at the chosen step) and watch the "
            "model recover"));
  h->insertWidget(h->count() - 1, caption(tr("token:"), m_injectToken));
  h->insertWidget(h->count() - 1, m_injectToken);
  h->insertWidget(h->count() - 1, caption(tr("at:"), m_injectStep));
  h->insertWidget(h->count() - 1, m_injectStep);
  h->addStretch(1);
  m_inject->setStyleSheet(QStringLiteral("QPushButton { color: #b00000; font-weight: bold; }"));
  connect(m_step, &QPushButton::clicked, this, &GenerationStackPanel::stepRequested);
  connect(m_run, &QPushButton::clicked, this, &GenerationStackPanel::runRequested);
  connect(m_pause, &QPushButton::clicked, this, &GenerationStackPanel::pauseRequested);
  connect(m_reset, &QPushButton::clicked, this, &GenerationStackPanel::resetRequested);
  connect(m_inject, &QPushButton::clicked, this,
          [this] { Q_EMIT injectRequested(m_injectStep->value() - 1, m_injectToken->text()); });
  return row;
}

QString GenerationStackPanel::prompt() const { return m_prompt->text(); }

void GenerationStackPanel::setPrompt(const QString& prompt) { m_prompt->setText(prompt); }

DecodeOptions GenerationStackPanel::options() const {
  DecodeOptions o;
  o.mode = core::TraceMode(m_mode->currentData().toInt());
  o.temperature = m_temperature->value();
  o.topP = m_topP->value();
  o.topK = m_topK->value();
  o.seed = std::uint64_t(m_seed->value());
  o.maxNewTokens = m_maxNew->value();
  o.undoBias = m_undoBias->value();
  o.stopAtEos = m_stopAtEos->isChecked();
  o.verifier = m_detector->verifierOptions();
  return o;
}

void GenerationStackPanel::setOptions(const DecodeOptions& o) {
  m_mode->setCurrentIndex(m_mode->findData(int(o.mode)));
  m_temperature->setValue(o.temperature);
  m_topP->setValue(o.topP);
  m_topK->setValue(o.topK);
  m_seed->setValue(int(o.seed));
  m_maxNew->setValue(o.maxNewTokens);
  m_undoBias->setValue(o.undoBias);
  m_stopAtEos->setChecked(o.stopAtEos);
  m_detector->setVerifierOptions(o.verifier);
}

void GenerationStackPanel::setControlsEnabled(bool modelReady, bool running) {
  m_step->setEnabled(modelReady && !running);
  m_run->setEnabled(modelReady && !running);
  m_pause->setEnabled(modelReady && running);
  m_reset->setEnabled(modelReady);
  m_inject->setEnabled(modelReady);
  const QString tip = modelReady ? QString() : tr("load a model first");
  for (QPushButton* b : {m_step, m_run, m_pause, m_inject})
    if (!modelReady) b->setStatusTip(tip);
}

void GenerationStackPanel::showSnapshot(const StackSnapshot& snapshot, const QList<int>& allDepths,
                                        bool animate) {
  m_stackView->setSnapshot(snapshot, animate);
  m_depth->setDepths(allDepths, snapshot.applied);
  m_detector->setApplied(snapshot.applied);
  int forced = 0;
  for (const TokenChip& c : snapshot.stack) forced += c.forced;
  for (const PrunedPair& p : snapshot.pruned) forced += p.token.forced;
  m_summary->setText(tr("step %1 · depth %2 · %3 UNDO · %4 forced")
                         .arg(snapshot.applied)
                         .arg(snapshot.stack.size())
                         .arg(snapshot.pruned.size())
                         .arg(forced));
  // Follow the top of the stack (or the newest pruned pair), as a terminal follows its output.
  m_scroll->horizontalScrollBar()->setValue(m_scroll->horizontalScrollBar()->maximum());
}

void GenerationStackPanel::saveSettings() const {
  const DecodeOptions o = options();
  QSettings settings;
  settings.beginGroup(QStringLiteral("decode"));
  settings.setValue(QStringLiteral("prompt"), prompt());
  settings.setValue(QStringLiteral("mode"), int(o.mode));
  settings.setValue(QStringLiteral("temperature"), o.temperature);
  settings.setValue(QStringLiteral("topP"), o.topP);
  settings.setValue(QStringLiteral("topK"), o.topK);
  settings.setValue(QStringLiteral("seed"), qulonglong(o.seed));
  settings.setValue(QStringLiteral("maxNewTokens"), o.maxNewTokens);
  settings.setValue(QStringLiteral("undoBias"), o.undoBias);
  settings.setValue(QStringLiteral("stopAtEos"), o.stopAtEos);
  settings.setValue(QStringLiteral("verifierTau"), o.verifier.tau);
  settings.setValue(QStringLiteral("verifierTrigger"), int(o.verifier.trigger));
  settings.setValue(QStringLiteral("verifierBias"), o.verifier.bias);
}

void GenerationStackPanel::restoreSettings() {
  QSettings settings;
  settings.beginGroup(QStringLiteral("decode"));
  DecodeOptions o = options();
  const int mode = settings.value(QStringLiteral("mode"), int(o.mode)).toInt();
  if (mode >= 0 && mode <= int(core::TraceMode::kResample)) o.mode = core::TraceMode(mode);
  o.temperature = settings.value(QStringLiteral("temperature"), o.temperature).toDouble();
  o.topP = settings.value(QStringLiteral("topP"), o.topP).toDouble();
  o.topK = settings.value(QStringLiteral("topK"), o.topK).toInt();
  o.seed = settings.value(QStringLiteral("seed"), qulonglong(o.seed)).toULongLong();
  o.maxNewTokens = settings.value(QStringLiteral("maxNewTokens"), o.maxNewTokens).toInt();
  o.undoBias = settings.value(QStringLiteral("undoBias"), o.undoBias).toDouble();
  o.stopAtEos = settings.value(QStringLiteral("stopAtEos"), o.stopAtEos).toBool();
  o.verifier.tau = settings.value(QStringLiteral("verifierTau"), o.verifier.tau).toDouble();
  const int trigger =
      settings.value(QStringLiteral("verifierTrigger"), int(o.verifier.trigger)).toInt();
  if (trigger >= 0 && trigger <= int(VerifierTrigger::kOff))
    o.verifier.trigger = VerifierTrigger(trigger);
  o.verifier.bias = settings.value(QStringLiteral("verifierBias"), o.verifier.bias).toDouble();
  setOptions(o);  // the spin boxes clamp anything out of range
  setPrompt(settings.value(QStringLiteral("prompt"), prompt()).toString());
}

const StackSnapshot& GenerationStackPanel::snapshot() const { return m_stackView->snapshot(); }

void GenerationStackPanel::showHover(const TokenChip& chip) {
  QString text = QStringLiteral("\"%1\"").arg(chip.text);
  if (!std::isnan(chip.prob)) text += QStringLiteral("  p=%1").arg(chip.prob, 0, 'f', 2);
  if (!chip.topk.isEmpty()) {
    QStringList alts;
    for (const auto& [t, p] : chip.topk) alts << QStringLiteral("%1 %2").arg(t).arg(p, 0, 'f', 2);
    text += QStringLiteral("  top: %1").arg(alts.join(QStringLiteral(" | ")));
  }
  if (!std::isnan(chip.entropy)) text += QStringLiteral("  H=%1").arg(chip.entropy, 0, 'f', 2);
  if (chip.forced) text += tr("  (forced)");
  m_hover->setText(text);
}

}  // namespace nmar::widgets
