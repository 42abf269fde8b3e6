#include "data/example_source.h"

#include <cstdio>

#include "data/config_reader.h"
#include "data/jsonl_dataset.h"
#include "data/random.h"
#include "util/error.h"

namespace nmar::core {

namespace {

constexpr const char* kStateWhere = "example source state";

std::uint64_t splitMix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/** FNV-1a over the texts of every example, as 16 hex digits. */
std::string fingerprintOf(const std::vector<Example>& examples) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    h = (h ^ 0xffu) * 0x100000001b3ULL;  // separator
  };
  for (const Example& ex : examples) {
    mix(ex.prompt);
    mix(ex.completion);
    mix(ex.answer);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

/** state[key] as an unsigned integer; Error naming the field otherwise. */
std::uint64_t stateUint(const nlohmann::json& state, const char* key) {
  if (!state.is_object() || !state.contains(key))
    throw Error(std::string(kStateWhere) + ": field '" + key + "' is missing");
  const nlohmann::json& v = state.at(key);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
    throw Error(std::string(kStateWhere) + ": field '" + key +
                "': expected a non-negative integer, got " + jsonTypeName(v));
  return v.get<std::uint64_t>();
}

std::string stateString(const nlohmann::json& state, const char* key) {
  if (!state.is_object() || !state.contains(key) || !state.at(key).is_string())
    throw Error(std::string(kStateWhere) + ": field '" + key + "' is missing or not a string");
  return state.at(key).get<std::string>();
}

void requireKind(const nlohmann::json& state, const std::string& kind) {
  if (!state.is_object())
    throw Error(std::string(kStateWhere) + ": expected an object, got " + jsonTypeName(state));
  const std::string got = stateString(state, "kind");
  if (got != kind)
    throw Error(std::string(kStateWhere) + ": saved by a " + got + " source, this is a " + kind +
                " source");
}

}  // namespace

ExampleSource::~ExampleSource() = default;

// --- TaskSource ---

TaskSource::TaskSource(std::shared_ptr<const Task> task, std::uint64_t seed, int minDifficulty,
                       int maxDifficulty)
    : m_task(std::move(task)),
      m_seed(seed),
      m_min(minDifficulty),
      m_max(maxDifficulty),
      m_rng(seed) {
  if (!m_task) throw Error("task source: no task");
  if (m_min > m_max || m_min < m_task->minDifficulty() || m_max > m_task->maxDifficulty())
    throw Error("task source: difficulty range " + std::to_string(m_min) + ".." +
                std::to_string(m_max) + " is empty or outside the range of task '" +
                m_task->name() + "' (" + std::to_string(m_task->minDifficulty()) + ".." +
                std::to_string(m_task->maxDifficulty()) + ")");
}

Example TaskSource::next() {
  const int d = static_cast<int>(uniformInt(m_rng, m_min, m_max));
  ++m_count;
  return m_task->generate(m_rng, d);
}

nlohmann::json TaskSource::state() const {
  return {{"kind", "task"},
          {"task", m_task->name()},
          {"seed", m_seed},
          {"min_difficulty", m_min},
          {"max_difficulty", m_max},
          {"count", m_count},
          {"rng", rngStateText(m_rng)}};
}

void TaskSource::restore(const nlohmann::json& state) {
  requireKind(state, "task");
  const std::string task = stateString(state, "task");
  if (task != m_task->name())
    throw Error(std::string(kStateWhere) + ": saved for task '" + task + "', this source runs '" +
                m_task->name() + "'");
  const std::uint64_t lo = stateUint(state, "min_difficulty");
  const std::uint64_t hi = stateUint(state, "max_difficulty");
  if (lo != static_cast<std::uint64_t>(m_min) || hi != static_cast<std::uint64_t>(m_max))
    throw Error(std::string(kStateWhere) + ": saved for difficulty " + std::to_string(lo) + ".." +
                std::to_string(hi) + ", this source uses " + std::to_string(m_min) + ".." +
                std::to_string(m_max));
  const std::uint64_t seed = stateUint(state, "seed");
  const std::uint64_t count = stateUint(state, "count");
  std::mt19937_64 rng;
  restoreRngState(rng, stateString(state, "rng"), std::string(kStateWhere) + ": field 'rng'");
  m_seed = seed;
  m_count = count;
  m_rng = rng;
}

std::string TaskSource::describe() const {
  const std::string range =
      m_min == m_max ? std::to_string(m_min) : std::to_string(m_min) + ".." + std::to_string(m_max);
  return m_task->name() + " " + m_task->params().dump() + ", difficulty " + range + ", seed " +
         std::to_string(m_seed) + ", " + std::to_string(m_count) + " drawn";
}

// --- DatasetSource ---

DatasetSource::DatasetSource(std::vector<Example> examples, std::uint64_t seed, std::string name)
    : m_examples(std::move(examples)), m_seed(seed), m_name(std::move(name)) {
  if (m_examples.empty()) throw Error("dataset source '" + m_name + "': no examples");
  m_fingerprint = fingerprintOf(m_examples);
  shuffle();
}

void DatasetSource::shuffle() {
  m_order.resize(m_examples.size());
  for (std::size_t i = 0; i < m_order.size(); ++i) m_order[i] = i;
  std::mt19937_64 rng(splitMix(m_seed ^ splitMix(m_epoch + 1)));
  for (std::size_t i = m_order.size(); i > 1; --i)
    std::swap(
        m_order[i - 1],
        m_order[static_cast<std::size_t>(uniformInt(rng, 0, static_cast<std::int64_t>(i) - 1))]);
}

Example DatasetSource::next() {
  if (m_index >= m_order.size()) {
    ++m_epoch;
    m_index = 0;
    shuffle();
  }
  return m_examples[m_order[m_index++]];
}

nlohmann::json DatasetSource::state() const {
  return {{"kind", "dataset"},         {"seed", m_seed},
          {"epoch", m_epoch},          {"index", m_index},
          {"size", m_examples.size()}, {"fingerprint", m_fingerprint}};
}

void DatasetSource::restore(const nlohmann::json& state) {
  requireKind(state, "dataset");
  const std::uint64_t size = stateUint(state, "size");
  if (size != m_examples.size())
    throw Error(std::string(kStateWhere) + ": saved for a dataset of " + std::to_string(size) +
                " examples, '" + m_name + "' has " + std::to_string(m_examples.size()));
  const std::string fingerprint = stateString(state, "fingerprint");
  if (fingerprint != m_fingerprint)
    throw Error(std::string(kStateWhere) + ": saved for other examples than those of '" + m_name +
                "' (fingerprint " + fingerprint + ", now " + m_fingerprint + ")");
  const std::uint64_t index = stateUint(state, "index");
  if (index > size)
    throw Error(std::string(kStateWhere) + ": field 'index' " + std::to_string(index) +
                " is beyond the dataset's " + std::to_string(size) + " examples");
  m_seed = stateUint(state, "seed");
  m_epoch = stateUint(state, "epoch");
  m_index = index;
  shuffle();
}

std::string DatasetSource::describe() const {
  return m_name + " (" + std::to_string(m_examples.size()) + " examples), seed " +
         std::to_string(m_seed) + ", epoch " + std::to_string(m_epoch) + ", next " +
         std::to_string(m_index);
}

// --- from a config section ---

std::unique_ptr<ExampleSource> makeExampleSource(const nlohmann::json& cfg, std::uint64_t seed,
                                                 const std::filesystem::path& baseDir,
                                                 const std::string& where) {
  ConfigReader r(cfg, where);
  const bool hasTask = r.has("task"), hasJsonl = r.has("jsonl");
  if (hasTask == hasJsonl)
    throw Error(where +
                ": expected exactly one of field 'task' (a built-in task) or field "
                "'jsonl' (a dataset file)" +
                (hasTask ? std::string(", got both") : std::string(", got neither")));
  if (hasJsonl) {
    const std::string file = r.string("jsonl", "");
    r.rejectUnknown();
    if (file.empty()) r.fail("jsonl", "expected a file name, got an empty string");
    std::filesystem::path path(file);
    if (path.is_relative()) path = baseDir / path;
    return std::make_unique<DatasetSource>(loadJsonlDataset(path), seed, path.string());
  }
  const std::string name = r.string("task", "");
  std::shared_ptr<const Task> task;
  try {
    task = makeTask(name, r.raw("params"));
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  const int lo = task->minDifficulty(), hi = task->maxDifficulty();
  int minD = lo, maxD = hi;
  if (r.has("difficulty")) {
    if (r.has("min_difficulty") || r.has("max_difficulty"))
      r.fail("difficulty", "give either difficulty or min_difficulty/max_difficulty, not both");
    minD = maxD = static_cast<int>(r.integer("difficulty", lo, lo, hi));
  } else {
    minD = static_cast<int>(r.integer("min_difficulty", lo, lo, hi));
    maxD = static_cast<int>(r.integer("max_difficulty", hi, lo, hi));
    if (minD > maxD)
      r.fail("max_difficulty", "expected at least min_difficulty (" + std::to_string(minD) +
                                   "), got " + std::to_string(maxD));
  }
  r.rejectUnknown();
  return std::make_unique<TaskSource>(task, seed, minD, maxD);
}

}  // namespace nmar::core
