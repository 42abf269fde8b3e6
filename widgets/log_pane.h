#pragma once
/** @file The log pane: log lines from every logger, coloured by level, filterable, bounded. */
#include <deque>
#include <memory>

#include <QList>
#include <QWidget>

#include "widgets/log_line.h"

class QComboBox;
class QLabel;
class QPlainTextEdit;

namespace nmar::widgets {

class LogRelay;
class QtLogSink;

/**
 * A read-only view of the log. On construction it registers a sink with nmar::core::addLogSink
 * (so it receives every core and GUI logger, from any thread, delivered queued on the GUI
 * thread) and removes it on destruction. Keeps at most maxLines() lines (oldest dropped first);
 * the level filter hides lines below minimumLevel() without discarding them. GUI thread only.
 */
class LogPane : public QWidget {
  Q_OBJECT
 public:
  static constexpr int kDefaultMaxLines = 5000;

  explicit LogPane(QWidget* parent = nullptr);
  ~LogPane() override;

  /** Caps the number of kept lines (at least 1); drops the oldest beyond it. */
  void setMaxLines(int maxLines);
  int maxLines() const { return m_maxLines; }
  /** Shows only lines at @p level or above. */
  void setMinimumLevel(LogLevel level);
  LogLevel minimumLevel() const { return m_minimumLevel; }

  /** Number of kept lines, whatever the filter. */
  int lineCount() const { return int(m_lines.size()); }
  /** The kept lines, oldest first. */
  QList<LogLine> lines() const;
  /** The text currently shown (lines passing the filter, one per line). */
  QString visibleText() const;
  /** Number of lines currently shown. */
  int visibleLineCount() const { return m_visibleCount; }

 public Q_SLOTS:
  /** Adds a line (the sink's lines arrive here, queued). */
  void appendLine(const nmar::widgets::LogLine& line);
  /** Forgets all lines. */
  void clear();
  /** Copies the selection, or every shown line when nothing is selected, to the clipboard. */
  void copyToClipboard() const;

 Q_SIGNALS:
  /** A line was added (on the GUI thread). */
  void lineAppended(const nmar::widgets::LogLine& line);

 private:
  bool passes(const LogLine& line) const { return line.level >= m_minimumLevel; }
  void showLine(const LogLine& line);
  void removeFirstShownLine();
  void rebuildView();
  void updateCountLabel();

  QPlainTextEdit* m_view = nullptr;
  QComboBox* m_levelBox = nullptr;
  QLabel* m_countLabel = nullptr;
  LogRelay* m_relay = nullptr;
  std::shared_ptr<QtLogSink> m_sink;
  std::deque<LogLine> m_lines;
  int m_visibleCount = 0;  // lines in m_lines that pass the filter
  int m_maxLines = kDefaultMaxLines;
  LogLevel m_minimumLevel = LogLevel::Trace;
};

}  // namespace nmar::widgets
