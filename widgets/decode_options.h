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
