// nmar detector train CKPT [--task T --difficulty D --examples N --natural-examples N --steps N
//                          --inner H --seed S --out DIR]
// nmar detector eval CKPT [--detector DIR --examples N --seed S --tau T --recovery --json]
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli_common.h"
#include "data/task.h"
#include "model/pretrained.h"
#include "tokenizer/tokenizer.h"
#include "train/detector.h"
#include "train/detector_data.h"
#include "train/detector_metrics.h"
#include "train/detector_trainer.h"
#include "train/evaluator.h"
#include "util/device.h"
#include "util/error.h"

namespace nmar::app {
namespace {

/** Options shared by both subcommands. */
struct Common {
  std::string dir, task = "addition", undoToken = "<|undo|>", device = "cpu";
  std::string deviation = "confusable";
  int difficulty = 3;
  int examples = 512;
  int naturalExamples = 256;
  std::uint64_t seed = 0;
  bool json = false;
};

void addCommon(CLI::App* cmd, Common& c) {
  cmd->add_option("checkpoint", c.dir, "Checkpoint folder (with the UNDO token)")->required();
  cmd->add_option("--task", c.task, "Built-in task: addition, sorting or chain")
      ->capture_default_str();
  cmd->add_option("--difficulty", c.difficulty, "Task difficulty")->capture_default_str();
  cmd->add_option("--examples", c.examples,
                  "Examples with injected deviations (stack labels: popped = 1)")
      ->capture_default_str();
  cmd->add_option("--natural-examples", c.naturalExamples,
                  "Examples decoded greedily and compared with the gold (first wrong token on = 1)")
      ->capture_default_str();
  cmd->add_option("--deviation", c.deviation, "Injected deviations: confusable, random or self")
      ->check(CLI::IsMember({"confusable", "random", "self"}))
      ->capture_default_str();
  cmd->add_option("--seed", c.seed, "Seed of the examples, injections and training")
      ->capture_default_str();
  cmd->add_option("--undo-token", c.undoToken, "Content of the UNDO token")->capture_default_str();
  cmd->add_option("--device", c.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_flag("--json", c.json, "Print the results as one JSON object");
}

/** The checkpoint with its task, UNDO/EOS ids and the sample settings. */
struct Setup {
  core::Pretrained p;
  std::unique_ptr<core::Task> task;
  core::DetectorDataSettings data;
};

Setup load(const Common& c) {
  Setup s;
  s.p = core::loadPretrained(c.dir, core::parseDevice(c.device));
  if (!s.p.tokenizer) throw core::Error(c.dir + ": no tokenizer in this folder");
  const std::int64_t vocab = s.p.model->config().vocabSize;
  const auto undo = s.p.tokenizer->tokenId(c.undoToken);
  if (!undo || *undo >= vocab)
    throw core::Error(c.dir + ": no " + c.undoToken + " token (add it with `nmar init-token`)");
  s.data.undoId = *undo;
  if (auto eos = s.p.tokenizer->eosId(); eos && *eos < vocab) s.data.eosId = *eos;
  s.data.deviation.kind = core::parseDeviationKind(c.deviation, "--deviation");
  s.data.deviation.excludedIds = core::specialTokenIds(*s.p.tokenizer);
  s.task = core::makeTask(c.task);
  return s;
}

/** Injected then natural samples of @p n / @p natural examples drawn with @p seed. */
std::pair<core::DetectorSamples, core::DetectorSamples> samples(Setup& s, const Common& c,
                                                                std::uint64_t seed) {
  core::DetectorSamples injected, natural;
  if (c.examples > 0)
    injected = core::injectedSamples(s.p.model, *s.p.tokenizer,
                                     core::makeExamples(*s.task, c.difficulty, c.examples, seed),
                                     s.data, seed ^ 0x5EEDULL);
  if (c.naturalExamples > 0)
    natural = core::naturalSamples(
        s.p.model, *s.p.tokenizer,
        core::makeExamples(*s.task, c.difficulty, c.naturalExamples, seed + 7919), s.data);
  return {injected, natural};
}

std::string fmt(double v) {
  if (std::isnan(v)) return "n/a";
  std::ostringstream out;
  out << std::fixed << std::setprecision(3) << v;
  return out.str();
}

void printMetrics(const std::string& name, const core::DetectorMetrics& m) {
  std::cout << std::left << std::setw(10) << name << " tokens " << m.tokens << ", deviations "
            << m.positives << ": AUROC " << fmt(m.auroc) << ", at tau " << m.tau
            << " precision " << fmt(m.precision) << " recall " << fmt(m.recall)
            << " false-trigger " << fmt(m.falseTriggerRate) << "\n";
}

core::DetectorMetrics measure(core::DetectorHead& head, const core::DetectorSamples& s,
                              double tau) {
  return core::detectorMetrics(core::scoreSamples(head, s), core::sampleLabels(s), tau);
}

void registerTrain(CLI::App* parent) {
  struct Options {
    Common c;
    core::DetectorTrainSettings t;
    std::int64_t inner = 0;
    double tau = 0.5;
    std::string out;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = parent->add_subcommand(
      "train",
      "Train a deviation detector post hoc on a frozen checkpoint: a linear (or 2-layer MLP) head\n"
      "on the final hidden states, on injected deviations (a token later popped by UNDO is 1) and\n"
      "on the model's own greedy errors (from the first wrong token on, 1). Writes\n"
      "detector.safetensors + detector_config.json into the checkpoint folder or --out.");
  addCommon(cmd, opt->c);
  cmd->add_option("--steps", opt->t.steps, "Optimiser steps")->capture_default_str();
  cmd->add_option("--batch-size", opt->t.batchSize, "Samples per step")->capture_default_str();
  cmd->add_option("--lr", opt->t.lr, "AdamW learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", opt->t.weightDecay, "AdamW weight decay")
      ->capture_default_str();
  cmd->add_option("--inner", opt->inner, "Hidden units of a 2-layer MLP head (0 = linear)")
      ->capture_default_str();
  cmd->add_option("--tau", opt->tau, "Default trigger threshold stored in the config")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--out", opt->out, "Folder for the detector files (default: the checkpoint)");
  cmd->callback([opt] {
    const Common& c = opt->c;
    Setup s = load(c);
    auto [injected, natural] = samples(s, c, c.seed);
    core::DetectorSamples all = injected;
    all.append(natural);
    core::DetectorConfig config;
    config.hiddenSize = s.p.model->config().hiddenSize;
    config.innerSize = opt->inner;
    config.tau = opt->tau;
    core::DetectorHead head(config, c.seed);
    opt->t.seed = c.seed;
    if (!c.json)
      std::cerr << "samples: " << injected.size() << " injected (" << injected.positives()
                << " deviations), " << natural.size() << " natural (" << natural.positives()
                << " wrong; " << natural.wrongOutputs << "/" << natural.sequences
                << " outputs wrong)\n";
    const double loss = core::trainDetector(head, all, opt->t, [&](int step, double l) {
      if (!c.json) std::cerr << "step " << step << "/" << opt->t.steps << " loss " << l << "\n";
    });
    const core::DetectorMetrics mi = measure(head, injected, opt->tau);
    const core::DetectorMetrics mn = measure(head, natural, opt->tau);
    head->config().training = {{"checkpoint", c.dir},
                               {"task", c.task},
                               {"difficulty", c.difficulty},
                               {"examples", c.examples},
                               {"natural_examples", c.naturalExamples},
                               {"deviation", c.deviation},
                               {"steps", opt->t.steps},
                               {"batch_size", opt->t.batchSize},
                               {"lr", opt->t.lr},
                               {"seed", c.seed},
                               {"final_loss", loss},
                               {"train_injected", mi.toJson()},
                               {"train_natural", mn.toJson()}};
    const std::string out = opt->out.empty() ? c.dir : opt->out;
    core::saveDetector(out, head);
    if (c.json) {
      std::cout << nlohmann::json{{"out", out}, {"final_loss", loss},
                                  {"train_injected", mi.toJson()},
                                  {"train_natural", mn.toJson()}}.dump(2)
                << "\n";
      return;
    }
    std::cout << "final loss " << fmt(loss) << " (training data)\n";
    printMetrics("injected", mi);
    printMetrics("natural", mn);
    std::cout << "wrote " << out << "/" << core::kDetectorWeightsFile << " and "
              << core::kDetectorConfigFile << "\n";
  });
}

void registerEval(CLI::App* parent) {
  struct Options {
    Common c;
    std::string detector;
    double tau = std::nan("");
    double bias = std::nan("");
    bool recovery = false;
    int recoveryExamples = 200;
  };
  auto opt = std::make_shared<Options>();
  opt->c.seed = 1000;
  CLI::App* cmd = parent->add_subcommand(
      "eval",
      "Measure a deviation detector on held-out examples (another --seed than training): AUROC,\n"
      "precision/recall at tau and the false-trigger rate on correct tokens, on injected\n"
      "deviations and on the model's natural errors. With --recovery also clean accuracy and\n"
      "recovery from a forced deviation (hard, soft and resample decoding), without and with the\n"
      "trigger (forced UNDO; the same with the model's own UNDO suppressed, verifier_only; and\n"
      "with --verifier-bias a raised UNDO logit instead of a forced UNDO).");
  addCommon(cmd, opt->c);
  cmd->add_option("--detector", opt->detector, "Folder of the detector (default: the checkpoint)");
  cmd->add_option("--tau", opt->tau, "Threshold (default: the detector config's tau)");
  cmd->add_option("--verifier-bias", opt->bias,
                  "With --recovery: also decode with this amount added to the UNDO logit on a "
                  "trigger instead of a forced UNDO");
  cmd->add_flag("--recovery", opt->recovery, "Also decode: clean accuracy and recovery");
  cmd->add_option("--recovery-examples", opt->recoveryExamples, "Examples for --recovery")
      ->capture_default_str();
  cmd->callback([opt] {
    const Common& c = opt->c;
    Setup s = load(c);
    const std::string dir = opt->detector.empty() ? c.dir : opt->detector;
    core::DetectorHead head = core::loadDetector(dir, s.p.model->config().hiddenSize);
    const double tau = std::isnan(opt->tau) ? head->config().tau : opt->tau;
    if (!(tau >= 0 && tau <= 1)) throw core::Error("--tau: " + std::to_string(tau) + " is outside [0, 1]");
    auto [injected, natural] = samples(s, c, c.seed);
    const core::DetectorMetrics mi = measure(head, injected, tau);
    const core::DetectorMetrics mn = measure(head, natural, tau);
    nlohmann::json result = {{"detector", dir},
                             {"injected", mi.toJson()},
                             {"natural", mn.toJson()},
                             {"natural_outputs", natural.sequences},
                             {"natural_wrong_outputs", natural.wrongOutputs}};
    if (!c.json) {
      printMetrics("injected", mi);
      printMetrics("natural", mn);
      std::cout << "natural outputs: " << natural.wrongOutputs << "/" << natural.sequences
                << " wrong\n";
    }
    if (opt->recovery) {
      const auto examples = core::makeExamples(*s.task, c.difficulty, opt->recoveryExamples,
                                               c.seed + 104729);
      core::EvalSettings es;
      es.undoId = s.data.undoId;
      es.eosId = s.data.eosId;
      es.seed = c.seed;
      es.keepTraces = 0;
      es.recoveryResample = true;
      const core::OutputVerifier verify = [](const core::Example& ex, const std::string& out) {
        return core::verifyExample(ex, out);
      };
      std::vector<std::pair<std::string, core::EvalSettings>> variants = {{"model_only", es}};
      es.verifier.verifier = std::make_shared<core::DetectorVerifier>(head);
      es.verifier.tau = tau;
      es.verifier.name = dir;
      variants.push_back({"verifier_forced", es});
      core::EvalSettings only = es;
      only.undoLogitBias = -1e4;  // the model's own UNDO never wins: the verifier alone backtracks
      variants.push_back({"verifier_only", only});
      if (!std::isnan(opt->bias)) {
        es.verifier.bias = opt->bias;
        variants.push_back({"verifier_bias", es});
      }
      for (const auto& [name, settings] : variants) {
        const core::EvalResult r =
            core::evaluate(s.p.model, *s.p.tokenizer, examples, verify, settings);
        result["decode"][name] = r.metrics();
        if (!c.json)
          std::cout << std::left << std::setw(16) << name << " clean " << fmt(r.cleanAccuracy)
                    << "  recovery hard " << fmt(r.recoveryHard) << " soft "
                    << fmt(r.recoverySoft) << " resample " << fmt(r.recoveryResample)
                    << "  UNDO/seq " << fmt(r.undoPerSequence)
                    << " (verifier " << fmt(r.verifierUndoPerSequence) << ")\n";
      }
    }
    if (c.json) std::cout << result.dump(2) << "\n";
  });
}

}  // namespace

void registerDetectorCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "detector",
      "The deviation detector (issue 12): a head on the model's hidden states that scores every\n"
      "token; `nmar decode --verifier DIR --tau T` lets it trigger UNDO while decoding.");
  cmd->require_subcommand(1);
  registerTrain(cmd);
  registerEval(cmd);
}

}  // namespace nmar::app
