// JSON encoding and decoding of traces (the layout is documented in trace.h).
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "trace/trace.h"
#include "util/error.h"

namespace nmar::core {

using nlohmann::json;

namespace {

/** The shortest decimal that reads back as the same float: keeps attention arrays compact. */
double compactFloat(float value) {
  if (!std::isfinite(value)) return static_cast<double>(value);
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  double out = 0.0;
  std::from_chars(buffer, result.ptr, out);
  return out;
}

/** Reads the fields of one JSON object, with messages prefixed by "<source>: [step k: ]". */
class FieldReader {
 public:
  FieldReader(const json& object, std::string where, const char* what) : m_where(std::move(where)) {
    if (!object.is_object()) {
      throw Error(m_where + "expected " + what + " (a JSON object), got " + object.type_name());
    }
    m_object = &object;
  }

  void rejectUnknown(const std::set<std::string>& known) const {
    for (const auto& item : m_object->items()) {
      if (known.count(item.key()) == 0) {
        throw Error(m_where + "unknown field '" + item.key() + "'");
      }
    }
  }

  /** The value of @p key, or nullptr when it is absent or null. */
  const json* optional(const char* key) const {
    const auto it = m_object->find(key);
    if (it == m_object->end() || it->is_null()) return nullptr;
    return &*it;
  }

  const json& required(const char* key) const {
    const json* value = optional(key);
    if (value == nullptr) throw Error(m_where + "missing field '" + key + "'");
    return *value;
  }

  [[noreturn]] void wrongType(const char* key, const char* expected, const json& value) const {
    throw Error(m_where + "field '" + key + "': expected " + expected + ", got " +
                value.type_name());
  }

  std::int64_t integer(const char* key, const json& value) const {
    if (value.is_number_unsigned()) {
      if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
        throw Error(m_where + "field '" + key + "': integer out of range");
      }
      return static_cast<std::int64_t>(value.get<std::uint64_t>());
    }
    if (!value.is_number_integer()) wrongType(key, "an integer", value);
    return value.get<std::int64_t>();
  }

  int intField(const char* key) const {
    const std::int64_t v = integer(key, required(key));
    if (v < INT32_MIN || v > INT32_MAX) {
      throw Error(m_where + "field '" + key + "': " + std::to_string(v) + " is out of range");
    }
    return static_cast<int>(v);
  }

  std::string string(const char* key, bool isRequired) const {
    const json* value = isRequired ? &required(key) : optional(key);
    if (value == nullptr) return {};
    if (!value->is_string()) wrongType(key, "a string", *value);
    return value->get<std::string>();
  }

  std::optional<double> number(const char* key) const {
    const json* value = optional(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_number()) wrongType(key, "a number", *value);
    return value->get<double>();
  }

  std::vector<std::int64_t> idList(const char* key) const {
    const json& value = required(key);
    if (!value.is_array()) wrongType(key, "an array of token ids", value);
    std::vector<std::int64_t> ids;
    ids.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
      const json& id = value[i];
      if (!id.is_number_integer()) {
        throw Error(m_where + "field '" + key + "'[" + std::to_string(i) +
                    "]: expected an integer token id, got " + id.type_name());
      }
      ids.push_back(integer(key, id));
    }
    return ids;
  }

  json objectOrNull(const char* key) const {
    const json* value = optional(key);
    if (value == nullptr) return nullptr;
    if (!value->is_object()) wrongType(key, "an object", *value);
    return *value;
  }

  const std::string& where() const { return m_where; }

 private:
  const json* m_object = nullptr;
  std::string m_where;
};

std::vector<TopKEntry> readTopK(const FieldReader& r) {
  std::vector<TopKEntry> topk;
  const json* value = r.optional("topk");
  if (value == nullptr) return topk;
  if (!value->is_array()) r.wrongType("topk", "an array of [id, prob] pairs", *value);
  for (std::size_t i = 0; i < value->size(); ++i) {
    const json& pair = (*value)[i];
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_integer() ||
        !pair[1].is_number()) {
      throw Error(r.where() + "field 'topk'[" + std::to_string(i) +
                  "]: expected an [id, prob] pair, got " + pair.dump());
    }
    topk.push_back({r.integer("topk", pair[0]), pair[1].get<double>()});
  }
  return topk;
}

StepAttention readAttention(const FieldReader& r) {
  StepAttention attention;
  const json* value = r.optional("attention");
  if (value == nullptr) return attention;
  const std::string field = r.where() + "field 'attention'";
  if (!value->is_array()) r.wrongType("attention", "an array [layer][head][key]", *value);
  for (std::size_t l = 0; l < value->size(); ++l) {
    const json& layer = (*value)[l];
    const std::string at = field + "[" + std::to_string(l) + "]";
    if (!layer.is_array() || layer.empty()) {
      throw Error(at + ": expected a non-empty array of heads, got " + layer.type_name());
    }
    if (l == 0) {
      attention.heads = static_cast<int>(layer.size());
      attention.keys = layer[0].is_array() ? static_cast<int>(layer[0].size()) : 0;
    }
    if (static_cast<int>(layer.size()) != attention.heads) {
      throw Error(at + ": has " + std::to_string(layer.size()) + " heads, layer 0 has " +
                  std::to_string(attention.heads));
    }
    std::vector<float> values;
    values.reserve(static_cast<std::size_t>(attention.heads * attention.keys));
    for (std::size_t h = 0; h < layer.size(); ++h) {
      const json& row = layer[h];
      if (!row.is_array() || static_cast<int>(row.size()) != attention.keys) {
        throw Error(at + "[" + std::to_string(h) + "]: expected an array of " +
                    std::to_string(attention.keys) + " numbers (one per visible key)");
      }
      for (const json& p : row) {
        if (!p.is_number()) {
          throw Error(at + "[" + std::to_string(h) + "]: expected numbers, got " + p.type_name());
        }
        values.push_back(p.get<float>());
      }
    }
    attention.layers.push_back(std::move(values));
  }
  return attention;
}

TraceStep readStep(const json& value, const std::string& source, std::size_t k) {
  const FieldReader r(value, source + ": step " + std::to_string(k) + ": ", "a step");
  r.rejectUnknown({"kind", "token", "popped", "text", "position", "depth", "forced", "logprob",
                   "topk", "entropy", "attention", "verifier_score", "verifier"});
  TraceStep step;
  const std::string kind = r.string("kind", true);
  if (kind == "push") {
    step.kind = StepKind::kPush;
  } else if (kind == "pop") {
    step.kind = StepKind::kPop;
  } else {
    throw Error(r.where() + "field 'kind': '" + kind + "' is neither 'push' nor 'pop'");
  }
  step.token = r.integer("token", r.required("token"));
  if (step.kind == StepKind::kPop) {
    step.popped = r.integer("popped", r.required("popped"));
  } else if (r.optional("popped") != nullptr) {
    throw Error(r.where() + "field 'popped': only a pop step has one");
  }
  step.text = r.string("text", false);
  step.position = r.intField("position");
  step.depth = r.intField("depth");
  if (const json* forced = r.optional("forced")) {
    if (!forced->is_boolean()) r.wrongType("forced", "a boolean", *forced);
    step.forced = forced->get<bool>();
  }
  step.logprob = r.number("logprob");
  step.entropy = r.number("entropy");
  step.topk = readTopK(r);
  step.attention = readAttention(r);
  step.verifierScore = r.number("verifier_score");
  if (const json* verifier = r.optional("verifier")) {
    if (!verifier->is_boolean()) r.wrongType("verifier", "a boolean", *verifier);
    step.verifier = verifier->get<bool>();
  }
  return step;
}

}  // namespace

json stepToJson(const TraceStep& step) {
  json j = json::object();
  j["kind"] = step.kind == StepKind::kPush ? "push" : "pop";
  j["token"] = step.token;
  if (step.kind == StepKind::kPop) j["popped"] = step.popped;
  j["text"] = step.text;
  j["position"] = step.position;
  j["depth"] = step.depth;
  j["forced"] = step.forced;
  if (step.logprob) j["logprob"] = *step.logprob;
  if (!step.topk.empty()) {
    json topk = json::array();
    for (const TopKEntry& e : step.topk) topk.push_back(json::array({e.id, e.prob}));
    j["topk"] = std::move(topk);
  }
  if (step.entropy) j["entropy"] = *step.entropy;
  if (step.verifierScore) j["verifier_score"] = *step.verifierScore;
  if (step.verifier) j["verifier"] = true;
  if (!step.attention.empty()) {
    const StepAttention& a = step.attention;
    json layers = json::array();
    for (const std::vector<float>& layer : a.layers) {
      json heads = json::array();
      for (int h = 0; h < a.heads; ++h) {
        json row = json::array();
        for (int key = 0; key < a.keys; ++key) {
          row.push_back(compactFloat(layer[static_cast<std::size_t>(h * a.keys + key)]));
        }
        heads.push_back(std::move(row));
      }
      layers.push_back(std::move(heads));
    }
    j["attention"] = std::move(layers);
  }
  return j;
}

json toJson(const Trace& trace) {
  json j = json::object();
  j["format"] = kTraceFormat;
  j["model"] = trace.model;
  j["tokenizer"] = trace.tokenizer;
  j["mode"] = traceModeName(trace.mode);
  j["sampler"] = trace.sampler.is_null() ? json::object() : trace.sampler;
  j["seed"] = trace.seed;
  j["prompt_ids"] = trace.promptIds;
  j["prompt_text"] = trace.promptText;
  j["undo_id"] = trace.undoId;
  j["eos_id"] = trace.eosId;
  json steps = json::array();
  for (const TraceStep& step : trace.steps) steps.push_back(stepToJson(step));
  j["steps"] = std::move(steps);
  j["output_ids"] = trace.outputIds;
  j["output_text"] = trace.outputText;
  if (!trace.verdict.is_null()) j["verdict"] = trace.verdict;
  if (!trace.rewards.is_null()) j["rewards"] = trace.rewards;
  if (!trace.meta.is_null()) j["meta"] = trace.meta;
  return j;
}

Trace traceFromJson(const json& value, const std::string& source) {
  const FieldReader r(value, source + ": ", "a trace");
  const std::string format = r.string("format", true);
  if (format != kTraceFormat) {
    throw Error(source + ": field 'format': '" + format + "' is not a supported trace format " +
                "(expected '" + kTraceFormat + "')");
  }
  r.rejectUnknown({"format", "model", "tokenizer", "mode", "sampler", "seed", "prompt_ids",
                   "prompt_text", "undo_id", "eos_id", "steps", "output_ids", "output_text",
                   "verdict", "rewards", "meta"});
  Trace trace;
  trace.model = r.string("model", true);
  trace.tokenizer = r.string("tokenizer", true);
  trace.mode = parseTraceMode(r.string("mode", true), source + ": field 'mode'");
  trace.sampler = r.objectOrNull("sampler");
  if (trace.sampler.is_null()) trace.sampler = json::object();
  if (const json* seed = r.optional("seed")) {
    if (!seed->is_number_unsigned()) r.wrongType("seed", "a non-negative integer", *seed);
    trace.seed = seed->get<std::uint64_t>();
  }
  trace.promptIds = r.idList("prompt_ids");
  trace.promptText = r.string("prompt_text", false);
  trace.undoId = r.integer("undo_id", r.required("undo_id"));
  trace.eosId = r.integer("eos_id", r.required("eos_id"));
  const json& steps = r.required("steps");
  if (!steps.is_array()) r.wrongType("steps", "an array of steps", steps);
  trace.steps.reserve(steps.size());
  for (std::size_t k = 0; k < steps.size(); ++k)
    trace.steps.push_back(readStep(steps[k], source, k));
  trace.outputIds = r.idList("output_ids");
  trace.outputText = r.string("output_text", false);
  if (const json* verdict = r.optional("verdict")) trace.verdict = *verdict;
  trace.rewards = r.objectOrNull("rewards");
  trace.meta = r.objectOrNull("meta");
  validateTrace(trace, source);
  return trace;
}

}  // namespace nmar::core
