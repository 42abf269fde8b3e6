#include "widgets/decode_worker.h"

#include <filesystem>

#include <torch/torch.h>

#include <QFileInfo>
#include <QMetaObject>

#include "decode/pruned_decoder.h"
#include "model/pretrained.h"
#include "model/undo_token.h"
#include "nmar/masks.h"
#include "train/detector.h"
#include "util/device.h"
#include "util/error.h"
#include "util/log.h"
#include "widgets/trace_catalog.h"

namespace nmar::widgets {
namespace {

constexpr int kChunkMs = 40;  // a run yields to the worker's event loop this often
constexpr int kFlushMs = 33;  // at most ~30 batches per second reach the GUI

/** Collects the decoder's steps on the worker thread (no signal per step). */
class CollectingSink : public core::DecodeEventSink {
 public:
  explicit CollectingSink(QList<core::TraceStep>* out) : m_out(out) {}
  void onStep(int, const core::TraceStep& step) override { m_out->append(step); }

 private:
  QList<core::TraceStep>* m_out;
};

QString qs(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

QString ModelInfo::summary() const {
  const QString size = parameters >= 1000000
                           ? QStringLiteral("%1M").arg(double(parameters) / 1e6, 0, 'f', 1)
                           : QStringLiteral("%1k").arg(double(parameters) / 1e3, 0, 'f', 0);
  return QStringLiteral("%1 (%2, %3, %4)").arg(name, family, size, device);
}

struct DecodeWorker::Engine {
  core::Pretrained model;
  ModelInfo info;
  std::int64_t eosId = -1;
  std::unique_ptr<core::PrunedDecoder> decoder;
  std::unique_ptr<CollectingSink> sink;
  std::shared_ptr<const core::DetectorVerifier> detector;  // null: no detector
  DetectorInfo detectorInfo;
};

DecodeWorker::DecodeWorker() = default;

DecodeWorker::~DecodeWorker() = default;

void DecodeWorker::fail(const QString& what, const std::exception& e) {
  const QString message =
      what.isEmpty() ? qs(e.what()) : what + QStringLiteral(": ") + qs(e.what());
  core::logger("gui.decode")->error("{}", message.toStdString());
  Q_EMIT failed(message);
}

void DecodeWorker::loadCheckpoint(const QString& dir, const QString& device) {
  clearDecoder();  // quietly: a trace the panels show (a replay) stays
  try {
    auto engine = std::make_unique<Engine>();
    const c10::Device where = core::parseDevice(device.toStdString());
    engine->model = core::loadPretrained(dir.toStdString(), where);
    const core::ModelConfig& config = engine->model.model->config();
    ModelInfo& info = engine->info;
    info.dir = QFileInfo(dir).absoluteFilePath();
    info.name = QFileInfo(dir).fileName();
    info.family = qs(core::familyName(config.family));
    info.device = where.is_cpu() ? QStringLiteral("CPU") : qs(core::deviceName(where));
    info.parameters = engine->model.model->parameterCount();
    info.layers = int(config.numLayers);
    info.heads = int(config.numHeads);
    info.vocabSize = config.vocabSize;
    const core::Tokenizer* tok = engine->model.tokenizer.get();
    if (tok == nullptr)
      throw core::Error(dir.toStdString() +
                        ": no tokenizer files in this folder (expected "
                        "tokenizer.json or vocab.json + merges.txt)");
    if (auto undo = core::undoTokenId(engine->model); undo && *undo < config.vocabSize)
      info.undoId = *undo;
    engine->eosId =
        tok->eosId() && *tok->eosId() < config.vocabSize ? *tok->eosId() : config.eosTokenId();
    info.vocabulary = vocabularyTexts(*tok);
    if (info.undoId < 0)
      core::logger("gui.decode")
          ->warn("{} has no <|undo|> token: it decodes plainly and never pops", dir.toStdString());
    core::logger("gui.decode")
        ->info("loaded {} ({} layers, {} heads, vocabulary {}, UNDO id {})", dir.toStdString(),
               info.layers, info.heads, info.vocabSize, info.undoId);
    m_engine = std::move(engine);
    Q_EMIT modelLoaded(m_engine->info);
  } catch (const std::exception& e) {
    const QString message = qs(e.what());
    core::logger("gui.decode")->error("could not open checkpoint: {}", message.toStdString());
    Q_EMIT loadFailed(message);
    return;
  }
  // The checkpoint folder's own detector (`nmar detector train` writes it there by default).
  const std::filesystem::path folder = dir.toStdString();
  const bool config = std::filesystem::exists(folder / core::kDetectorConfigFile);
  const bool weights = std::filesystem::exists(folder / core::kDetectorWeightsFile);
  if (config || weights) {
    loadDetector(dir);  // one of the two missing: the error names the missing file
  } else {
    Q_EMIT detectorChanged(DetectorInfo{});
  }
}

void DecodeWorker::installDetector(const QString& dir) {
  if (!m_engine)
    throw core::Error(dir.toStdString() +
                      ": no model loaded (a detector is checked against the model's hidden "
                      "size: open the checkpoint folder first)");
  const core::DetectorHead head =
      core::loadDetector(dir.toStdString(), m_engine->model.model->config().hiddenSize);
  DetectorInfo info;
  info.dir = QFileInfo(dir).absoluteFilePath();
  info.hiddenSize = head->config().hiddenSize;
  info.innerSize = head->config().innerSize;
  info.tau = head->config().tau;
  m_engine->detector = std::make_shared<core::DetectorVerifier>(head);
  m_engine->detectorInfo = info;
}

void DecodeWorker::loadDetector(const QString& dir) {
  try {
    installDetector(dir);
  } catch (const std::exception& e) {
    const QString message = qs(e.what());
    core::logger("gui.decode")->error("could not load the detector: {}", message.toStdString());
    Q_EMIT detectorFailed(message);
    // A detector that failed replaces none: the previous one (if any) stays in use.
    Q_EMIT detectorChanged(m_engine ? m_engine->detectorInfo : DetectorInfo{});
    return;
  }
  core::logger("gui.decode")
      ->info("loaded deviation detector {} ({}, default tau {})", dir.toStdString(),
             m_engine->detectorInfo.summary().toStdString(), m_engine->detectorInfo.tau);
  Q_EMIT detectorChanged(m_engine->detectorInfo);
}

void DecodeWorker::unloadDetector() {
  if (m_engine) {
    m_engine->detector.reset();
    m_engine->detectorInfo = {};
  }
  Q_EMIT detectorChanged(DetectorInfo{});
}

void DecodeWorker::configure(const QString& prompt, const DecodeOptions& options) {
  m_prompt = prompt;
  m_options = options;
}

bool DecodeWorker::ensureStarted() {
  if (!m_engine) {
    Q_EMIT failed(tr("no model loaded: open a checkpoint folder first"));
    return false;
  }
  if (m_engine->decoder && !m_engine->decoder->done()) return true;
  try {
    const core::Tokenizer& tok = *m_engine->model.tokenizer;
    const core::ModelConfig& config = m_engine->model.model->config();
    std::vector<std::int64_t> ids;
    for (int32_t id : tok.encode(m_prompt.toStdString(), /*addSpecial=*/true)) ids.push_back(id);
    if (ids.empty()) throw core::Error("the prompt is empty (it encodes to no tokens)");
    core::DecodeSettings s;
    s.mode = m_options.mode;
    s.sampler.temperature = m_options.temperature;
    s.sampler.topK = m_options.topK;
    s.sampler.topP = m_options.topP;
    s.sampler.minP = m_options.minP;
    s.sampler.repetitionPenalty = m_options.repetitionPenalty;
    s.sampler.undoLogitBias = m_options.undoBias;
    s.sampler.undoBudget = m_options.undoBudget;
    s.sampler.maxNewTokens = m_options.maxNewTokens;
    s.sampler.stopAtEos = m_options.stopAtEos;
    s.sampler.seed = m_options.seed;
    s.undoId = m_engine->info.undoId;
    s.eosId = m_engine->eosId;
    s.deviationTopK = m_options.deviationTopK;
    if (m_engine->detector) {
      const VerifierOptions& v = m_options.verifier;
      s.verifier.verifier = m_engine->detector;
      // "scores only": tau 1 never fires (the trigger needs a score > tau).
      s.verifier.tau = v.trigger == VerifierTrigger::kOff ? 1.0 : v.tau;
      if (v.trigger == VerifierTrigger::kBias) s.verifier.bias = v.bias;
      s.verifier.name = m_engine->detectorInfo.dir.toStdString();
      s.verifier.validate();
    }
    s.recordAttention = true;
    s.modelName = m_engine->info.dir.toStdString();
    s.tokenizerName = m_engine->info.dir.toStdString() + " (" + tok.kind() + ")";
    m_pendingInjections.clear();
    const QList<Injection> scheduled = m_options.scheduled + m_nextStart;
    m_nextStart.clear();
    for (const Injection& inj : scheduled) {
      if (inj.step < 0) continue;
      s.forced.push_back({inj.step, encodeInjection(inj.token)});
    }
    s.validate(config.vocabSize);
    m_engine->decoder = std::make_unique<core::PrunedDecoder>(m_engine->model.model, s,
                                                              m_engine->model.tokenizer.get());
    m_engine->sink = std::make_unique<CollectingSink>(&m_pending);
    m_engine->decoder->setSink(m_engine->sink.get());
    m_pending.clear();
    m_engine->decoder->start(ids, m_prompt.toStdString());
    m_sinceFlush.start();
    Q_EMIT started(m_engine->decoder->trace());
    return true;
  } catch (const std::exception& e) {
    m_engine->decoder.reset();
    fail(tr("cannot start decoding"), e);
    return false;
  }
}

std::int64_t DecodeWorker::encodeInjection(const QString& text) {
  if (text.isEmpty()) return core::kRandomDeviation;
  const core::Tokenizer& tok = *m_engine->model.tokenizer;
  if (auto id = tok.tokenId(text.toStdString())) return *id;
  const std::vector<int32_t> ids = tok.encode(text.toStdString());
  if (ids.size() != 1)
    throw core::Error("injected token '" + text.toStdString() + "' encodes to " +
                      std::to_string(ids.size()) + " tokens, expected exactly 1");
  return ids.front();
}

void DecodeWorker::stepOnce() {
  core::PrunedDecoder& d = *m_engine->decoder;
  const int k = int(d.trace().steps.size());
  for (int i = 0; i < m_pendingInjections.size(); ++i) {
    if (m_pendingInjections[i].step != k) continue;
    const Injection inj = m_pendingInjections.takeAt(i);
    d.forcePush(encodeInjection(inj.token));
    return;
  }
  d.step();
}

void DecodeWorker::afterStep() {
  core::PrunedDecoder& d = *m_engine->decoder;
  if (!d.done()) return;
  flush(true);
  if (m_running) {
    m_running = false;
    Q_EMIT runningChanged(false);
  }
  const core::Trace& trace = d.trace();
  Q_EMIT finished(trace, qs(core::stopReasonName(d.stopReason())));
}

void DecodeWorker::flush(bool force) {
  if (m_pending.isEmpty()) return;
  if (!force && m_sinceFlush.isValid() && m_sinceFlush.elapsed() < kFlushMs) return;
  Q_EMIT stepsReady(m_pending);
  m_pending.clear();
  m_sinceFlush.restart();
}

void DecodeWorker::step() {
  if (m_running || !ensureStarted()) return;
  try {
    stepOnce();
  } catch (const std::exception& e) {
    fail(tr("step failed"), e);
  }
  flush(true);
  afterStep();
}

void DecodeWorker::run() {
  if (m_running) return;
  m_pause.store(false);
  if (!ensureStarted()) return;
  m_running = true;
  Q_EMIT runningChanged(true);
  runChunk();
}

void DecodeWorker::runChunk() {
  if (!m_running || !m_engine || !m_engine->decoder) return;
  QElapsedTimer chunk;
  chunk.start();
  core::PrunedDecoder& d = *m_engine->decoder;
  try {
    while (!d.done() && !m_pause.load() && chunk.elapsed() < kChunkMs) stepOnce();
  } catch (const std::exception& e) {
    flush(true);
    m_running = false;
    Q_EMIT runningChanged(false);
    fail(tr("step failed"), e);
    return;
  }
  if (d.done()) return afterStep();
  if (m_pause.load()) {
    flush(true);
    m_running = false;
    Q_EMIT runningChanged(false);
    if (!m_cancel.load()) Q_EMIT paused();
    return;
  }
  flush(false);
  // Yield so that queued calls (inject, pause) are handled between chunks.
  QMetaObject::invokeMethod(this, &DecodeWorker::runChunk, Qt::QueuedConnection);
}

void DecodeWorker::injectNow(const QString& tokenText) {
  if (!ensureStarted()) return;
  try {
    m_engine->decoder->forcePush(encodeInjection(tokenText));
  } catch (const std::exception& e) {
    fail(tr("cannot inject an error"), e);
  }
  flush(true);
  afterStep();
}

void DecodeWorker::injectAt(int step, const QString& tokenText) {
  if (m_engine && m_engine->decoder && !m_engine->decoder->done() &&
      step < int(m_engine->decoder->trace().steps.size())) {
    Q_EMIT failed(tr("cannot inject at step %1: the decode is already past it").arg(step + 1));
    return;
  }
  if (m_engine && m_engine->decoder && !m_engine->decoder->done()) {
    m_pendingInjections.append({step, tokenText});
  } else {
    m_nextStart.append({step, tokenText});  // for the next start
  }
}

void DecodeWorker::reset() {
  clearDecoder();
  Q_EMIT resetDone();
}

void DecodeWorker::clearDecoder() {
  m_pause.store(true);
  if (m_running) {
    m_running = false;
    Q_EMIT runningChanged(false);
  }
  if (m_engine) {
    m_engine->decoder.reset();
    m_engine->sink.reset();
  }
  m_pending.clear();
  m_pendingInjections.clear();
  m_nextStart.clear();
  m_pause.store(false);
}

void DecodeWorker::computeComparison(const core::Trace& trace, AttentionSelection selection,
                                     int requestId) {
  if (!m_engine) {
    Q_EMIT failed(tr("the comparison needs a loaded model"));
    return;
  }
  try {
    torch::NoGradGuard noGrad;
    const std::vector<std::int64_t> ids = core::traceSequence(trace);
    const std::int64_t vocab = m_engine->model.model->config().vocabSize;
    for (std::int64_t id : ids)
      if (id < 0 || id >= vocab)
        throw core::Error("the trace holds id " + std::to_string(id) +
                          ", outside the loaded model's vocabulary of " + std::to_string(vocab));
    const int m = int(trace.promptIds.size());
    const int T = int(ids.size());
    const at::Tensor input = torch::tensor(ids, torch::kLong).unsqueeze(0);
    core::ForwardOptions fo;
    fo.returnAttention = true;
    const bool toSoft = trace.mode != core::TraceMode::kSoft;
    if (!toSoft) {
      const core::NmarBatch batch = core::buildNmarBatch(input, {m}, trace.undoId);
      fo.mask = batch.mask(core::AttentionMode::kHard);
      fo.positionIds = batch.positions(core::AttentionMode::kHard);
    }
    const core::ForwardOutput out = m_engine->model.model->forward(input, fo);
    const int layers = int(out.attentions.size());
    if (selection.layer < 0 || selection.layer >= layers)
      throw core::Error("layer " + std::to_string(selection.layer) + " is not in the model");
    // Reduced on this thread to the selected head (or mean): one [T, T] matrix crosses.
    at::Tensor a = out.attentions[std::size_t(selection.layer)].select(0, 0);  // [H, T, T]
    a = selection.head >= 0 ? a.select(0, selection.head) : a.mean(0);
    a = a.to(at::kCPU, at::kFloat).contiguous();
    const float* p = a.data_ptr<float>();
    const std::vector<std::vector<int>> stacks = stacksBefore(trace);
    std::vector<core::StepAttention> rows(trace.steps.size());
    for (int k = 0; k < int(trace.steps.size()); ++k) {
      const int i = m + k;
      core::StepAttention& r = rows[std::size_t(k)];
      r.heads = 1;
      std::vector<float> values;
      if (toSoft) {
        values.assign(p + std::size_t(i) * T, p + std::size_t(i) * T + i + 1);
      } else {
        for (int c : stacks[std::size_t(k)]) values.push_back(p[std::size_t(i) * T + c]);
        values.push_back(p[std::size_t(i) * T + i]);
      }
      r.keys = int(values.size());
      r.layers.push_back(std::move(values));
    }
    std::vector<const core::StepAttention*> pointers;
    for (const core::StepAttention& r : rows) pointers.push_back(&r);
    QStringList stepLabels;
    AttentionMap map = buildAttentionMap(
        trace, pointers, toSoft ? KeyLayout::kCausal : KeyLayout::kStack, {0, 0}, {}, {});
    map.layers = layers;
    map.heads = int(out.attentions.front().size(1));
    Q_EMIT comparisonReady(map,
                           toSoft ? tr("soft (causal) forward, same tokens")
                                  : tr("hard (pruned) forward, same tokens"),
                           requestId);
  } catch (const std::exception& e) {
    fail(tr("comparison failed"), e);
  }
}

}  // namespace nmar::widgets
