// nmar: the headless command-line interface. Wiring only: each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli_common.h"
#include "util/build_info.h"
#include "util/error.h"
#include "util/log.h"

int main(int argc, char** argv) {
  CLI::App app{
      "nmar: the N-MAR Workbench command line.\n"
      "Language models that can take back what they wrote: tokenizers, Hugging Face checkpoints,\n"
      "forward passes, pruned decoding, training, and a run store that records every run.",
      "nmar"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  app.add_flag_callback(
      "--version",
      [] {
        std::cout << nmar::core::buildInfoText();
        throw CLI::Success();
      },
      "Print version, LibTorch, BLAS, SQLite and CUDA information");
  std::string logLevel = "warn";
  app.add_option("--log-level", logLevel, "trace|debug|info|warn|error|off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.parse_complete_callback([&] { nmar::core::setLogLevel(logLevel); });

  nmar::app::registerTokenizeCommand(app);
  nmar::app::registerModelCommand(app);
  nmar::app::registerForwardCommand(app);
  nmar::app::registerReplayCommand(app);
  nmar::app::registerDecodeCommand(app);
  nmar::app::registerDataCommand(app);
  nmar::app::registerInitTokenCommand(app);
  nmar::app::registerTrainCommand(app);
  nmar::app::registerRunsCommand(app);
  nmar::app::registerLaunchCommand(app);
  nmar::app::registerDetectorCommand(app);
  nmar::app::registerExperimentsCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const nmar::core::Error& e) {
    std::cerr << "nmar: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "nmar: internal error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
