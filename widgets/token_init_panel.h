#pragma once
/** @file The token-init panel: every UNDO initialisation strategy on the loaded model, compared. */
#include <vector>

#include <QProcess>
#include <QWidget>

#include "train/token_init_report.h"

class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace nmar::viz {
class BarChart;
}

namespace nmar::widgets {

/**
 * Runs `nmar init-token CHECKPOINT --compare --json` (all four strategies, each on its own copy
 * of the model, nothing saved) in a child process, off the GUI thread and out of the GUI's memory,
 * and shows the reports side by side: a table (KL shift, renormalised KL, P(UNDO) mean and max,
 * embedding norm, nearest neighbours) and bar charts of KL shift and mean P(UNDO) (log scale).
 * Charts export to PNG/SVG/PDF, the table to CSV. A failure (no tokenizer, bad words) is shown
 * with the CLI's message, which names the checkpoint or option. GUI thread only.
 */
class TokenInitPanel : public QWidget {
  Q_OBJECT
 public:
  explicit TokenInitPanel(QWidget* parent = nullptr);
  ~TokenInitPanel() override;

  /** The checkpoint the strategies run on (the loaded model). */
  void setCheckpoint(const QString& dir);
  QString checkpoint() const { return m_checkpoint; }
  /** Starts the comparison; false (with failed()) when one runs or no checkpoint is set. */
  bool compare();
  bool isRunning() const;
  /** The semantic strategy's words, comma separated ("" = the CLI's default list). */
  void setWords(const QString& words);

  /**
   * Shows a comparison as `nmar init-token --compare --json` prints it; false with @p error
   * naming @p source and the field when it is not one.
   */
  bool showJson(const QByteArray& json, const QString& source, QString* error = nullptr);
  const std::vector<core::TokenInitReport>& reports() const { return m_reports; }
  /** The strategies that failed in the last comparison, as "strategy: message". */
  const QStringList& failures() const { return m_failures; }
  QTableWidget* table() const { return m_table; }
  viz::BarChart* klChart() const { return m_kl; }
  viz::BarChart* undoChart() const { return m_pUndo; }

 Q_SIGNALS:
  /** A comparison is shown. */
  void compared();
  /** It could not run or its output was not a comparison; @p message says why. */
  void failed(const QString& message);

 private:
  void onFinished(int code, QProcess::ExitStatus status);
  void askExport();

  QProcess* m_process = nullptr;
  QString m_checkpoint;
  QLabel* m_model = nullptr;
  QLabel* m_status = nullptr;
  QLineEdit* m_words = nullptr;
  QSpinBox* m_seed = nullptr;
  QPushButton* m_run = nullptr;
  QTableWidget* m_table = nullptr;
  viz::BarChart* m_kl = nullptr;
  viz::BarChart* m_pUndo = nullptr;
  std::vector<core::TokenInitReport> m_reports;
  QStringList m_failures;
};

}  // namespace nmar::widgets
