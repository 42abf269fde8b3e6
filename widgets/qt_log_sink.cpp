#include "widgets/qt_log_sink.h"

#include <chrono>

#include <spdlog/pattern_formatter.h>

namespace nmar::widgets {

QString logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::Trace:
      return QStringLiteral("trace");
    case LogLevel::Debug:
      return QStringLiteral("debug");
    case LogLevel::Info:
      return QStringLiteral("info");
    case LogLevel::Warn:
      return QStringLiteral("warning");
    case LogLevel::Error:
      return QStringLiteral("error");
    case LogLevel::Critical:
      return QStringLiteral("critical");
  }
  return QStringLiteral("info");
}

LogRelay::LogRelay(QObject* parent) : QObject(parent) { qRegisterMetaType<LogLine>(); }

QtLogSink::QtLogSink(LogRelay* relay) : m_relay(relay) { set_pattern_("%H:%M:%S.%e %-8l [%n] %v"); }

void QtLogSink::detach() {
  std::lock_guard<std::mutex> lock(mutex_);
  m_relay = nullptr;
}

void QtLogSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (!m_relay) return;
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  QString text = QString::fromUtf8(formatted.data(), int(formatted.size()));
  while (text.endsWith(QLatin1Char('\n')) || text.endsWith(QLatin1Char('\r'))) text.chop(1);

  LogLine line;
  const int level = static_cast<int>(msg.level);
  line.level = static_cast<LogLevel>(qBound(0, level, static_cast<int>(LogLevel::Critical)));
  line.logger = QString::fromUtf8(msg.logger_name.data(), int(msg.logger_name.size()));
  line.text = std::move(text);
  line.time = QDateTime::fromMSecsSinceEpoch(
      std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count());
  // Emitted on the logging thread; the relay's receivers are connected queued.
  Q_EMIT m_relay->lineLogged(line);
}

}  // namespace nmar::widgets
