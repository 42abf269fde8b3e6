#include "util/log.h"

#include <mutex>

#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace nmar::core {
namespace {

// Every logger writes to one distributing sink; adding or removing a sink (the GUI's log pane)
// goes through it, under its own lock, so it is safe while other threads are logging.
struct Registry {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> dist = [] {
    auto d = std::make_shared<spdlog::sinks::dist_sink_mt>();
    d->add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    return d;
  }();
  spdlog::level::level_enum level = spdlog::level::info;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (auto existing = spdlog::get(name)) return existing;
  auto created = std::make_shared<spdlog::logger>(name, r.dist);
  created->set_level(r.level);
  spdlog::register_logger(created);
  return created;
}

void addLogSink(const spdlog::sink_ptr& sink) { registry().dist->add_sink(sink); }

void removeLogSink(const spdlog::sink_ptr& sink) { registry().dist->remove_sink(sink); }

void setLogLevel(const std::string& level) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.level = spdlog::level::from_str(level);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(r.level); });
}

}  // namespace nmar::core
