#include "widgets/run_filter.h"

#include <algorithm>

#include <QStringList>

#include "util/error.h"

namespace nmar::widgets {
namespace {

/** json_extract compares true/false as 1/0 and numbers by value. */
bool sameScalar(const nlohmann::json& a, const nlohmann::json& b) {
  auto number = [](const nlohmann::json& j, double* out) {
    if (j.is_boolean()) *out = j.get<bool>() ? 1.0 : 0.0;
    else if (j.is_number()) *out = j.get<double>();
    else return false;
    return true;
  };
  double x = 0, y = 0;
  if (number(a, &x) && number(b, &y)) return x == y;
  return a == b;
}

}  // namespace

core::RunFilter parseRunFilter(const QString& text, QStringList* nameWords) {
  core::RunFilter filter;
  if (nameWords) nameWords->clear();
  for (const QString& term : text.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
    const std::string t = term.toStdString();
    if (term.startsWith(QLatin1String("kind:"))) {
      filter.kind = t.substr(5);
    } else if (term.startsWith(QLatin1String("status:"))) {
      filter.status = core::parseRunStatus(t.substr(7), t);
    } else if (term.startsWith(QLatin1String("tag:"))) {
      filter.tag = t.substr(4);
    } else if (term.contains(QLatin1Char('='))) {
      filter.configEquals.push_back(core::parseConfigCondition(t, t));
    } else if (nameWords) {
      nameWords->append(term);
    }
  }
  return filter;
}

std::optional<nlohmann::json> configValueAt(const nlohmann::json& config,
                                            const std::string& path) {
  if (path.empty() || path[0] != '$') return std::nullopt;
  const nlohmann::json* at = &config;
  std::size_t i = 1;
  while (i < path.size()) {
    if (path[i] == '.') {
      std::size_t end = path.find_first_of(".[", i + 1);
      if (end == std::string::npos) end = path.size();
      const std::string key = path.substr(i + 1, end - i - 1);
      if (!at->is_object() || !at->contains(key)) return std::nullopt;
      at = &(*at)[key];
      i = end;
    } else if (path[i] == '[') {
      const std::size_t end = path.find(']', i);
      if (end == std::string::npos || !at->is_array()) return std::nullopt;
      std::size_t index = 0;
      try {
        index = std::stoul(path.substr(i + 1, end - i - 1));
      } catch (const std::exception&) {
        return std::nullopt;
      }
      if (index >= at->size()) return std::nullopt;
      at = &(*at)[index];
      i = end + 1;
    } else {
      return std::nullopt;
    }
  }
  return *at;
}

bool runMatches(const core::RunInfo& run, const core::RunFilter& filter,
                const QStringList& nameWords) {
  if (filter.kind && run.kind != *filter.kind) return false;
  if (filter.status && run.status != *filter.status) return false;
  if (filter.tag && std::find(run.tags.begin(), run.tags.end(), *filter.tag) == run.tags.end())
    return false;
  if (filter.nameContains && run.name.find(*filter.nameContains) == std::string::npos)
    return false;
  for (const auto& [path, value] : filter.configEquals) {
    const auto v = configValueAt(run.config, path);
    if (value.is_null() ? !(v && v->is_null()) : !(v && sameScalar(*v, value))) return false;
  }
  const QString name = QString::fromStdString(run.name);
  for (const QString& w : nameWords)
    if (!name.contains(w, Qt::CaseInsensitive)) return false;
  return true;
}

}  // namespace nmar::widgets
