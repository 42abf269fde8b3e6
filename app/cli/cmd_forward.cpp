// nmar forward <dir> (--ids 1,2,3 | --text T) [--mask causal] [--attention] --out F.safetensors
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <iostream>

#include "checkpoint/safetensors.h"
#include "cli_common.h"
#include "model/pretrained.h"
#include "util/device.h"
#include "util/error.h"

namespace nmar::app {

void registerForwardCommand(CLI::App& app) {
  struct Options {
    std::string dir, ids, text, mask = "causal", out, device = "cpu", dtype = "fp32";
    bool attention = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "forward",
      "Run one forward pass and write the logits (and the inputs that produced them) to a\n"
      "safetensors file that anyone can check, e.g. against Hugging Face transformers in Python.\n"
      "Tensors: logits [1,Q,V] fp32, input_ids [1,Q] int64, position_ids [1,Q] int64,\n"
      "mask [1,1,Q,Q] bool (true = may attend), attentions.N [1,H,Q,Q] with --attention.");
  cmd->add_option("checkpoint", opt->dir, "Checkpoint folder")->required();
  auto* ids = cmd->add_option("--ids", opt->ids, "Comma-separated token ids, e.g. 1,2,3");
  auto* text = cmd->add_option("--text", opt->text, "Text, encoded with the checkpoint's tokenizer");
  ids->excludes(text);
  cmd->add_option("--mask", opt->mask, "Attention mask")
      ->check(CLI::IsMember({"causal"}))
      ->capture_default_str();
  cmd->add_flag("--attention", opt->attention, "Also write attention probabilities per layer");
  cmd->add_option("--device", opt->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--dtype", opt->dtype, "fp32, bf16 or fp16")->capture_default_str();
  cmd->add_option("--out", opt->out, "Output .safetensors file")->required();
  cmd->callback([opt, ids, text] {
    if (ids->count() == 0 && text->count() == 0)
      throw CLI::ValidationError("forward", "one of --ids or --text is required");
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
    const torch::Tensor positions = torch::arange(q, torch::kLong).unsqueeze(0);
    const torch::Tensor mask =
        torch::ones({q, q}, torch::kBool).tril().view({1, 1, q, q});  // --mask causal
    core::ForwardOptions fo;
    fo.mask = mask.to(device);
    fo.positionIds = positions.to(device);
    fo.returnAttention = opt->attention;
    const core::ForwardOutput out = p.model->forward(input.to(device), fo);
    core::TensorMap tensors{{"logits", out.logits.to(torch::kCPU, torch::kFloat).contiguous()},
                            {"input_ids", input},
                            {"position_ids", positions},
                            {"mask", mask}};
    for (std::size_t l = 0; l < out.attentions.size(); ++l)
      tensors["attentions." + std::to_string(l)] = out.attentions[l].to(torch::kCPU, torch::kFloat);
    core::writeSafetensors(opt->out, tensors,
                           {{"checkpoint", opt->dir}, {"mask", opt->mask}, {"dtype", opt->dtype},
                            {"producer", "nmar forward"}});
    std::cout << "wrote logits [1," << q << "," << out.logits.size(-1) << "] to " << opt->out
              << "\n";
  });
}

}  // namespace nmar::app
