#include "widgets/training_launcher.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QVBoxLayout>

#include "widgets/experiment_form.h"

namespace nmar::widgets {

TrainingLauncher::TrainingLauncher(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("trainingLauncher"));
  m_process = new TrainProcess(this);
  m_form = new ExperimentForm;
  m_file = new QLineEdit;
  m_file->setObjectName(QStringLiteral("experimentFile"));
  m_file->setPlaceholderText(tr("experiment TOML file"));
  auto* browse = new QPushButton(tr("Open…"));
  browse->setObjectName(QStringLiteral("openExperiment"));
  m_store = new QLabel;
  m_store->setWordWrap(true);
  m_state = new QLabel(tr("idle"));
  m_state->setObjectName(QStringLiteral("launcherState"));
  m_eta = new QLabel;
  m_eta->setObjectName(QStringLiteral("launcherEta"));
  m_progress = new QProgressBar;
  m_progress->setObjectName(QStringLiteral("launcherProgress"));
  m_progress->setFormat(tr("no run yet"));  // "step %v / %m" once a run reports progress
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  m_start = new QPushButton(tr("Start"));
  m_start->setObjectName(QStringLiteral("startTraining"));
  m_pause = new QPushButton(tr("Pause"));
  m_pause->setObjectName(QStringLiteral("pauseTraining"));
  m_cancel = new QPushButton(tr("Cancel"));
  m_cancel->setObjectName(QStringLiteral("cancelTraining"));
  m_cancel->setToolTip(tr("Stop after the current step with a checkpoint (the run ends cancelled)"));
  m_resume = new QPushButton(tr("Resume"));
  m_resume->setObjectName(QStringLiteral("resumeTraining"));
  m_resume->setToolTip(tr("Continue the last run from its newest checkpoint, under the same id"));
  m_output = new QPlainTextEdit;
  m_output->setObjectName(QStringLiteral("launcherOutput"));
  m_output->setReadOnly(true);
  m_output->setMaximumBlockCount(2000);
  m_output->setLineWrapMode(QPlainTextEdit::NoWrap);

  auto* fileRow = new QHBoxLayout;
  fileRow->addWidget(m_file, 1);
  fileRow->addWidget(browse);
  auto* buttons = new QHBoxLayout;
  for (QPushButton* b : {m_start, m_pause, m_cancel, m_resume}) buttons->addWidget(b);
  buttons->addStretch(1);
  auto* status = new QHBoxLayout;
  status->addWidget(m_state);
  status->addWidget(m_progress, 1);
  status->addWidget(m_eta);
  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  scroll->setWidget(m_form);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(scroll);
  split->addWidget(m_output);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addLayout(fileRow);
  layout->addWidget(m_store);
  layout->addLayout(buttons);
  layout->addLayout(status);
  layout->addWidget(split, 1);

  connect(browse, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open experiment"), m_file->text(),
                                                      tr("Experiments (*.toml);;All files (*)"));
    if (!path.isEmpty()) openExperiment(path);
  });
  connect(m_file, &QLineEdit::returnPressed, this, [this] { openExperiment(m_file->text()); });
  connect(m_start, &QPushButton::clicked, this, &TrainingLauncher::start);
  connect(m_pause, &QPushButton::clicked, this, [this] {
    if (m_process->state() == TrainState::kPaused) proceed();
    else pause();
  });
  connect(m_cancel, &QPushButton::clicked, this, &TrainingLauncher::cancel);
  connect(m_resume, &QPushButton::clicked, this, &TrainingLauncher::resume);
  connect(m_process, &TrainProcess::stateChanged, this, &TrainingLauncher::onState);
  connect(m_process, &TrainProcess::runIdKnown, this, &TrainingLauncher::runStarted);
  connect(m_process, &TrainProcess::outputLine, this,
          [this](const QString& line) { m_output->appendPlainText(line); });
  connect(m_process, &TrainProcess::progress, this,
          [this](qint64 step, qint64 total, double, const QString& eta) {
            m_progress->setFormat(tr("step %v / %m"));
            m_progress->setRange(0, int(std::max<qint64>(1, total)));
            m_progress->setValue(int(std::max<qint64>(0, step)));
            m_eta->setText(eta.isEmpty() ? QString() : tr("ETA %1").arg(eta));
          });
  setStorePath(QString());
  updateButtons();
}

void TrainingLauncher::setStorePath(const QString& path) {
  m_storePath = path;
  m_store->setText(path.isEmpty() ? tr("No run store.") : tr("Runs are recorded in %1").arg(path));
}

bool TrainingLauncher::openExperiment(const QString& path) {
  m_file->setText(path);
  QString error;
  if (!QFileInfo(path).isFile()) {
    refuse(tr("%1: no such experiment file").arg(path));
    return false;
  }
  if (!m_form->load(path, &error)) {
    refuse(error);
    return false;
  }
  updateButtons();
  return true;
}

void TrainingLauncher::refuse(const QString& message) {
  m_output->appendPlainText(tr("refused: %1").arg(message));
  Q_EMIT launchFailed(message);
}

bool TrainingLauncher::start() {
  if (m_form->path().isEmpty()) {
    refuse(tr("open an experiment file first"));
    return false;
  }
  QString error;
  const QString file = m_form->writeEdited(&error);
  if (file.isEmpty()) {
    refuse(error);
    return false;
  }
  if (file != m_form->path()) m_output->appendPlainText(tr("edited experiment written to %1").arg(file));
  if (!m_process->start(file, m_storePath, m_extra, &error)) {
    refuse(error);
    return false;
  }
  m_output->appendPlainText(QStringLiteral("$ %1 %2").arg(TrainProcess::cliPath(),
                                                          m_process->arguments().join(' ')));
  return true;
}

bool TrainingLauncher::resume() {
  QString error;
  if (!m_process->resume(&error)) {
    refuse(error);
    return false;
  }
  m_output->appendPlainText(QStringLiteral("$ %1 %2").arg(TrainProcess::cliPath(),
                                                          m_process->arguments().join(' ')));
  return true;
}

void TrainingLauncher::pause() { m_process->pause(); }
void TrainingLauncher::proceed() { m_process->proceed(); }
void TrainingLauncher::cancel() { m_process->cancel(); }

QString TrainingLauncher::progressText() const {
  return tr("%1: step %2 of %3%4")
      .arg(trainStateName(m_process->state()))
      .arg(std::max<qint64>(0, m_process->step()))
      .arg(m_process->total())
      .arg(m_process->eta().isEmpty() ? QString() : tr(", ETA %1").arg(m_process->eta()));
}

void TrainingLauncher::onState(TrainState state) {
  m_state->setText(trainStateName(state));
  if (state == TrainState::kFinished || state == TrainState::kCancelled ||
      state == TrainState::kFailed) {
    if (state == TrainState::kFailed)
      m_output->appendPlainText(tr("failed: %1").arg(m_process->lastError()));
    Q_EMIT runEnded(state, m_process->lastError());
  }
  updateButtons();
}

void TrainingLauncher::updateButtons() {
  const TrainState s = m_process->state();
  const bool active = s == TrainState::kStarting || s == TrainState::kRunning || s == TrainState::kPaused;
  m_start->setEnabled(!active && !m_form->path().isEmpty());
  m_pause->setEnabled(active);
  m_pause->setText(s == TrainState::kPaused ? tr("Continue") : tr("Pause"));
  m_cancel->setEnabled(active);
  m_resume->setEnabled(!active && (s == TrainState::kCancelled || s == TrainState::kFailed));
}

}  // namespace nmar::widgets
