#pragma once
/** @file An spdlog sink that hands each formatted line to the GUI thread through a queued signal.
 */
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <QObject>

#include "widgets/log_line.h"

namespace nmar::widgets {

/**
 * Lives on the GUI thread; QtLogSink emits lineLogged() from whichever thread logs. Connect it
 * with Qt::QueuedConnection so receivers run on their own (GUI) thread.
 */
class LogRelay : public QObject {
  Q_OBJECT
 public:
  explicit LogRelay(QObject* parent = nullptr);

 Q_SIGNALS:
  /** Emitted on the logging thread, once per log call that passes the sink's level. */
  void lineLogged(const nmar::widgets::LogLine& line);
};

/**
 * spdlog sink forwarding each message, formatted with its pattern (default
 * "%H:%M:%S.%e %-8l [%n] %v"), to a LogRelay. Thread-safe (spdlog's base_sink mutex). Never
 * blocks on the GUI thread. detach() must be called before the relay is destroyed; after it the
 * sink drops messages.
 */
class QtLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit QtLogSink(LogRelay* relay);

  /** Stops forwarding; safe against a concurrent log call (waits for it to finish). */
  void detach();

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  LogRelay* m_relay;  // guarded by base_sink::mutex_
};

}  // namespace nmar::widgets
