#include "data/curriculum.h"

#include <sstream>

#include "data/config_reader.h"
#include "data/random.h"
#include "util/error.h"

namespace nmar::core {

namespace {
constexpr const char* kStateWhere = "curriculum state";
}  // namespace

std::string curriculumKindName(CurriculumKind kind) {
  switch (kind) {
    case CurriculumKind::kNone:
      return "none";
    case CurriculumKind::kSteps:
      return "steps";
    case CurriculumKind::kCompetence:
      return "competence";
  }
  return "none";
}

Curriculum::Curriculum() : m_stages{CurriculumStage{0, 0, 0, 0.0}} {}

Curriculum Curriculum::fromJson(const nlohmann::json& j, const std::string& where) {
  if (j.is_null() || (j.is_object() && j.empty())) return Curriculum();
  ConfigReader r(j, where);
  Curriculum c;
  const std::string kind = r.string("kind", "steps", {"none", "steps", "competence"});
  c.m_kind = kind == "none"    ? CurriculumKind::kNone
             : kind == "steps" ? CurriculumKind::kSteps
                               : CurriculumKind::kCompetence;
  c.m_minSteps = r.integer("min_steps", 0, 0, INT64_MAX);
  const nlohmann::json& stages = r.raw("stages");
  if (!stages.is_array() || stages.empty())
    r.fail("stages",
           "expected a non-empty array of stages {\"events\", \"max_length\", ...}, got " +
               (stages.is_array() ? std::string("an empty array") : jsonTypeName(stages)));
  c.m_stages.clear();
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const std::string name = "stages[" + std::to_string(i) + "]";
    ConfigReader s(stages[i], where, name);
    CurriculumStage st;
    st.events = static_cast<int>(s.integer("events", 1, 1, 64));
    st.maxDeviationLength = static_cast<int>(s.integer("max_length", 1, 1, 64));
    st.steps = s.integer("steps", 0, 0, INT64_MAX);
    st.competence = s.number("competence", 0.0, 0.0, 1.0);
    s.rejectUnknown();
    const bool last = i + 1 == stages.size();
    if (!last && c.m_kind == CurriculumKind::kSteps && st.steps == 0)
      s.fail("steps",
             "expected > 0 (every stage but the last needs a step count in a steps "
             "curriculum)");
    if (!last && c.m_kind == CurriculumKind::kCompetence && st.steps == 0 && st.competence == 0.0)
      s.fail("competence", "expected > 0, or steps > 0 (a stage must be able to end)");
    c.m_stages.push_back(st);
  }
  r.rejectUnknown();
  return c;
}

nlohmann::json Curriculum::toJson() const {
  if (!overrides()) return nlohmann::json::object();
  nlohmann::json stages = nlohmann::json::array();
  for (const CurriculumStage& s : m_stages)
    stages.push_back({{"events", s.events},
                      {"max_length", s.maxDeviationLength},
                      {"steps", s.steps},
                      {"competence", s.competence}});
  return {{"kind", curriculumKindName(m_kind)}, {"min_steps", m_minSteps}, {"stages", stages}};
}

Curriculum::Draw Curriculum::draw(std::mt19937_64& rng) const {
  const CurriculumStage& s = m_kind == CurriculumKind::kNone
                                 ? m_stages[static_cast<std::size_t>(uniformInt(
                                       rng, 0, static_cast<std::int64_t>(m_stages.size()) - 1))]
                                 : m_stages[static_cast<std::size_t>(m_stage)];
  return {s.events, s.maxDeviationLength};
}

void Curriculum::advance(std::int64_t at) {
  ++m_stage;
  m_stageStart = at;
}

void Curriculum::onStep(std::int64_t step) {
  if (m_kind == CurriculumKind::kNone) return;
  // Several stages may end at once when steps jump; each keeps its exact length.
  while (m_stage + 1 < stageCount()) {
    const CurriculumStage& s = m_stages[static_cast<std::size_t>(m_stage)];
    if (s.steps <= 0 || step - m_stageStart < s.steps) break;
    advance(m_stageStart + s.steps);
  }
}

void Curriculum::reportCompetence(double detectionRate, std::int64_t step) {
  m_lastCompetence = detectionRate;
  if (m_kind != CurriculumKind::kCompetence || m_stage + 1 >= stageCount()) return;
  const CurriculumStage& s = m_stages[static_cast<std::size_t>(m_stage)];
  if (s.competence > 0.0 && detectionRate >= s.competence && step - m_stageStart >= m_minSteps)
    advance(step);
}

std::string Curriculum::describe() const {
  if (!overrides()) return "no curriculum (the deviation settings decide events and lengths)";
  std::ostringstream out;
  out << curriculumKindName(m_kind) << " curriculum: ";
  if (m_kind == CurriculumKind::kNone) {
    out << "uniform over " << stageCount() << (stageCount() == 1 ? " stage" : " stages");
    return out.str();
  }
  const CurriculumStage& s = m_stages[static_cast<std::size_t>(m_stage)];
  out << "stage " << m_stage + 1 << "/" << stageCount() << " (events " << s.events
      << ", max length " << s.maxDeviationLength << "), since step " << m_stageStart;
  if (m_lastCompetence >= 0.0) out << ", last detection rate " << m_lastCompetence;
  return out.str();
}

nlohmann::json Curriculum::state() const {
  return {{"kind", curriculumKindName(m_kind)},
          {"stage", m_stage},
          {"stage_start", m_stageStart},
          {"stages", stageCount()},
          {"last_competence", m_lastCompetence}};
}

void Curriculum::restore(const nlohmann::json& state) {
  const auto fail = [](const std::string& why) {
    throw Error(std::string(kStateWhere) + ": " + why);
  };
  if (!state.is_object()) fail("expected an object, got " + jsonTypeName(state));
  for (const char* key : {"kind", "stage", "stage_start", "stages", "last_competence"})
    if (!state.contains(key)) fail(std::string("field '") + key + "' is missing");
  if (!state["kind"].is_string() || !state["stage"].is_number_integer() ||
      !state["stage_start"].is_number_integer() || !state["stages"].is_number_integer() ||
      !state["last_competence"].is_number())
    fail(
        "a field has the wrong type (expected kind: string, stage, stage_start, stages: "
        "integers, last_competence: number)");
  const std::string kind = state["kind"].get<std::string>();
  if (kind != curriculumKindName(m_kind))
    fail("saved by a '" + kind + "' curriculum, this one is '" + curriculumKindName(m_kind) + "'");
  const auto stages = state["stages"].get<std::int64_t>();
  if (stages != stageCount())
    fail("saved by a curriculum of " + std::to_string(stages) + " stages, this one has " +
         std::to_string(stageCount()));
  const auto stage = state["stage"].get<std::int64_t>();
  if (stage < 0 || stage >= stageCount())
    fail("field 'stage' " + std::to_string(stage) + " is outside [0, " +
         std::to_string(stageCount()) + ")");
  m_stage = static_cast<int>(stage);
  m_stageStart = state["stage_start"].get<std::int64_t>();
  m_lastCompetence = state["last_competence"].get<double>();
}

}  // namespace nmar::core
