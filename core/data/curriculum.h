#pragma once
/**
 * @file Curriculum schedules for deviation injection: difficulty grows along the number of
 * backtrack events per example and the deviation length, stage by stage, by step count or by
 * competence (held-out detection rate); "none" mixes all stages uniformly, as a baseline.
 */
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmar::core {

/** One stage of a curriculum. */
struct CurriculumStage {
  int events = 1;              ///< backtrack events per example with deviations
  int maxDeviationLength = 1;  ///< cap on the length of each deviation
  std::int64_t steps = 0;      ///< optimiser steps in this stage (0: open-ended)
  double competence = 0.0;     ///< advance when held-out detection rate >= this (0: by steps)

  /** Field-wise equality. */
  bool operator==(const CurriculumStage& o) const {
    return events == o.events && maxDeviationLength == o.maxDeviationLength && steps == o.steps &&
           competence == o.competence;
  }
};

/** How a curriculum moves through its stages. */
enum class CurriculumKind {
  kNone,        ///< no schedule: each draw picks one stage's (events, length) uniformly
  kSteps,       ///< a stage lasts its `steps` optimiser steps
  kCompetence,  ///< a stage ends when competence is reached (or its `steps`, when > 0, ran out)
};

/** "none", "steps", "competence". */
std::string curriculumKindName(CurriculumKind kind);

/**
 * A stage schedule. Steps are the numbers the trainer passes to onStep() (one call per optimiser
 * step, increasing); a stage that begins at step s and lasts n steps ends at onStep(s + n), so the
 * examples drawn after that call get the next stage. The last stage never ends. Not thread-safe.
 */
class Curriculum {
 public:
  /**
   * No curriculum: kind none with one stage {events 0, max length 0}, so draw() returns {0, 0},
   * which DeviationInjector::maybeInject() reads as "no override" (the deviation settings'
   * min/max events and lengths apply).
   */
  Curriculum();

  /**
   * Reads {"kind": "none" | "steps" | "competence" (default "steps"), "stages": [{"events" (1..64),
   * "max_length" (1..64), "steps" (>= 0), "competence" (0..1)}, ...] (at least one), "min_steps":
   * (>= 0; competence: the fewest steps a stage runs before competence may end it)}. Kind steps
   * needs steps > 0 on every stage but the last; kind competence needs competence > 0 or steps > 0
   * on every stage but the last. Null or an empty object (a config without a curriculum section)
   * gives Curriculum(). Throws Error "<where>: field 'stages[1].steps': ..." naming the field.
   */
  static Curriculum fromJson(const nlohmann::json& j, const std::string& where);

  /** The JSON fromJson reads ({} for Curriculum()). */
  nlohmann::json toJson() const;

  /** False for Curriculum(): its draws override nothing. */
  bool overrides() const { return m_stages.front().events > 0; }

  /** What the next example gets (deviations: events, and the cap on their length; 0: no override).
   */
  struct Draw {
    int events;     ///< backtrack events (0: the deviation settings decide)
    int maxLength;  ///< cap on each deviation's length (0: no cap)
  };

  /**
   * The current stage's (events, max length); for kind none, a stage drawn uniformly (one draw
   * from @p rng; the other kinds draw nothing).
   */
  Draw draw(std::mt19937_64& rng) const;

  /** The trainer calls this once per optimiser step, with the step's number. */
  void onStep(std::int64_t step);

  /**
   * Reports a held-out detection rate measured at @p step. Kind competence: the stage ends when
   * @p detectionRate >= its competence (> 0) and it has run at least min_steps steps.
   */
  void reportCompetence(double detectionRate, std::int64_t step);

  /** The current stage (0-based); 0 for kind none. */
  int stageIndex() const { return m_stage; }
  /** The number of stages (at least 1). */
  int stageCount() const { return static_cast<int>(m_stages.size()); }
  /** The stages in order. */
  const std::vector<CurriculumStage>& stages() const { return m_stages; }
  /** How the curriculum moves through its stages. */
  CurriculumKind kind() const { return m_kind; }
  /** The step at which the current stage began. */
  std::int64_t stageStart() const { return m_stageStart; }

  /** One line: "steps curriculum: stage 2/3 (events 2, max length 1), since step 1000". */
  std::string describe() const;

  /** {"kind", "stage", "stage_start", "stages", "last_competence"}: for resume. */
  nlohmann::json state() const;

  /**
   * Continues from @p state. Throws Error "curriculum state: ..." when it was saved by a
   * curriculum of another kind or stage count, or is malformed; nothing changes then.
   */
  void restore(const nlohmann::json& state);

 private:
  void advance(std::int64_t at);

  CurriculumKind m_kind = CurriculumKind::kNone;
  std::vector<CurriculumStage> m_stages;
  std::int64_t m_minSteps = 0;
  int m_stage = 0;
  std::int64_t m_stageStart = 0;
  double m_lastCompetence = -1.0;  // -1: none reported
};

}  // namespace nmar::core
