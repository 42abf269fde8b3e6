// nmar forward <dir> (--ids 1,2,3 | --text T) [--mask causal|hard|soft --prompt-len M [--undo-id
// N]]
//              [--attention] --out F.safetensors
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "checkpoint/safetensors.h"
#include "cli_common.h"
#include "model/pretrained.h"
#include "nmar/masks.h"
#include "util/device.h"
#include "util/error.h"

namespace nmar::app {

namespace {

/** The UNDO id for hard/soft masks: --undo-id, else the tokenizer's <|undo|>; Error otherwise. */
std::int64_t resolveUndoId(const core::Pretrained& p, const std::string& dir, std::int64_t given,
                           std::int64_t vocab) {
  if (given >= 0) {
    if (given >= vocab)
      throw core::Error("--undo-id " + std::to_string(given) + " is outside the vocabulary of " +
                        std::to_string(vocab));
    return given;
  }
  if (p.tokenizer)
    if (auto id = p.tokenizer->tokenId("<|undo|>")) return *id;
  throw core::Error(dir + ": the tokenizer has no <|undo|> token; pass --undo-id N");
}

}  // namespace

void registerForwardCommand(CLI::App& app) {
  struct Options {
    std::string dir, ids, text, mask = "causal", out, device = "cpu", dtype = "fp32";
    int promptLen = 0;
    std::int64_t undoId = -1;
    bool attention = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "forward",
      "Run one forward pass and write the logits (and the inputs that produced them) to a\n"
      "safetensors file that anyone can check, e.g. against Hugging Face transformers in Python.\n"
      "Tensors: logits [1,Q,V] fp32, input_ids [1,Q] int64, position_ids [1,Q] int64,\n"
      "mask [1,1,Q,Q] bool (true = may attend), attentions.N [1,H,Q,Q] with --attention.\n"
      "With --mask hard|soft (N-MAR, spec section 2) the mask and position ids come from the "
      "stack\n"
      "machine, and deviation [1,Q] and pruned [1,Q] (bool) are written too.");
  cmd->add_option("checkpoint", opt->dir, "Checkpoint folder")->required();
  auto* ids = cmd->add_option("--ids", opt->ids, "Comma-separated token ids, e.g. 1,2,3");
  auto* text =
      cmd->add_option("--text", opt->text, "Text, encoded with the checkpoint's tokenizer");
  ids->excludes(text);
  cmd->add_option("--mask", opt->mask,
                  "Attention mask: causal; hard (N-MAR: pruned tokens hidden, stack positions) or\n"
                  "soft (causal, positions 0..Q-1), both with the UNDO stack machine")
      ->check(CLI::IsMember({"causal", "hard", "soft"}))
      ->capture_default_str();
  auto* promptLen = cmd->add_option("--prompt-len", opt->promptLen,
                                    "hard/soft: number of prompt ids (never popped)");
  auto* undoId = cmd->add_option("--undo-id", opt->undoId,
                                 "hard/soft: the UNDO id (default: the tokenizer's <|undo|>)");
  cmd->add_flag("--attention", opt->attention, "Also write attention probabilities per layer");
  cmd->add_option("--device", opt->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--dtype", opt->dtype, "fp32, bf16 or fp16")->capture_default_str();
  cmd->add_option("--out", opt->out, "Output .safetensors file")->required();
  cmd->callback([opt, ids, text, promptLen, undoId] {
    if (ids->count() == 0 && text->count() == 0)
      throw CLI::ValidationError("forward", "one of --ids or --text is required");
    const bool nmarMask = opt->mask != "causal";
    if (!nmarMask && (promptLen->count() || undoId->count()))
      throw CLI::ValidationError("forward", "--prompt-len and --undo-id apply to --mask hard|soft");
    if (nmarMask && promptLen->count() == 0)
      throw CLI::ValidationError("forward", "--mask " + opt->mask + " needs --prompt-len M");
    if (opt->promptLen < 0) throw CLI::ValidationError("forward", "--prompt-len must be >= 0");
    if (undoId->count() && opt->undoId < 0)
      throw CLI::ValidationError("forward", "--undo-id must be >= 0");
    const c10::Device device = core::parseDevice(opt->device);
    core::Pretrained p = core::loadPretrained(opt->dir, device, core::parseDtype(opt->dtype));
    std::vector<std::int64_t> tokens;
    if (ids->count()) {
      tokens = parseIdList(opt->ids);
    } else {
      if (!p.tokenizer) throw core::Error(opt->dir + ": no tokenizer in this folder; use --ids");
      for (auto id : p.tokenizer->encode(opt->text)) tokens.push_back(id);
    }
    if (tokens.empty()) throw core::Error("--text: encodes to no tokens");
    const auto vocab = p.model->config().vocabSize;
    for (std::size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] >= vocab)
        throw core::Error("token " + std::to_string(i + 1) + " (id " + std::to_string(tokens[i]) +
                          ") is outside the vocabulary of " + std::to_string(vocab));
    const auto q = static_cast<std::int64_t>(tokens.size());
    torch::NoGradGuard noGrad;
    const torch::Tensor input = torch::tensor(tokens, torch::kLong).unsqueeze(0);
    torch::Tensor positions = torch::arange(q, torch::kLong).unsqueeze(0);
    torch::Tensor mask = torch::ones({q, q}, torch::kBool).tril().view({1, 1, q, q});
    core::TensorMap extra;
    std::int64_t undo = -1;
    if (nmarMask) {
      undo = resolveUndoId(p, opt->dir, opt->undoId, vocab);
      core::BatchOptions bo;
      bo.hardMask = opt->mask == "hard";
      bo.softMask = !bo.hardMask;
      core::NmarBatch batch;
      try {
        batch = core::buildNmarBatch(input, {opt->promptLen}, undo, -1, bo);
      } catch (const core::Error& e) {
        throw core::Error(std::string(ids->count() ? "--ids" : "--text") + ": " + e.what());
      }
      const auto mode = bo.hardMask ? core::AttentionMode::kHard : core::AttentionMode::kSoft;
      mask = batch.mask(mode).contiguous();
      positions = batch.positions(mode).contiguous();
      extra["deviation"] = batch.deviation.contiguous();
      extra["pruned"] = batch.pruned.contiguous();
    }
    core::ForwardOptions fo;
    fo.mask = mask.to(device);
    fo.positionIds = positions.to(device);
    fo.returnAttention = opt->attention;
    const core::ForwardOutput out = p.model->forward(input.to(device), fo);
    core::TensorMap tensors{{"logits", out.logits.to(torch::kCPU, torch::kFloat).contiguous()},
                            {"input_ids", input},
                            {"position_ids", positions},
                            {"mask", mask}};
    tensors.insert(extra.begin(), extra.end());
    for (std::size_t l = 0; l < out.attentions.size(); ++l)
      tensors["attentions." + std::to_string(l)] = out.attentions[l].to(torch::kCPU, torch::kFloat);
    std::map<std::string, std::string> meta{{"checkpoint", opt->dir},
                                            {"mask", opt->mask},
                                            {"dtype", opt->dtype},
                                            {"producer", "nmar forward"}};
    if (nmarMask) {
      meta["prompt_len"] = std::to_string(opt->promptLen);
      meta["undo_id"] = std::to_string(undo);
    }
    core::writeSafetensors(opt->out, tensors, meta);
    std::cout << "wrote logits [1," << q << "," << out.logits.size(-1) << "] to " << opt->out
              << "\n";
  });
}

}  // namespace nmar::app
