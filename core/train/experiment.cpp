#include "train/experiment.h"

#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "data/config_reader.h"
#include "util/error.h"
#include "util/json_file.h"

namespace nmar::core {
namespace {

nlohmann::json tomlToJson(const toml::node& node) {
  if (auto* t = node.as_table()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto&& [k, v] : *t) out[std::string(k.str())] = tomlToJson(v);
    return out;
  }
  if (auto* a = node.as_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (auto&& v : *a) out.push_back(tomlToJson(v));
    return out;
  }
  if (auto* v = node.as_string()) return v->get();
  if (auto* v = node.as_integer()) return v->get();
  if (auto* v = node.as_floating_point()) return v->get();
  if (auto* v = node.as_boolean()) return v->get();
  // Dates and times: kept as their TOML text.
  std::ostringstream s;
  if (auto* v = node.as_date()) s << v->get();
  else if (auto* v = node.as_time()) s << v->get();
  else if (auto* v = node.as_date_time()) s << v->get();
  return s.str();
}

/** A table of the experiment (absent: empty), read with messages "FILE: [name]: field 'k': ...". */
class Section : public ConfigReader {
 public:
  Section(const nlohmann::json& root, const std::string& name, const std::string& file)
      : ConfigReader(root.contains(name) ? root.at(name) : kEmpty, file + ": [" + name + "]") {}

  bool flag(const std::string& key, bool fallback) {
    const nlohmann::json& v = raw(key);
    if (v.is_null()) return fallback;
    if (!v.is_boolean()) fail(key, "expected true or false, got " + jsonTypeName(v));
    return v.get<bool>();
  }

 private:
  static inline const nlohmann::json kEmpty = nlohmann::json::object();
};

/** A whole table handed on verbatim to its owner (data, deviation, curriculum check it). */
nlohmann::json table(const nlohmann::json& root, const std::string& name, const std::string& file) {
  if (!root.contains(name)) return nlohmann::json::object();
  if (!root.at(name).is_object()) throw Error(file + ": [" + name + "]: must be a table");
  return root.at(name);
}

constexpr std::int64_t kBig = std::int64_t{1} << 40;

const std::set<std::string> kSections = {"run",       "model",      "data",  "eval_data",
                                         "deviation", "curriculum", "optim", "train",
                                         "eval",      "checkpoint", "grpo",  "rewards",
                                         "detector"};

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  if (p.empty()) return {};
  std::filesystem::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

/** The grpo-only tables, and what a grpo run does not use. */
void readGrpo(const nlohmann::json& root, const std::string& where, ExperimentConfig& c) {
  for (const char* unused : {"deviation", "curriculum"}) {
    if (root.contains(unused)) {
      throw Error(where + ": [" + unused +
                  "]: not used by a grpo run (completions are sampled from the policy)");
    }
  }
  if (root.contains("train") && root.at("train").is_object()) {
    for (const char* unused : {"batch_size", "accumulation", "loss", "prompt_loss"}) {
      if (root.at("train").contains(unused)) {
        throw Error(where + ": [train]: field '" + unused +
                    "': not used by a grpo run (see [grpo] prompts_per_step, num_generations)");
      }
    }
  }
  c.grpo = GrpoSettings::fromJson(root.value("grpo", nlohmann::json::object()), where + ": [grpo]");
  c.rewards = RewardSettings::fromJson(root.value("rewards", nlohmann::json::object()),
                                       where + ": [rewards]");
}

/** [detector] (sft runs). */
void readDetector(const nlohmann::json& root, const std::string& where, ExperimentConfig& c) {
  if (!root.contains("detector")) return;
  if (c.isGrpo()) {
    throw Error(where + ": [detector]: only for an sft run (train a detector for a GRPO policy " +
                "with `nmar detector train`)");
  }
  Section d(root, "detector", where);
  DetectorSpec& s = c.detector;
  s.enabled = true;
  s.weight = d.number("weight", 0.5, 1e-6, 1e6);
  s.innerSize = static_cast<int>(d.integer("inner_size", 0, 0, 1 << 16));
  s.tau = d.number("tau", 0.5, 0.0, 1.0);
  s.detach = d.flag("detach", false);
  s.balance = d.flag("balance", true);
  s.evalTrigger = d.flag("eval_trigger", true);
  s.evalNatural = d.flag("eval_natural", true);
  d.rejectUnknown();
}

}  // namespace

nlohmann::json DetectorSpec::toJson() const {
  return {{"weight", weight},   {"inner_size", innerSize},      {"tau", tau},
          {"detach", detach},   {"balance", balance},           {"eval_trigger", evalTrigger},
          {"eval_natural", evalNatural}};
}

nlohmann::json ExperimentConfig::toJson() const {
  nlohmann::json j;
  j["run"] = {{"name", name},
              {"seed", seed},
              {"device", device},
              {"dtype", dtype},
              {"out_dir", outDir.string()}};
  j["model"] = {{"checkpoint", model.checkpoint.string()},
                {"family", model.family},
                {"preset", model.preset},
                {"config", model.overrides},
                {"undo_init", model.undoInit}};
  // Only when set, so that the configuration hashes of char-tokenizer runs stay what they were.
  if (!model.tokenizer.empty()) j["model"]["tokenizer"] = model.tokenizer.string();
  j["data"] = data;
  j["eval_data"] = evalData;
  j["deviation"] = deviation;
  j["curriculum"] = curriculum;
  j["optim"] = {{"lr", optim.schedule.peak},
                {"warmup", optim.schedule.warmupSteps},
                {"schedule", lrDecayName(optim.schedule.decay)},
                {"min_lr_ratio", optim.schedule.minRatio},
                {"beta1", optim.beta1},
                {"beta2", optim.beta2},
                {"eps", optim.eps},
                {"weight_decay", optim.weightDecay},
                {"clip", optim.clipNorm}};
  j["train"] = {{"steps", train.steps},
                {"batch_size", train.batchSize},
                {"accumulation", train.accumulation},
                {"mode", attentionModeName(train.mode)},
                {"loss", train.naive ? "naive" : "masked"},
                {"prompt_loss", train.promptLoss},
                {"log_every", train.logEvery}};
  j["eval"] = {{"every", eval.every},
               {"examples", eval.examples},
               {"max_new_tokens", eval.maxNewTokens},
               {"traces", eval.traces},
               {"seed", eval.seed}};
  j["checkpoint"] = {{"every", checkpoint.every}, {"keep", checkpoint.keep}};
  if (detector.enabled) j["detector"] = detector.toJson();
  if (isGrpo()) {
    j["run"]["kind"] = kind;
    j["grpo"] = grpo.toJson();
    j["rewards"] = rewards.toJson();
    for (const char* unused : {"batch_size", "accumulation", "loss", "prompt_loss"})
      j["train"].erase(unused);
    j.erase("deviation");
    j.erase("curriculum");
  }
  return j;
}

ExperimentConfig experimentFromJson(const nlohmann::json& root, const std::string& where) {
  if (!root.is_object()) throw Error(where + ": an experiment must be a table");
  for (auto& [k, v] : root.items()) {
    if (!kSections.count(k)) {
      throw Error(where + ": [" + k +
                  "]: unknown table (expected one of run, model, data, "
                  "eval_data, deviation, curriculum, optim, train, eval, checkpoint, grpo, "
                  "rewards, detector)");
    }
  }
  std::filesystem::path base = std::filesystem::path(where).parent_path();
  ExperimentConfig c;
  c.source = where;

  Section run(root, "run", where);
  c.name = run.string("name", std::filesystem::path(where).stem().string());
  const bool grpoTables = root.contains("grpo") || root.contains("rewards");
  c.kind = run.string("kind", grpoTables ? "grpo" : "sft", {"sft", "grpo"});
  if (!c.isGrpo() && grpoTables) {
    throw Error(where + ": [" + (root.contains("grpo") ? "grpo" : "rewards") +
                "]: only for a grpo run ([run].kind is \"sft\")");
  }
  if (c.name.empty()) run.fail("name", "must not be empty");
  c.seed = static_cast<std::uint64_t>(run.integer("seed", 0, 0, kBig));
  c.device = run.string("device", "cpu");
  c.dtype = run.string("dtype", "fp32", {"fp32", "bf16"});
  std::string out = run.string("out_dir", "");
  c.outDir = out.empty() ? std::filesystem::path("runs") / c.name : resolve(base, out);
  run.rejectUnknown();

  Section model(root, "model", where);
  c.model.checkpoint = resolve(base, model.string("checkpoint", ""));
  c.model.family = model.string("family", "llama", {"gpt2", "llama"});
  c.model.preset = model.string("preset", "tiny", {"tiny", "small"});
  if (model.has("config")) c.model.overrides = model.raw("config");
  if (!c.model.overrides.is_object())
    model.fail("config", "expected a table of config.json fields");
  c.model.undoInit = model.string("undo_init", "mean");
  c.model.tokenizer = resolve(base, model.string("tokenizer", ""));
  if (!c.model.tokenizer.empty() && !c.model.checkpoint.empty())
    model.fail("tokenizer", "only for a model built from scratch (the checkpoint brings its own)");
  model.rejectUnknown();

  c.data = table(root, "data", where);
  if (c.data.empty()) {
    throw Error(where + ": [data]: missing (set task = \"addition\" or jsonl = \"FILE\")");
  }
  c.evalData = table(root, "eval_data", where);
  for (nlohmann::json* d : {&c.data, &c.evalData}) {
    if (d->contains("jsonl") && (*d)["jsonl"].is_string()) {
      // Absolute: the trainers and the suite resolve a relative path against the file's folder
      // once more, which a relative `base` would double ("experiments/experiments/...").
      (*d)["jsonl"] =
          std::filesystem::absolute(resolve(base, (*d)["jsonl"].get<std::string>())).string();
    }
  }
  c.deviation = table(root, "deviation", where);
  c.curriculum = table(root, "curriculum", where);

  Section train(root, "train", where);
  c.train.steps = train.integer("steps", 1000, 1, kBig);
  c.train.batchSize = static_cast<int>(train.integer("batch_size", 32, 1, 1 << 16));
  c.train.accumulation = static_cast<int>(train.integer("accumulation", 1, 1, 1 << 16));
  c.train.mode = train.string("mode", "hard", {"hard", "soft"}) == "hard" ? AttentionMode::kHard
                                                                          : AttentionMode::kSoft;
  c.train.naive = train.string("loss", "masked", {"masked", "naive"}) == "naive";
  c.train.promptLoss = train.flag("prompt_loss", false);
  c.train.logEvery = static_cast<int>(train.integer("log_every", 10, 1, kBig));
  train.rejectUnknown();

  Section optim(root, "optim", where);
  c.optim.schedule.peak = optim.number("lr", 1e-3, 1e-12, 10.0);
  c.optim.schedule.warmupSteps = optim.integer("warmup", 0, 0, kBig);
  c.optim.schedule.decay =
      parseLrDecay(optim.string("schedule", "cosine", {"constant", "linear", "cosine"}), where);
  c.optim.schedule.minRatio = optim.number("min_lr_ratio", 0.1, 0.0, 1.0);
  c.optim.schedule.totalSteps = c.train.steps;
  c.optim.beta1 = optim.number("beta1", 0.9, 0.0, 0.999999);
  c.optim.beta2 = optim.number("beta2", 0.95, 0.0, 0.999999);
  c.optim.eps = optim.number("eps", 1e-8, 1e-30, 1.0);
  c.optim.weightDecay = optim.number("weight_decay", 0.01, 0.0, 10.0);
  c.optim.clipNorm = optim.number("clip", 1.0, 0.0, 1e9);
  optim.rejectUnknown();
  c.optim.schedule.validate(where + ": [optim]");

  Section eval(root, "eval", where);
  c.eval.every = eval.integer("every", 250, 0, kBig);
  c.eval.examples = static_cast<int>(eval.integer("examples", 64, 1, 1 << 20));
  c.eval.maxNewTokens = static_cast<int>(eval.integer("max_new_tokens", 0, 0, 1 << 20));
  c.eval.traces = static_cast<int>(eval.integer("traces", 4, 0, 1 << 20));
  c.eval.seed = static_cast<std::uint64_t>(
      eval.integer("seed", static_cast<std::int64_t>((c.seed + 1000003) % kBig), 0, kBig));
  eval.rejectUnknown();

  Section ckpt(root, "checkpoint", where);
  c.checkpoint.every = ckpt.integer("every", 0, 0, kBig);
  c.checkpoint.keep = static_cast<int>(ckpt.integer("keep", 2, 0, 1 << 20));
  ckpt.rejectUnknown();
  if (c.isGrpo()) readGrpo(root, where, c);
  readDetector(root, where, c);
  return c;
}

nlohmann::json tomlTextToJson(std::string_view text, const std::filesystem::path& source) {
  toml::table table;
  try {
    table = toml::parse(text, source.string());
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw Error(source.string() + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                ": TOML syntax error: " + std::string(e.description()));
  }
  return tomlToJson(table);
}

ExperimentConfig parseExperiment(std::string_view text, const std::filesystem::path& source) {
  return experimentFromJson(tomlTextToJson(text, source), source.string());
}

ExperimentConfig loadExperiment(const std::filesystem::path& file) {
  std::string text = readFileBytes(file, "experiment file '" + file.string() + "'");
  return parseExperiment(text, file);
}

}  // namespace nmar::core
