#pragma once
/** @file One formatted log line as the GUI shows it. */
#include <QDateTime>
#include <QMetaType>
#include <QString>

namespace nmar::widgets {

/** spdlog's levels, in the same order (trace = 0 … critical = 5). */
enum class LogLevel { Trace = 0, Debug, Info, Warn, Error, Critical };

/** A log line: its level, the logger it came from ("core.train", "gui"), and the formatted text. */
struct LogLine {
  LogLevel level = LogLevel::Info;
  QString logger;
  QString text;  ///< formatted without the trailing newline, e.g. "12:03:04.512 warning [gui] ..."
  QDateTime time;
};

/** "trace", "debug", "info", "warning", "error", "critical". */
QString logLevelName(LogLevel level);

}  // namespace nmar::widgets

Q_DECLARE_METATYPE(nmar::widgets::LogLine)
