#pragma once
/** @file The training launcher: an experiment file, its common fields, and the run's controls. */
#include <QWidget>

#include "widgets/train_process.h"

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace nmar::widgets {

class ExperimentForm;

/**
 * Opens an experiment TOML into an ExperimentForm, and starts, pauses, continues, cancels and
 * resumes it as a child `nmar train` (TrainProcess) writing into the store given by
 * setStorePath(). Shows the state, progress (step / total), ETA and the child's output. A bad
 * field or a missing file is refused with a message naming it (launchFailed()); the trainer's own
 * errors arrive in the output and the final state. GUI thread only.
 */
class TrainingLauncher : public QWidget {
  Q_OBJECT
 public:
  explicit TrainingLauncher(QWidget* parent = nullptr);

  /** The run store the runs are written to. */
  void setStorePath(const QString& path);
  /** Loads @p path into the form; false with launchFailed() naming the file and line. */
  bool openExperiment(const QString& path);
  /** More arguments for `nmar train` (e.g. --out DIR, --steps N). */
  void setExtraArguments(const QStringList& args) { m_extra = args; }

  /** The launcher's buttons' actions; false (with launchFailed()) when refused. */
  bool start();
  bool resume();
  void pause();
  void proceed();
  void cancel();

  ExperimentForm* form() const { return m_form; }
  TrainProcess* process() const { return m_process; }
  QString progressText() const;

 Q_SIGNALS:
  /** A start or resume was refused; @p message names the field, file or program. */
  void launchFailed(const QString& message);
  /** The run's id in the store is known (shortly after the start). */
  void runStarted(qint64 runId);
  /** The run ended: finished, cancelled or failed (@p message: the trainer's error). */
  void runEnded(nmar::widgets::TrainState state, const QString& message);

 private:
  void refuse(const QString& message);
  void onState(TrainState state);
  void updateButtons();

  ExperimentForm* m_form = nullptr;
  TrainProcess* m_process = nullptr;
  QLineEdit* m_file = nullptr;
  QLabel* m_store = nullptr;
  QLabel* m_state = nullptr;
  QLabel* m_eta = nullptr;
  QProgressBar* m_progress = nullptr;
  QPushButton* m_start = nullptr;
  QPushButton* m_pause = nullptr;
  QPushButton* m_cancel = nullptr;
  QPushButton* m_resume = nullptr;
  QPlainTextEdit* m_output = nullptr;
  QString m_storePath;
  QStringList m_extra;
};

}  // namespace nmar::widgets
