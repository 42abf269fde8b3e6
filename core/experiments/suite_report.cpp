#include "experiments/suite_report.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "experiments/suite_metric.h"
#include "experiments/suite_plot.h"
#include "experiments/suite_runner.h"
#include "store/run_store.h"

namespace nmar::core {
namespace {

std::string fixed(double v, int decimals = 3) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

const VariantResult* variantNamed(const ExperimentResult& e, const std::string& name) {
  for (const auto& v : e.variants)
    if (v.name == name) return &v;
  return nullptr;
}

MeanStd metricOf(const VariantResult* v, const std::string& metric) {
  if (!v || !v->values.count(metric)) return {};
  return meanStd(v->values.at(metric));
}

std::string checkExpectation(const ExperimentResult& e, const SuiteExpectation& x) {
  const MeanStd l = metricOf(variantNamed(e, x.leftVariant), x.leftMetric);
  const MeanStd r = metricOf(variantNamed(e, x.rightVariant), x.rightMetric);
  std::string numbers = "(" + formatMeanStd(l) + " vs " + formatMeanStd(r) + ")";
  if (l.n == 0 || r.n == 0) return "not measured " + numbers;
  bool holds = false;
  if (x.op == "<")
    holds = l.mean < r.mean;
  else if (x.op == "<=")
    holds = l.mean <= r.mean;
  else if (x.op == ">")
    holds = l.mean > r.mean;
  else
    holds = l.mean >= r.mean;
  const bool equalOk = (x.op == "<=" || x.op == ">=") && l.mean == r.mean;
  if (!holds) return "**does not hold** " + numbers;
  if (!equalOk && std::fabs(l.mean - r.mean) <= l.std + r.std)
    return "holds, but within noise (difference below the sum of the stds) " + numbers;
  return "**holds** " + numbers;
}

std::string setupLine(const nlohmann::json& c) {
  std::ostringstream s;
  auto str = [](const nlohmann::json& j, const char* k) {
    return j.contains(k) ? (j.at(k).is_string() ? j.at(k).get<std::string>() : j.at(k).dump())
                         : std::string("-");
  };
  const nlohmann::json& m = c.at("model");
  const std::string checkpoint = str(m, "checkpoint");
  if (checkpoint.rfind("the final checkpoint of ", 0) == 0)
    s << "model: " << checkpoint;
  else if (!checkpoint.empty() && checkpoint != "-")
    s << "model from checkpoint `" << checkpoint << "`";
  else
    s << "model " << str(m, "family") << "/" << str(m, "preset") << " from scratch";
  s << "; data `" << c.at("data").dump() << "`";
  if (c.contains("evaluate_only")) {
    s << "; no training (evaluations of that checkpoint on " << str(c.at("eval"), "examples")
      << " held-out examples)";
    return s.str();
  }
  if (c.contains("deviation")) s << "; deviations `" << c.at("deviation").dump() << "`";
  if (c.contains("curriculum") && !c.at("curriculum").empty())
    s << "; curriculum `" << c.at("curriculum").dump() << "`";
  const nlohmann::json& t = c.at("train");
  s << "; " << str(t, "steps") << " steps";
  if (t.contains("batch_size")) s << " of batch " << str(t, "batch_size");
  s << ", mode " << str(t, "mode");
  if (t.contains("loss")) s << ", loss " << str(t, "loss");
  s << "; lr " << str(c.at("optim"), "lr") << " (" << str(c.at("optim"), "schedule") << ")";
  s << "; evaluation on " << str(c.at("eval"), "examples") << " held-out examples";
  return s.str();
}

}  // namespace

MeanStd meanStd(const std::vector<double>& values) {
  MeanStd m;
  double sum = 0.0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, ++m.n;
  if (m.n == 0) return m;
  m.mean = sum / m.n;
  if (m.n > 1) {
    double ss = 0.0;
    for (double v : values)
      if (std::isfinite(v)) ss += (v - m.mean) * (v - m.mean);
    m.std = std::sqrt(ss / (m.n - 1));
  }
  return m;
}

std::string formatMeanStd(const MeanStd& m) {
  if (m.n == 0) return "n/a";
  // Small magnitudes (a KL shift, an initial probability) keep their digits.
  if (m.mean != 0.0 && std::fabs(m.mean) < 0.01) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2e ± %.2e", m.mean, m.std);
    return buf;
  }
  return fixed(m.mean) + " ± " + fixed(m.std);
}

SuiteResults collectResults(const Suite& suite, const std::vector<PlannedRun>& plan,
                            RunStore& store) {
  SuiteResults out;
  out.size = plan.empty() ? "full" : plan.front().sizeName();
  std::set<int> seeds;
  std::set<std::string> revisions, hosts;
  for (const SuiteExperiment& e : suite.experiments) {
    ExperimentResult er;
    er.experiment = &e;
    for (const SuiteVariant& v : e.variants) {
      VariantResult vr;
      vr.name = v.name;
      vr.describe = v.describe;
      bool planned = false;
      for (const PlannedRun& run : plan) {
        if (run.experiment != e.name || run.variant != v.name || run.dependencyOnly) continue;
        planned = true;
        seeds.insert(run.seed);
        if (er.baseConfig.is_null()) {
          er.baseConfig = run.config.toJson();
          // A staged run's checkpoint path is the planned one; name the stage instead.
          if (run.fromIndex >= 0) {
            const PlannedRun& from = plan.at(run.fromIndex);
            er.baseConfig["model"]["checkpoint"] =
                "the final checkpoint of " + from.experiment + "." + from.variant + " (same seed)";
          }
          if (run.evaluateOnly) er.baseConfig["evaluate_only"] = true;
          // Dataset paths as the reader of the report sees them: relative to the suite file.
          for (const char* table : {"data", "eval_data"}) {
            if (!er.baseConfig.contains(table)) continue;
            nlohmann::json& d = er.baseConfig[table];
            if (d.is_object() && d.contains("jsonl") && d["jsonl"].is_string())
              d["jsonl"] = std::filesystem::path(d["jsonl"].get<std::string>())
                               .lexically_proximate(
                                   std::filesystem::absolute(suite.file).parent_path())
                               .string();
          }
        }
        const std::optional<RunInfo> info = findFinishedRun(store, run);
        if (!info) {
          vr.missingSeeds.push_back(run.seed);
          continue;
        }
        vr.runIds.push_back(info->id);
        revisions.insert(info->codeRevision);
        hosts.insert(info->host);
        if (info->finishedMs)
          vr.wallSeconds.push_back((*info->finishedMs - info->startedMs) / 1000.0);
        std::vector<MetricSpec> specs;
        std::vector<std::string> keys;
        for (const std::string& metric : e.metrics) {
          specs.push_back(parseMetricSpec(metric, suite.file.string()));
          if (std::find(keys.begin(), keys.end(), specs.back().key) == keys.end())
            keys.push_back(specs.back().key);
        }
        std::map<std::string, std::vector<MetricPoint>> series;
        for (MetricSeries& s : store.metricSeries({info->id}, keys))
          series[s.key] = std::move(s.points);
        for (const MetricSpec& spec : specs)
          vr.values[spec.text].push_back(evaluateMetric(spec, series[spec.key]));
      }
      if (planned) er.variants.push_back(std::move(vr));
    }
    if (!er.variants.empty()) out.experiments.push_back(std::move(er));
  }
  out.seeds = static_cast<int>(seeds.size());
  out.revisions.assign(revisions.begin(), revisions.end());
  out.hosts.assign(hosts.begin(), hosts.end());
  return out;
}

std::string plotFileName(const std::string& plotPrefix, const std::string& name) {
  return plotPrefix + name + ".svg";
}

std::string renderMarkdown(const Suite& suite, const SuiteResults& results,
                           const std::string& command, const std::string& plotPrefix) {
  std::ostringstream md;
  md << "# " << suite.title << "\n\n";
  if (!suite.description.empty()) md << suite.description << "\n\n";
  md << "Generated from the run store by\n\n```sh\n"
     << command
     << "\n```\n\nEvery number below is the final evaluation of a finished run (the value at its "
        "last step, or derived from its logged series where the column says so), as mean ± sample "
        "standard deviation over seeds; no number is edited by hand. The **Reading** paragraphs "
        "are the interpretation written into the suite file after looking at these numbers.\n\n";
  md << "## Setup\n\n";
  md << "- Suite file: `" << suite.file.filename().string() << "` (size **" << results.size
     << "**, seeds 1.." << results.seeds << ")\n";
  std::string rev;
  for (const auto& r : results.revisions) rev += (rev.empty() ? "" : ", ") + ("`" + r + "`");
  md << "- nmar revision(s) of the runs: " << (rev.empty() ? "none yet" : rev) << "\n";
  for (const ExperimentResult& e : results.experiments) {
    if (!e.baseConfig.is_null())
      md << "- `" << e.experiment->name << "` (as variant `" << e.variants.front().name
         << "`; the others differ only in their overrides): " << setupLine(e.baseConfig) << "\n";
  }
  md << "\n";
  int number = 0;
  for (const ExperimentResult& e : results.experiments) {
    const SuiteExperiment& x = *e.experiment;
    md << "## " << ++number << ". " << x.title << "\n\n";
    if (!x.claim.empty()) md << x.claim << "\n\n";
    md << "| variant | overrides | seeds |";
    for (const auto& m : x.metrics)
      md << " " << parseMetricSpec(m, suite.file.string()).label() << " |";
    md << " wall s / run |\n|---|---|---|";
    for (std::size_t i = 0; i < x.metrics.size(); ++i) md << "---|";
    md << "---|\n";
    for (const VariantResult& v : e.variants) {
      md << "| " << v.name << " | " << (v.describe.empty() ? "-" : "`" + v.describe + "`") << " | "
         << v.runIds.size() << " |";
      for (const auto& m : x.metrics) {
        const MeanStd ms = metricOf(&v, m);
        md << " " << formatMeanStd(ms);
        // Seeds without a value (a threshold never reached, a key never logged) are left out.
        if (ms.n > 0 && ms.n < static_cast<int>(v.runIds.size()))
          md << " (" << ms.n << " of " << v.runIds.size() << ")";
        md << " |";
      }
      md << " " << fixed(meanStd(v.wallSeconds).mean, 0) << " |\n";
    }
    md << "\nMetrics: ";
    for (std::size_t i = 0; i < x.metrics.size(); ++i)
      md << (i ? ", " : "") << "`" << x.metrics[i] << "`";
    md << ". Runs: ";
    bool first = true;
    for (const VariantResult& v : e.variants) {
      for (std::int64_t id : v.runIds) md << (first ? "" : ", ") << id, first = false;
    }
    md << (first ? "none" : "") << ".\n\n";
    if (!plotPrefix.empty() && !renderExperimentSvg(e).empty())
      md << "![" << x.title << "](" << plotFileName(plotPrefix, x.name) << ")\n\n";
    if (!x.expect.empty()) {
      md << "Expectations:\n\n";
      for (const SuiteExpectation& ex : x.expect)
        md << "- `" << ex.text << "`: " << checkExpectation(e, ex) << "\n";
      md << "\n";
    }
    if (!x.reading.empty()) md << "**Reading.** " << x.reading << "\n\n";
    bool missing = false;
    for (const VariantResult& v : e.variants) {
      if (v.missingSeeds.empty()) continue;
      md << "- Missing: variant `" << v.name << "` seeds";
      for (int s : v.missingSeeds) md << " " << s;
      md << " (not finished in the store)\n";
      missing = true;
    }
    if (missing) md << "\n";
  }
  if (!suite.footer.empty()) md << suite.footer << "\n";
  return md.str();
}

}  // namespace nmar::core
