// nmar tokenize <tokenizer> (--text T | --file F) [--json] [--pieces]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli_common.h"
#include "tokenizer/tokenizer.h"
#include "util/json_file.h"

namespace nmar::app {

void registerTokenizeCommand(CLI::App& app) {
  struct Options {
    std::string tokenizer, text, file;
    bool json = false, pieces = false, bos = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize",
      "Encode text with a tokenizer and print the token ids.\n"
      "TOKENIZER is a checkpoint folder or a tokenizer.json / vocab.json file.");
  cmd->add_option("tokenizer", opt->tokenizer, "Checkpoint folder or tokenizer file")->required();
  auto* text = cmd->add_option("--text", opt->text, "Text to encode");
  auto* file = cmd->add_option("--file", opt->file, "File whose contents to encode");
  text->excludes(file);
  cmd->add_flag("--json", opt->json, "Print {\"ids\": [...], \"pieces\": [...]} as JSON");
  cmd->add_flag("--pieces", opt->pieces, "Also print each token's text, one per line");
  cmd->add_flag("--bos", opt->bos, "Prepend the tokenizer's BOS token where it defines one");
  cmd->callback([opt, text, file] {
    if (text->count() == 0 && file->count() == 0)
      throw CLI::ValidationError("tokenize", "one of --text or --file is required");
    const auto tok = core::loadTokenizer(opt->tokenizer);
    const std::string input = file->count() ? core::readFileBytes(opt->file) : opt->text;
    const std::vector<std::int32_t> ids = tok->encode(input, opt->bos);
    if (opt->json) {
      nlohmann::json out;
      out["ids"] = ids;
      nlohmann::json pieces = nlohmann::json::array();
      for (auto id : ids) pieces.push_back(tok->tokenText(id));
      out["pieces"] = pieces;
      out["count"] = ids.size();
      std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return;
    }
    for (std::size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
    std::cout << "\n";
    if (opt->pieces)
      for (auto id : ids) std::cout << id << "\t" << tok->tokenText(id) << "\n";
  });
}

}  // namespace nmar::app
