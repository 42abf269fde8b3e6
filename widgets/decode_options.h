#pragma once
/** @file What the generation stack panel asks a decode for: Torch-free decode settings. */
#include <cstdint>

#include <QList>
#include <QMetaType>
#include <QString>

#include "trace/trace.h"

namespace nmar::widgets {

/** An injected error: at step @c step (0-based; -1 = the next step) push @c token. */
struct Injection {
  int step = -1;
  QString token;  ///< token text (one token once encoded); empty = a random wrong token
};

/** What the deviation detector does in a live decode (issue 12; see core::VerifierSettings). */
enum class VerifierTrigger {
  kForce,  ///< a score > tau forces an UNDO
  kBias,   ///< a score > tau adds the bias to the UNDO logit (the model may decline)
  kOff,    ///< scores only: tau is passed as 1 (a probability is never > 1), nothing is forced
};

/** The detector settings of a live decode; used only when a detector is loaded. */
struct VerifierOptions {
  double tau = 0.5;  ///< trigger when the last pushed token's score is > tau, in [0, 1]
  VerifierTrigger trigger = VerifierTrigger::kForce;
  double bias = 2.0;  ///< kBias: added to the UNDO logit
};

/**
 * Sampler and decode settings as the GUI edits them; the worker turns them into
 * core::DecodeSettings (validation errors then name the field).
 */
struct DecodeOptions {
  core::TraceMode mode = core::TraceMode::kHard;
  double temperature = 0.8;
  int topK = 0;
  double topP = 0.95;
  double minP = 0.0;
  double repetitionPenalty = 1.0;
  double undoBias = 0.0;
  int undoBudget = -1;
  int maxNewTokens = 48;
  bool stopAtEos = true;
  std::uint64_t seed = 0;
  int deviationTopK = 5;
  QList<Injection> scheduled;  ///< errors to inject at chosen steps (step >= 0)
  VerifierOptions verifier;    ///< the detector's trigger (ignored without a loaded detector)
};

/** A deviation detector the decode worker holds (Torch-free description). */
struct DetectorInfo {
  QString dir;            ///< its folder (absolute); empty: no detector loaded
  qint64 hiddenSize = 0;  ///< D of the model it reads
  qint64 innerSize = 0;   ///< 0: linear head; > 0: MLP hidden units
  double tau = 0.5;       ///< the default threshold stored in its config
  bool loaded() const { return !dir.isEmpty(); }
  /** "demo-detector (MLP 64, tau 0.5)" or "none". */
  QString summary() const;
};

/** What a loaded checkpoint is, for the status bar and the panels. */
struct ModelInfo {
  QString dir;
  QString name;    ///< folder name
  QString family;  ///< "llama", "gpt2"
  QString device;  ///< "CPU", "cuda:0"
  qint64 parameters = 0;
  int layers = 0;
  int heads = 0;
  qint64 vocabSize = 0;
  qint64 undoId = -1;      ///< -1: no UNDO token (decodes plainly)
  QStringList vocabulary;  ///< text of each id, for chips and top-k alternatives

  /** "addition (llama, 0.8M, CPU)". */
  QString summary() const;
};

}  // namespace nmar::widgets

Q_DECLARE_METATYPE(nmar::widgets::DecodeOptions)
Q_DECLARE_METATYPE(nmar::widgets::ModelInfo)
Q_DECLARE_METATYPE(nmar::widgets::DetectorInfo)
