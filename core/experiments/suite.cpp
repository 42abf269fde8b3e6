#include "experiments/suite.h"

#include <set>
#include <sstream>

#include "data/config_reader.h"
#include "data/curriculum.h"
#include "data/deviation.h"
#include "data/example_source.h"
#include "experiments/suite_metric.h"
#include "store/sha256.h"
#include "train/token_init_report.h"
#include "util/error.h"
#include "util/json_file.h"

namespace nmar::core {
namespace fs = std::filesystem;
namespace {

fs::path resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

/** A name usable in tags and folders: 1-40 characters of [A-Za-z0-9_-]. */
void checkName(ConfigReader& r, const std::string& key, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 40;
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  if (!ok)
    r.fail(key, "expected 1 to 40 characters of letters, digits, '-' and '_', got '" + name + "'");
}

/**
 * An override table { "train.loss" = "naive", model = { preset = "small" } } as a nested patch
 * (dotted keys split); @p describe gets "train.loss=naive, model.preset=small".
 */
nlohmann::json readPatch(ConfigReader& r, const std::string& key, std::string* describe) {
  const nlohmann::json& raw = r.raw(key);
  if (raw.is_null()) return nlohmann::json::object();
  if (!raw.is_object()) r.fail(key, "expected a table of overrides, got " + jsonTypeName(raw));
  nlohmann::json patch = nlohmann::json::object();
  std::vector<std::string> parts;
  // Flatten nested tables to dotted leaves, then rebuild: both spellings give the same patch.
  std::vector<std::pair<std::string, const nlohmann::json*>> stack;
  for (auto it = raw.begin(); it != raw.end(); ++it) stack.emplace_back(it.key(), &it.value());
  std::vector<std::pair<std::string, nlohmann::json>> leaves;
  while (!stack.empty()) {
    auto [path, value] = stack.back();
    stack.pop_back();
    // A table under [model].config is a config.json value, not more overrides.
    const bool deeper = value->is_object() && !value->empty() && path != "model.config";
    if (deeper) {
      for (auto it = value->begin(); it != value->end(); ++it)
        stack.emplace_back(path + "." + it.key(), &it.value());
    } else {
      leaves.emplace_back(path, *value);
    }
  }
  std::sort(leaves.begin(), leaves.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [path, value] : leaves) {
    std::vector<std::string> keys;
    std::stringstream ss(path);
    for (std::string k; std::getline(ss, k, '.');) keys.push_back(k);
    if (keys.size() < 2 || std::any_of(keys.begin(), keys.end(), [](auto& k) { return k.empty(); }))
      r.fail(key, "override '" + path + "': expected TABLE.FIELD (e.g. \"train.loss\")");
    nlohmann::json* at = &patch;
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) at = &(*at)[keys[i]];
    (*at)[keys.back()] = value;
    if (describe) {
      if (!describe->empty()) *describe += ", ";
      std::string shown = value.is_string() ? value.get<std::string>() : value.dump();
      // A long table or list (curriculum stages) is summarised; the claim text describes it.
      if (shown.size() > 48 && value.is_array())
        shown = "[" + std::to_string(value.size()) + " entries]";
      else if (shown.size() > 48)
        shown = shown.substr(0, 45) + "...";
      *describe += path + "=" + shown;
    }
  }
  return patch;
}

std::vector<std::string> stringList(ConfigReader& r, const std::string& key) {
  const nlohmann::json& raw = r.raw(key);
  std::vector<std::string> out;
  if (raw.is_null()) return out;
  if (!raw.is_array()) r.fail(key, "expected an array of strings, got " + jsonTypeName(raw));
  for (const auto& v : raw) {
    if (!v.is_string())
      r.fail(key, "expected an array of strings, got an element " + jsonTypeName(v));
    out.push_back(v.get<std::string>());
  }
  return out;
}

SuiteExpectation parseExpectation(ConfigReader& r, const std::string& text) {
  std::istringstream in(text);
  std::string left, op, right, extra;
  in >> left >> op >> right;
  auto split = [&](const std::string& side, std::string& variant, std::string& metric) {
    const auto dot = side.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == side.size()) return false;
    variant = side.substr(0, dot);
    metric = side.substr(dot + 1);
    return true;
  };
  SuiteExpectation e;
  e.text = text;
  e.op = op;
  const bool ok = !(in >> extra) && split(left, e.leftVariant, e.leftMetric) &&
                  split(right, e.rightVariant, e.rightMetric) &&
                  (op == "<" || op == "<=" || op == ">" || op == ">=");
  if (!ok) {
    r.fail(
        "expect",
        "'" + text + "': expected \"VARIANT.METRIC OP VARIANT.METRIC\" with OP one of < <= > >=");
  }
  return e;
}

/** Reads a table-array element (or fails naming it). */
const nlohmann::json& element(const nlohmann::json& arr, std::size_t i, const std::string& where) {
  if (!arr.at(i).is_object())
    throw Error(where + ": expected a table, got " + jsonTypeName(arr.at(i)));
  return arr.at(i);
}

/** "EXP.VARIANT" split; false when it is not of that form. */
bool splitRef(const std::string& ref, std::string& exp, std::string& variant) {
  const auto dot = ref.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == ref.size()) return false;
  exp = ref.substr(0, dot);
  variant = ref.substr(dot + 1);
  return true;
}

const SuiteVariant* findVariant(const Suite& s, const std::string& exp, const std::string& variant,
                                const SuiteExperiment** experiment = nullptr) {
  for (const SuiteExperiment& e : s.experiments) {
    if (e.name != exp) continue;
    for (const SuiteVariant& v : e.variants)
      if (v.name == variant) {
        if (experiment) *experiment = &e;
        return &v;
      }
  }
  return nullptr;
}

/**
 * Every `from` names an existing variant, and following them never comes back: else an Error
 * naming the experiment and variant (and the cycle).
 */
void checkStages(const Suite& s) {
  const std::string where = s.file.string();
  for (const SuiteExperiment& e : s.experiments) {
    for (const SuiteVariant& v : e.variants) {
      if (v.from.empty()) continue;
      const std::string at = where + ": experiment '" + e.name + "' variant '" + v.name + "'";
      std::string exp, variant;
      if (!splitRef(v.from, exp, variant))
        throw Error(at + ": field 'from': '" + v.from +
                    "': expected \"EXPERIMENT.VARIANT\" (e.g. \"pretrain.clean\")");
      if (!findVariant(s, exp, variant))
        throw Error(at + ": field 'from': '" + v.from + "': no variant '" + variant +
                    "' in an experiment '" + exp + "' of this suite");
      // Follow the chain; coming back to a node seen on it is a cycle.
      std::vector<std::string> chain = {e.name + "." + v.name};
      const SuiteVariant* at_v = &v;
      while (!at_v->from.empty()) {
        if (std::find(chain.begin(), chain.end(), at_v->from) != chain.end()) {
          std::string cycle;
          for (const auto& c : chain) cycle += c + " -> ";
          throw Error(at + ": field 'from': the stages form a cycle: " + cycle + at_v->from);
        }
        chain.push_back(at_v->from);
        splitRef(at_v->from, exp, variant);
        at_v = findVariant(s, exp, variant);
        if (!at_v) break;  // reported when that variant's own `from` is checked
      }
    }
  }
}

}  // namespace

std::string PlannedRun::sizeName() const {
  for (const auto& t : tags)
    if (t.rfind("size:", 0) == 0) return t.substr(5);
  return "full";
}

void mergePatch(nlohmann::json& target, const nlohmann::json& patch) {
  if (!patch.is_object() || !target.is_object()) {
    target = patch;
    return;
  }
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (target.contains(it.key()) && it.value().is_object() && target[it.key()].is_object())
      mergePatch(target[it.key()], it.value());
    else
      target[it.key()] = it.value();
  }
}

Suite parseSuite(std::string_view text, const fs::path& file) {
  const std::string where = file.string();
  const nlohmann::json root = tomlTextToJson(text, file);
  const fs::path base = file.parent_path();
  for (auto it = root.begin(); it != root.end(); ++it) {
    static const std::set<std::string> kTables = {"suite", "defaults", "quick", "experiment"};
    if (!kTables.count(it.key()))
      throw Error(where + ": [" + it.key() +
                  "]: unknown table (expected suite, defaults, quick, experiment)");
  }
  Suite s;
  s.file = file;
  static const nlohmann::json kEmpty = nlohmann::json::object();
  {
    ConfigReader r(root.contains("suite") ? root.at("suite") : kEmpty, where + ": [suite]");
    s.name = r.string("name", file.stem().string());
    checkName(r, "name", s.name);
    s.title = r.string("title", s.name);
    s.description = r.string("description", "");
    s.footer = r.string("footer", "");
    s.seeds = static_cast<int>(r.integer("seeds", 3, 1, 100));
    const std::string out = r.string("out_dir", "");
    s.outDir = out.empty() ? fs::path("runs") / ("suite-" + s.name) : resolve(base, out);
    r.rejectUnknown();
  }
  {
    ConfigReader r(root.contains("defaults") ? root.at("defaults") : kEmpty,
                   where + ": [defaults]");
    s.defaults = readPatch(r, "set", nullptr);
    r.rejectUnknown();
  }
  {
    ConfigReader r(root.contains("quick") ? root.at("quick") : kEmpty, where + ": [quick]");
    s.quickSeeds = static_cast<int>(r.integer("seeds", 1, 1, 100));
    s.quick = readPatch(r, "set", nullptr);
    r.rejectUnknown();
  }
  if (!root.contains("experiment") || !root.at("experiment").is_array() ||
      root.at("experiment").empty())
    throw Error(where + ": [[experiment]]: missing (a suite lists at least one experiment)");
  const nlohmann::json& exps = root.at("experiment");
  std::set<std::string> names;
  for (std::size_t i = 0; i < exps.size(); ++i) {
    std::string at = where + ": [[experiment]] " + std::to_string(i + 1);
    ConfigReader r(element(exps, i, at), at);
    SuiteExperiment e;
    e.name = r.string("name", "");
    checkName(r, "name", e.name);
    if (!names.insert(e.name).second) r.fail("name", "'" + e.name + "' is used twice");
    at += " '" + e.name + "'";
    ConfigReader er(exps.at(i), at);
    er.has("name");
    e.title = er.string("title", e.name);
    e.claim = er.string("claim", "");
    e.reading = er.string("reading", "");
    e.metrics = stringList(er, "metrics");
    if (e.metrics.empty())
      er.fail("metrics", "missing (the metric keys to report, e.g. \"eval/clean_acc\")");
    for (std::string& m : e.metrics) m = parseMetricSpec(m, at + ": field 'metrics'").text;
    const std::string baseFile = er.string("base", "");
    const nlohmann::json expSet = readPatch(er, "set", nullptr);
    const nlohmann::json expQuick = readPatch(er, "quick", nullptr);
    const std::string expFrom = er.string("from", "");
    const std::string expUndoInit = er.string("undo_init", "");
    const int expEvents = static_cast<int>(er.integer("recovery_events", 0, 0, 64));
    const int expMatched = static_cast<int>(er.integer("compute_matched", 0, 0, 64));
    const int expNatural = static_cast<int>(er.integer("natural_samples", 0, 0, 64));
    const bool expEvalOnly = er.boolean("evaluate_only", false);
    const nlohmann::json& vars = er.raw("variant");
    if (!vars.is_null() && (!vars.is_array() || vars.empty()))
      er.fail("variant", "expected one or more [[experiment.variant]] tables");
    const std::size_t nVariants = vars.is_null() ? 1 : vars.size();
    std::set<std::string> variantNames;
    for (std::size_t v = 0; v < nVariants; ++v) {
      SuiteVariant var;
      std::string vat = at + ": variant " + std::to_string(v + 1);
      std::string variantBase = baseFile;
      if (!vars.is_null()) {
        ConfigReader vr(element(vars, v, vat), vat);
        var.name = vr.string("name", "");
        checkName(vr, "name", var.name);
        vat = at + ": variant '" + var.name + "'";
        variantBase = vr.string("base", baseFile);
        var.set = readPatch(vr, "set", &var.describe);
        var.from = vr.string("from", expFrom);
        var.undoInit = vr.string("undo_init", expUndoInit);
        var.recoveryEvents = static_cast<int>(vr.integer("recovery_events", expEvents, 0, 64));
        var.computeMatched = static_cast<int>(vr.integer("compute_matched", expMatched, 0, 64));
        var.naturalSamples = static_cast<int>(vr.integer("natural_samples", expNatural, 0, 64));
        var.evaluateOnly = vr.boolean("evaluate_only", expEvalOnly);
        vr.rejectUnknown();
      } else {
        var.name = "default";
        var.from = expFrom;
        var.undoInit = expUndoInit;
        var.recoveryEvents = expEvents;
        var.computeMatched = expMatched;
        var.naturalSamples = expNatural;
        var.evaluateOnly = expEvalOnly;
      }
      if (var.evaluateOnly && var.from.empty())
        throw Error(vat + ": field 'evaluate_only': needs `from` (the checkpoint to evaluate)");
      if (var.evaluateOnly && var.recoveryEvents == 0 && var.computeMatched == 0 &&
          var.naturalSamples == 0)
        throw Error(vat +
                    ": field 'evaluate_only': nothing to evaluate (set recovery_events, "
                    "compute_matched or natural_samples)");
      if (!var.undoInit.empty()) {
        try {
          parseTokenInitStrategy(var.undoInit);
        } catch (const Error& err) {
          throw Error(vat + ": field 'undo_init': " + err.what());
        }
        if (var.from.empty())
          throw Error(vat +
                      ": field 'undo_init': needs `from` (the stage whose checkpoint gets "
                      "the token)");
      }
      nlohmann::json merged = expSet;
      mergePatch(merged, var.set);
      var.set = std::move(merged);
      // The report's "overrides" column: the variant's own, its stage and UNDO init.
      if (!var.from.empty())
        var.describe += (var.describe.empty() ? "" : ", ") + ("from " + var.from);
      if (!var.undoInit.empty())
        var.describe += (var.describe.empty() ? "" : ", ") + ("undo init " + var.undoInit);
      var.quick = expQuick;
      if (!variantNames.insert(var.name).second)
        throw Error(vat + ": field 'name': '" + var.name + "' is used twice");
      if (variantBase.empty())
        throw Error(vat + ": field 'base': missing (the experiment TOML to start from)");
      var.base = resolve(base, variantBase);
      if (!fs::is_regular_file(var.base))
        throw Error(vat + ": field 'base': no such file '" + var.base.string() + "'");
      e.variants.push_back(std::move(var));
    }
    for (const std::string& text : stringList(er, "expect")) {
      SuiteExpectation x = parseExpectation(er, text);
      for (const std::string* v : {&x.leftVariant, &x.rightVariant})
        if (!variantNames.count(*v)) er.fail("expect", "'" + text + "': no variant '" + *v + "'");
      for (std::string* m : {&x.leftMetric, &x.rightMetric})
        if (std::find(e.metrics.begin(), e.metrics.end(), canonicalMetric(*m)) == e.metrics.end())
          er.fail("expect", "'" + text + "': '" + *m + "' is not one of the experiment's metrics");
        else
          *m = canonicalMetric(*m);
      e.expect.push_back(std::move(x));
    }
    er.rejectUnknown();
    s.experiments.push_back(std::move(e));
  }
  checkStages(s);
  return s;
}

Suite loadSuite(const fs::path& file) {
  const std::string text = readFileBytes(file, "suite file '" + file.string() + "'");
  return parseSuite(text, file);
}

std::string configHash(const ExperimentConfig& config) { return configHash(config, {}); }

namespace {

/**
 * What identifies the file at @p path in a config hash: its content ("sha256:<hex>"), so the hash
 * does not depend on where the checkout lives; a folder by its tokenizer.json when it has one. A
 * path that cannot be read stays as it is (planning reports it when it reads the data).
 */
std::string fileIdentity(const fs::path& path) {
  std::error_code ec;
  fs::path file = path;
  if (fs::is_directory(file, ec)) file /= "tokenizer.json";
  if (!fs::is_regular_file(file, ec)) return path.string();
  try {
    return "sha256:" + sha256File(file).sha256;
  } catch (const Error&) {
    return path.string();
  }
}

}  // namespace

std::string configHash(const ExperimentConfig& config, const std::string& fromHash) {
  nlohmann::json j = config.toJson();
  j["run"].erase("name");
  j["run"].erase("out_dir");
  // Datasets and tokenizers by their content, not their (absolute) paths.
  for (const char* table : {"data", "eval_data"}) {
    if (j.contains(table) && j[table].is_object() && j[table].contains("jsonl") &&
        j[table]["jsonl"].is_string())
      j[table]["jsonl"] = fileIdentity(j[table]["jsonl"].get<std::string>());
  }
  if (!config.model.tokenizer.empty())
    j["model"]["tokenizer"] = fileIdentity(config.model.tokenizer);
  // A staged run is identified by its stage's hash, not by where that stage's folder is.
  j["model"]["checkpoint"] = !fromHash.empty() ? "suite-run:" + fromHash
                             : config.model.checkpoint.empty()
                                 ? std::string()
                                 : fs::absolute(config.model.checkpoint).string();
  return sha256Hex(j.dump()).substr(0, 16);
}

namespace {

/** The variants to plan, stages first (each at most once), as (experiment, variant, only-dep). */
struct PlanNode {
  const SuiteExperiment* experiment;
  const SuiteVariant* variant;
  bool dependencyOnly;
};

void addNode(const Suite& suite, const SuiteExperiment& e, const SuiteVariant& v, bool dep,
             std::vector<PlanNode>& out) {
  for (PlanNode& n : out) {
    if (n.variant != &v) continue;
    n.dependencyOnly = n.dependencyOnly && dep;
    return;
  }
  if (!v.from.empty()) {  // parseSuite checked that it exists and that there is no cycle
    std::string exp, variant;
    splitRef(v.from, exp, variant);
    const SuiteExperiment* fromExp = nullptr;
    const SuiteVariant* fromVar = findVariant(suite, exp, variant, &fromExp);
    addNode(suite, *fromExp, *fromVar, true, out);
  }
  out.push_back({&e, &v, dep});
}

}  // namespace

std::vector<PlannedRun> planSuite(const Suite& suite, const SuitePlanOptions& options) {
  for (const std::string& name : options.only) {
    bool found = false;
    for (const auto& e : suite.experiments) found = found || e.name == name;
    if (!found) {
      std::string names;
      for (const auto& e : suite.experiments) names += (names.empty() ? "" : ", ") + e.name;
      throw Error(suite.file.string() + ": --only: no experiment '" + name + "' (the suite has " +
                  names + ")");
    }
  }
  const int seeds = options.seeds > 0 ? options.seeds
                    : options.quick   ? suite.quickSeeds
                                      : suite.seeds;
  const fs::path outRoot = options.outDir.empty() ? suite.outDir : options.outDir;
  const std::string size = options.quick ? "quick" : "full";
  std::vector<PlanNode> nodes;
  for (const SuiteExperiment& e : suite.experiments) {
    const bool selected =
        options.only.empty() ||
        std::find(options.only.begin(), options.only.end(), e.name) != options.only.end();
    if (!selected) continue;
    for (const SuiteVariant& v : e.variants) addNode(suite, e, v, false, nodes);
  }
  std::vector<PlannedRun> plan;
  for (const PlanNode& node : nodes) {
    const SuiteExperiment& e = *node.experiment;
    const SuiteVariant& v = *node.variant;
    const std::string where = suite.file.string() + ": experiment '" + e.name + "' variant '" +
                              v.name + "' (base " + v.base.string() + ")";
    const std::string baseText = readFileBytes(v.base, where + ": base file");
    const nlohmann::json baseJson = tomlTextToJson(baseText, v.base);
    for (int seed = 1; seed <= seeds; ++seed) {
      nlohmann::json j = baseJson;
      mergePatch(j, suite.defaults);
      mergePatch(j, v.set);
      if (options.quick) {
        mergePatch(j, suite.quick);
        mergePatch(j, v.quick);
      }
      j["run"]["seed"] = seed;
      j["run"]["name"] = suite.name + "/" + e.name + "/" + v.name + "/s" + std::to_string(seed);
      if (!j.contains("checkpoint")) j["checkpoint"] = {{"every", 0}, {"keep", 1}};
      PlannedRun run;
      run.experiment = e.name;
      run.variant = v.name;
      run.seed = seed;
      run.undoInit = v.undoInit;
      run.dependencyOnly = node.dependencyOnly;
      std::string fromHash;
      if (!v.from.empty()) {
        std::string exp, variant;
        splitRef(v.from, exp, variant);
        for (std::size_t i = 0; i < plan.size(); ++i)
          if (plan[i].experiment == exp && plan[i].variant == variant && plan[i].seed == seed)
            run.fromIndex = static_cast<int>(i);
        const PlannedRun& from = plan.at(run.fromIndex);  // planned before: addNode's order
        fromHash = from.hash;
        j["model"] = {
            {"checkpoint", fs::absolute(from.config.outDir /
                                        ("checkpoint-" + std::to_string(from.config.train.steps)))
                               .string()}};
        if (!v.undoInit.empty()) j["model"]["undo_init"] = v.undoInit;
      }
      try {
        run.config = experimentFromJson(j, v.base.string());
        if (!run.config.isGrpo()) {
          DeviationSettings::fromJson(run.config.deviation, v.base.string() + ": [deviation]");
          Curriculum::fromJson(run.config.curriculum, v.base.string() + ": [curriculum]");
          makeExampleSource(run.config.data, run.config.seed, v.base.parent_path(),
                            v.base.string() + ": [data]");
        }
      } catch (const Error& err) {
        throw Error(where + " with the overrides applied: " + err.what());
      }
      run.hash = configHash(run.config, fromHash);
      run.recoveryEvents = v.recoveryEvents;
      // A fresh UNDO row (the config's undo_init alone does not re-initialise an existing one)
      // and what the run measures at its end are part of its identity.
      if (!v.undoInit.empty())
        run.hash = sha256Hex(run.hash + ":reinit_undo=" + v.undoInit).substr(0, 16);
      if (v.recoveryEvents > 0)
        run.hash = sha256Hex(run.hash + ":recovery_events=" + std::to_string(v.recoveryEvents))
                       .substr(0, 16);
      run.computeMatched = v.computeMatched;
      if (v.computeMatched > 0)
        run.hash = sha256Hex(run.hash + ":compute_matched=" + std::to_string(v.computeMatched))
                       .substr(0, 16);
      run.naturalSamples = v.naturalSamples;
      if (v.naturalSamples > 0)
        run.hash = sha256Hex(run.hash + ":natural_samples=" + std::to_string(v.naturalSamples))
                       .substr(0, 16);
      run.evaluateOnly = v.evaluateOnly;
      if (v.evaluateOnly) run.hash = sha256Hex(run.hash + ":evaluate_only").substr(0, 16);
      run.config.outDir = outRoot / e.name / v.name /
                          ("seed-" + std::to_string(seed) + "-" + run.hash.substr(0, 8));
      run.tags = {"suite:" + suite.name,          "exp:" + e.name, "variant:" + v.name,
                  "seed:" + std::to_string(seed), "size:" + size,  "cfg:" + run.hash};
      plan.push_back(std::move(run));
    }
  }
  return plan;
}

}  // namespace nmar::core
