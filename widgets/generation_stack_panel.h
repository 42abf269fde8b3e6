#pragma once
/** @file The generation stack panel: prompt, sampler controls, Step/Run/Pause/Reset/Inject, chips.
 */
#include <QWidget>

#include "widgets/decode_options.h"
#include "widgets/decode_timeline.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QScrollArea;
class QSpinBox;

namespace nmar::widgets {

class DepthStrip;
class DetectorStrip;
class StackView;

/**
 * The controls of a decode and the stack it builds. The panel only asks (signals); the decode
 * controller does. It shows a StackSnapshot (the stack lane, the pruned lane, the depth strip),
 * the detector strip (scores of the trace's pushes, tau; fed by the controller) and a hover line
 * with the hovered chip's probability, top-k alternatives and entropy. GUI thread only.
 */
class GenerationStackPanel : public QWidget {
  Q_OBJECT
 public:
  explicit GenerationStackPanel(QWidget* parent = nullptr);

  /** The prompt and the settings as edited now. */
  QString prompt() const;
  void setPrompt(const QString& prompt);
  DecodeOptions options() const;
  /** Puts @p options into the controls (mode, sampler, seed, length). */
  void setOptions(const DecodeOptions& options);

  /** Keeps the prompt and settings in QSettings (group "decode") / puts them back. */
  void saveSettings() const;
  void restoreSettings();

  /** Enables the decode controls (a model is loaded) and shows Run vs Pause (@p running). */
  void setControlsEnabled(bool modelReady, bool running);

  /**
   * Shows the stack after @p snapshot.applied steps of a trace whose depths are @p allDepths
   * (the depth strip shows the whole trace, the future greyed). @p animate: see StackView.
   */
  void showSnapshot(const StackSnapshot& snapshot, const QList<int>& allDepths, bool animate);
  const StackSnapshot& snapshot() const;

  StackView* stackView() const { return m_stackView; }
  DepthStrip* depthStrip() const { return m_depth; }
  /** The deviation detector's per-token strip, tau and trigger (issue 12). */
  DetectorStrip* detectorStrip() const { return m_detector; }
  QLabel* hoverLabel() const { return m_hover; }
  QPushButton* stepButton() const { return m_step; }
  QPushButton* runButton() const { return m_run; }
  QPushButton* pauseButton() const { return m_pause; }
  QPushButton* resetButton() const { return m_reset; }
  QPushButton* injectButton() const { return m_inject; }
  QLineEdit* injectTokenEdit() const { return m_injectToken; }
  QSpinBox* injectStepBox() const { return m_injectStep; }

 Q_SIGNALS:
  void stepRequested();
  void runRequested();
  void pauseRequested();
  void resetRequested();
  /** Inject error: @p step < 0 means now; @p token empty means a random wrong token. */
  void injectRequested(int step, const QString& token);
  /** The depth strip was clicked at @p applied steps. */
  void seekRequested(int applied);

 private:
  QWidget* makeSettingsRow();
  QWidget* makeButtonRow();
  void showHover(const TokenChip& chip);

  QLineEdit* m_prompt = nullptr;
  QComboBox* m_mode = nullptr;
  QDoubleSpinBox* m_temperature = nullptr;
  QDoubleSpinBox* m_topP = nullptr;
  QSpinBox* m_topK = nullptr;
  QSpinBox* m_seed = nullptr;
  QSpinBox* m_maxNew = nullptr;
  QDoubleSpinBox* m_undoBias = nullptr;
  QCheckBox* m_stopAtEos = nullptr;
  QPushButton* m_step = nullptr;
  QPushButton* m_run = nullptr;
  QPushButton* m_pause = nullptr;
  QPushButton* m_reset = nullptr;
  QPushButton* m_inject = nullptr;
  QLineEdit* m_injectToken = nullptr;
  QSpinBox* m_injectStep = nullptr;
  QScrollArea* m_scroll = nullptr;
  StackView* m_stackView = nullptr;
  DepthStrip* m_depth = nullptr;
  DetectorStrip* m_detector = nullptr;
  QLabel* m_hover = nullptr;
  QLabel* m_summary = nullptr;
};

}  // namespace nmar::widgets
