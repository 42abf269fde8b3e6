#pragma once
/**
 * @file A training run as a child `nmar train` process: start, pause, continue, cancel and
 * resume, with progress and ETA read from its output. The child writes the run store itself,
 * so the dashboard sees it like any other run, and a crash of either side cannot take the other
 * down.
 */
#include <QMetaType>
#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace nmar::widgets {

/** Where the launched run stands. */
enum class TrainState { kIdle, kStarting, kRunning, kPaused, kFinished, kCancelled, kFailed };

/** "idle", "starting", "running", "paused", "finished", "cancelled", "failed". */
QString trainStateName(TrainState state);

/** What a line of `nmar train` output says (see TrainProcess::parseLine). */
struct TrainLine {
  enum class Kind { kOther, kRun, kTotal, kProgress, kError } kind = Kind::kOther;
  qint64 runId = -1;       ///< kRun
  qint64 step = -1;        ///< kProgress; kTotal: the first step (resume) or 0
  qint64 total = -1;       ///< kProgress, kTotal
  double loss = 0.0;       ///< kProgress
  QString eta;             ///< kProgress: "1m05s", "?"
  QString text;            ///< the line; kError: the message after "nmar: error: "
};

/**
 * Runs `NMAR EXPERIMENT --store STORE [--resume] [extra]` (NMAR is cliPath()). pause() stops the
 * process (SIGSTOP) and proceed() continues it (SIGCONT): nothing is lost, but while paused the
 * run sends no heartbeat (another writer marks a run failed after 2 minutes without one). cancel()
 * sends SIGINT: the trainer finishes the step, writes a checkpoint and ends the run "cancelled";
 * resume() starts the same experiment with --resume, which continues that checkpoint under the
 * same run id. Output lines are parsed for the run id, progress and ETA and passed on with
 * outputLine(); the exit status decides the final state (0 finished, 130 cancelled, else failed
 * with the last "nmar: error:" line). GUI thread only.
 */
class TrainProcess : public QObject {
  Q_OBJECT
 public:
  explicit TrainProcess(QObject* parent = nullptr);
  ~TrainProcess() override;

  /** The `nmar` executable: $NMAR_CLI, else next to this program or ../cli/, else "nmar" on PATH. */
  static QString cliPath();
  /** Parses one output line of `nmar train`. */
  static TrainLine parseLine(const QString& line);

  /**
   * Starts training @p experiment into @p store (false with @p error naming what is missing
   * when a run is active, the file does not exist or the CLI cannot be found). @p extra are
   * more arguments (e.g. --steps N, --out DIR).
   */
  bool start(const QString& experiment, const QString& store, const QStringList& extra = {},
             QString* error = nullptr);
  /** Starts the last experiment again with --resume (after cancel or failure). */
  bool resume(QString* error = nullptr);
  void pause();
  void proceed();
  void cancel();

  TrainState state() const { return m_state; }
  qint64 runId() const { return m_runId; }
  qint64 step() const { return m_step; }
  qint64 total() const { return m_total; }
  QString eta() const { return m_eta; }
  QString lastError() const { return m_error; }
  QString experiment() const { return m_experiment; }
  QStringList arguments() const;

 Q_SIGNALS:
  void stateChanged(nmar::widgets::TrainState state);
  void progress(qint64 step, qint64 total, double loss, const QString& eta);
  void runIdKnown(qint64 runId);
  void outputLine(const QString& line);

 private:
  bool launch(bool resume, QString* error);
  void setState(TrainState state);
  void readOutput(QProcess::ProcessChannel channel);
  void onFinished(int code, QProcess::ExitStatus status);

  QProcess* m_process = nullptr;
  TrainState m_state = TrainState::kIdle;
  QString m_experiment, m_store;
  QStringList m_extra;
  bool m_resume = false;
  qint64 m_runId = -1, m_step = -1, m_total = -1;
  QString m_eta, m_error;
  QByteArray m_partial[2];
};

}  // namespace nmar::widgets

Q_DECLARE_METATYPE(nmar::widgets::TrainState)
