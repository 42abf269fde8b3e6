#include "experiments/suite_metric.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "util/error.h"

namespace nmar::core {
namespace {

std::string shortKey(const std::string& key) {
  const auto slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

bool parseInt(const std::string& s, std::int64_t& out) {
  if (s.empty()) return false;
  std::size_t used = 0;
  try {
    out = std::stoll(s, &used);
  } catch (...) {
    return false;
  }
  return used == s.size();
}

bool parseDouble(const std::string& s, double& out) {
  if (s.empty()) return false;
  std::size_t used = 0;
  try {
    out = std::stod(s, &used);
  } catch (...) {
    return false;
  }
  return used == s.size() && std::isfinite(out);
}

bool passes(double v, const std::string& op, double t) {
  if (op == ">=") return v >= t;
  if (op == ">") return v > t;
  if (op == "<=") return v <= t;
  return v < t;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::string canonicalMetric(const std::string& text) {
  std::string out;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  return out;
}

std::string MetricSpec::label() const {
  std::string range;
  if (fromStep != std::numeric_limits<std::int64_t>::min() ||
      toStep != std::numeric_limits<std::int64_t>::max()) {
    range = " (steps ";
    if (fromStep != std::numeric_limits<std::int64_t>::min()) range += std::to_string(fromStep);
    range += "..";
    if (toStep != std::numeric_limits<std::int64_t>::max()) range += std::to_string(toStep);
    range += ")";
  }
  switch (kind) {
    case Kind::kLast:
      return shortKey(key);
    case Kind::kMax:
      return "max " + shortKey(key) + range;
    case Kind::kMin:
      return "min " + shortKey(key) + range;
    case Kind::kMean:
      return "mean " + shortKey(key) + range;
    case Kind::kLastMean:
      return shortKey(key) + " (mean of last " + std::to_string(lastN) + ")";
    case Kind::kStepsTo:
      return "steps to " + shortKey(key) + op + num(threshold);
  }
  return text;
}

MetricSpec parseMetricSpec(const std::string& raw, const std::string& where) {
  MetricSpec s;
  s.text = canonicalMetric(raw);
  auto fail = [&](const std::string& what) -> void {
    throw Error(where + ": metric '" + raw + "': " + what);
  };
  const std::string& t = s.text;
  if (t.empty()) fail("empty (expected a logged key such as \"eval/clean_acc\")");
  const auto open = t.find('(');
  if (open == std::string::npos) {
    if (t.find_first_of("),<>=") != std::string::npos)
      fail(
          "expected KEY or FUNCTION(KEY...) with FUNCTION one of max, min, mean, last_mean, "
          "steps_to");
    s.key = t;
    return s;
  }
  if (t.back() != ')') fail("expected a closing ')' at the end");
  const std::string fn = t.substr(0, open);
  const std::string args = t.substr(open + 1, t.size() - open - 2);
  if (fn == "steps_to") {
    s.kind = MetricSpec::Kind::kStepsTo;
    const auto at = args.find_first_of("<>");
    if (at == std::string::npos || at == 0)
      fail("expected steps_to(KEY>=THRESHOLD) with one of >= > <= <");
    const bool eq = at + 1 < args.size() && args[at + 1] == '=';
    s.op = args.substr(at, eq ? 2 : 1);
    s.key = args.substr(0, at);
    if (!parseDouble(args.substr(at + s.op.size()), s.threshold))
      fail("the threshold after '" + s.op + "' is not a number");
    return s;
  }
  const auto comma = args.find(',');
  s.key = args.substr(0, comma);
  if (s.key.empty()) fail("missing the key inside the parentheses");
  const std::string rest = comma == std::string::npos ? std::string() : args.substr(comma + 1);
  if (fn == "last_mean") {
    s.kind = MetricSpec::Kind::kLastMean;
    std::int64_t n = 0;
    if (!parseInt(rest, n) || n < 1 || n > 1000000)
      fail("expected last_mean(KEY,N) with N a count >= 1");
    s.lastN = static_cast<int>(n);
    return s;
  }
  if (fn == "max")
    s.kind = MetricSpec::Kind::kMax;
  else if (fn == "min")
    s.kind = MetricSpec::Kind::kMin;
  else if (fn == "mean")
    s.kind = MetricSpec::Kind::kMean;
  else
    fail("unknown function '" + fn + "' (expected max, min, mean, last_mean, steps_to)");
  if (comma == std::string::npos) return s;
  const auto dots = rest.find("..");
  if (dots == std::string::npos) fail("expected a step range FROM..TO after the key (e.g. 1..100)");
  const std::string from = rest.substr(0, dots), to = rest.substr(dots + 2);
  if ((!from.empty() && !parseInt(from, s.fromStep)) || (!to.empty() && !parseInt(to, s.toStep)) ||
      (from.empty() && to.empty()) || s.fromStep > s.toStep)
    fail("the step range '" + rest + "' is not FROM..TO with integer steps, FROM <= TO");
  return s;
}

double evaluateMetric(const MetricSpec& spec, const std::vector<MetricPoint>& series) {
  const double nan = std::nan("");
  std::vector<const MetricPoint*> points;
  for (const MetricPoint& p : series)
    if (std::isfinite(p.value) && p.step >= spec.fromStep && p.step <= spec.toStep)
      points.push_back(&p);
  if (points.empty()) return nan;
  std::stable_sort(points.begin(), points.end(),
                   [](const MetricPoint* a, const MetricPoint* b) { return a->step < b->step; });
  switch (spec.kind) {
    case MetricSpec::Kind::kLast: {
      const MetricPoint* best = points.front();
      for (const MetricPoint* p : points)
        if (p->step >= best->step) best = p;
      return best->value;
    }
    case MetricSpec::Kind::kMax:
    case MetricSpec::Kind::kMin: {
      double v = points.front()->value;
      for (const MetricPoint* p : points)
        v = spec.kind == MetricSpec::Kind::kMax ? std::max(v, p->value) : std::min(v, p->value);
      return v;
    }
    case MetricSpec::Kind::kMean: {
      double sum = 0.0;
      for (const MetricPoint* p : points) sum += p->value;
      return sum / points.size();
    }
    case MetricSpec::Kind::kLastMean: {
      const std::size_t n = std::min<std::size_t>(points.size(), spec.lastN);
      double sum = 0.0;
      for (std::size_t i = points.size() - n; i < points.size(); ++i) sum += points[i]->value;
      return sum / n;
    }
    case MetricSpec::Kind::kStepsTo:
      for (const MetricPoint* p : points)
        if (passes(p->value, spec.op, spec.threshold)) return static_cast<double>(p->step);
      return nan;
  }
  return nan;
}

}  // namespace nmar::core
