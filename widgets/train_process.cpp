#include "widgets/train_process.h"

#include <signal.h>

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStandardPaths>

namespace nmar::widgets {

QString trainStateName(TrainState state) {
  switch (state) {
    case TrainState::kIdle: return QStringLiteral("idle");
    case TrainState::kStarting: return QStringLiteral("starting");
    case TrainState::kRunning: return QStringLiteral("running");
    case TrainState::kPaused: return QStringLiteral("paused");
    case TrainState::kFinished: return QStringLiteral("finished");
    case TrainState::kCancelled: return QStringLiteral("cancelled");
    case TrainState::kFailed: return QStringLiteral("failed");
  }
  return {};
}

TrainProcess::TrainProcess(QObject* parent) : QObject(parent) {
  m_process = new QProcess(this);
  connect(m_process, &QProcess::readyReadStandardError, this,
          [this] { readOutput(QProcess::StandardError); });
  connect(m_process, &QProcess::readyReadStandardOutput, this,
          [this] { readOutput(QProcess::StandardOutput); });
  connect(m_process, &QProcess::finished, this, &TrainProcess::onFinished);
  connect(m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e != QProcess::FailedToStart) return;
    m_error = tr("could not start %1: %2").arg(cliPath(), m_process->errorString());
    setState(TrainState::kFailed);
  });
}

TrainProcess::~TrainProcess() {
  if (m_process->state() == QProcess::NotRunning) return;
  // The window is closing: stop the run the way Ctrl-C would (checkpoint, "cancelled").
  if (m_state == TrainState::kPaused) ::kill(pid_t(m_process->processId()), SIGCONT);
  ::kill(pid_t(m_process->processId()), SIGINT);
  if (!m_process->waitForFinished(30000)) m_process->kill();
}

QString TrainProcess::cliPath() {
  const QString env = qEnvironmentVariable("NMAR_CLI");
  if (!env.isEmpty()) return env;
  const QDir here(QCoreApplication::applicationDirPath());
  for (const QString& candidate : {here.filePath(QStringLiteral("nmar")),
                                   here.filePath(QStringLiteral("../cli/nmar")),
                                   here.filePath(QStringLiteral("../app/nmar"))}) {
    if (QFileInfo(candidate).isExecutable()) return QFileInfo(candidate).canonicalFilePath();
  }
  const QString onPath = QStandardPaths::findExecutable(QStringLiteral("nmar"));
  return onPath.isEmpty() ? QStringLiteral("nmar") : onPath;
}

TrainLine TrainProcess::parseLine(const QString& line) {
  static const QRegularExpression progress(
      QStringLiteral(R"(^step (\d+)/(\d+) loss (\S+) .*ETA (\S+))"));
  static const QRegularExpression run(QStringLiteral(R"(^run (\d+) in )"));
  static const QRegularExpression fresh(QStringLiteral(R"(^training for (\d+) steps)"));
  static const QRegularExpression resumed(QStringLiteral(R"(^resuming at step (\d+) of (\d+))"));
  TrainLine out;
  out.text = line;
  QRegularExpressionMatch m;
  if ((m = progress.match(line)).hasMatch()) {
    out.kind = TrainLine::Kind::kProgress;
    out.step = m.captured(1).toLongLong();
    out.total = m.captured(2).toLongLong();
    out.loss = m.captured(3).toDouble();
    out.eta = m.captured(4);
  } else if ((m = run.match(line)).hasMatch()) {
    out.kind = TrainLine::Kind::kRun;
    out.runId = m.captured(1).toLongLong();
  } else if ((m = fresh.match(line)).hasMatch()) {
    out.kind = TrainLine::Kind::kTotal;
    out.step = 0;
    out.total = m.captured(1).toLongLong();
  } else if ((m = resumed.match(line)).hasMatch()) {
    out.kind = TrainLine::Kind::kTotal;
    out.step = m.captured(1).toLongLong();
    out.total = m.captured(2).toLongLong();
  } else if (line.startsWith(QLatin1String("nmar: error: "))) {
    out.kind = TrainLine::Kind::kError;
    out.text = line.mid(13);
  }
  return out;
}

QStringList TrainProcess::arguments() const {
  QStringList args{QStringLiteral("train"), m_experiment, QStringLiteral("--store"), m_store};
  if (m_resume) args << QStringLiteral("--resume");
  return args + m_extra;
}

bool TrainProcess::start(const QString& experiment, const QString& store, const QStringList& extra,
                         QString* error) {
  m_experiment = experiment;
  m_store = store;
  m_extra = extra;
  return launch(false, error);
}

bool TrainProcess::resume(QString* error) {
  if (m_experiment.isEmpty()) {
    if (error) *error = tr("nothing to resume: no run was started from this window");
    return false;
  }
  return launch(true, error);
}

bool TrainProcess::launch(bool resume, QString* error) {
  auto fail = [error](const QString& message) {
    if (error) *error = message;
    return false;
  };
  if (m_process->state() != QProcess::NotRunning)
    return fail(tr("a run is already %1; cancel it first").arg(trainStateName(m_state)));
  if (!QFileInfo(m_experiment).isFile())
    return fail(tr("%1: no such experiment file").arg(m_experiment));
  if (m_store.isEmpty()) return fail(tr("no run store: give one with --store or open one"));
  const QString cli = cliPath();
  if (!QFileInfo(cli).isExecutable() && QStandardPaths::findExecutable(cli).isEmpty())
    return fail(tr("the nmar command line program was not found (looked next to the workbench, "
                   "in ../cli and on PATH; set NMAR_CLI to its path)"));
  m_resume = resume;
  m_error.clear();
  m_step = -1;
  m_eta.clear();
  if (!resume) m_runId = -1;
  m_partial[0].clear();
  m_partial[1].clear();
  setState(TrainState::kStarting);
  m_process->start(cli, arguments());
  return true;
}

void TrainProcess::pause() {
  if (m_state != TrainState::kRunning && m_state != TrainState::kStarting) return;
  ::kill(pid_t(m_process->processId()), SIGSTOP);
  setState(TrainState::kPaused);
}

void TrainProcess::proceed() {
  if (m_state != TrainState::kPaused) return;
  ::kill(pid_t(m_process->processId()), SIGCONT);
  setState(TrainState::kRunning);
}

void TrainProcess::cancel() {
  if (m_process->state() == QProcess::NotRunning) return;
  if (m_state == TrainState::kPaused) ::kill(pid_t(m_process->processId()), SIGCONT);
  ::kill(pid_t(m_process->processId()), SIGINT);  // the trainer checkpoints and stops
  Q_EMIT outputLine(tr("cancel requested: the run stops after this step and checkpoints"));
}

void TrainProcess::readOutput(QProcess::ProcessChannel channel) {
  m_process->setReadChannel(channel);
  QByteArray& partial = m_partial[channel == QProcess::StandardError ? 1 : 0];
  partial += m_process->readAll();
  for (;;) {
    // The progress bar redraws with '\r' on a terminal; here it is a pipe: plain lines.
    const qsizetype end = partial.indexOf('\n');
    if (end < 0) break;
    const QString line = QString::fromUtf8(partial.left(end)).trimmed();
    partial.remove(0, end + 1);
    if (line.isEmpty()) continue;
    const TrainLine parsed = parseLine(line);
    switch (parsed.kind) {
      case TrainLine::Kind::kRun:
        m_runId = parsed.runId;
        Q_EMIT runIdKnown(m_runId);
        break;
      case TrainLine::Kind::kTotal:
        m_step = parsed.step;
        m_total = parsed.total;
        if (m_state == TrainState::kStarting) setState(TrainState::kRunning);
        Q_EMIT progress(m_step, m_total, 0.0, QString());
        break;
      case TrainLine::Kind::kProgress:
        m_step = parsed.step;
        m_total = parsed.total;
        m_eta = parsed.eta;
        if (m_state == TrainState::kStarting) setState(TrainState::kRunning);
        Q_EMIT progress(m_step, m_total, parsed.loss, m_eta);
        break;
      case TrainLine::Kind::kError:
        m_error = parsed.text;
        break;
      case TrainLine::Kind::kOther:
        break;
    }
    Q_EMIT outputLine(line);
  }
}

void TrainProcess::onFinished(int code, QProcess::ExitStatus status) {
  readOutput(QProcess::StandardError);
  readOutput(QProcess::StandardOutput);
  if (status == QProcess::NormalExit && code == 0) {
    setState(TrainState::kFinished);
  } else if (status == QProcess::NormalExit && code == 130) {
    setState(TrainState::kCancelled);
  } else {
    if (m_error.isEmpty())
      m_error = status == QProcess::CrashExit ? tr("nmar train crashed")
                                              : tr("nmar train exited with status %1").arg(code);
    setState(TrainState::kFailed);
  }
}

void TrainProcess::setState(TrainState state) {
  if (state == m_state) return;
  m_state = state;
  Q_EMIT stateChanged(state);
}

}  // namespace nmar::widgets
