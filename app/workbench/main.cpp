// nmar-workbench: the Qt GUI. Wiring only; behaviour lives in widgets/, viz/ and core/.
#include <cstdio>
#include <cstdlib>
#include <optional>

#include <QApplication>
#include <QCommandLineParser>
#include <QDockWidget>
#include <QIcon>
#include <QTimer>

#include "util/build_info.h"
#include "util/log.h"
#include "widgets/decode_controller.h"
#include "widgets/main_window.h"
#include "widgets/open_kind.h"
#include "widgets/training_controller.h"

namespace {

using nmar::widgets::MainWindow;
using nmar::widgets::OpenKind;

struct Options {
  QString store;
  QString panel;
  QString screenshot;
  int screenshotDelayMs = 2000;
  QStringList paths;
};

const QCommandLineOption kScreenshotOption(
    QStringLiteral("screenshot"),
    QStringLiteral("Start, wait --screenshot-delay milliseconds, save the window as FILE (PNG) "
                   "and quit (documentation, packaging checks; works with -platform offscreen)."),
    QStringLiteral("FILE"));
const QCommandLineOption kShowPanelOption(
    QStringLiteral("show-panel"),
    QStringLiteral("Bring the dock NAME to the front at start-up (e.g. dashboardDock, "
                   "explorerDock, rewardsDock, launcherDock, tokenInitDock; with --screenshot)."),
    QStringLiteral("NAME"));
const QCommandLineOption kScreenshotDelayOption(QStringLiteral("screenshot-delay"),
                                                QStringLiteral("Milliseconds before --screenshot "
                                                               "(default 2000)."),
                                                QStringLiteral("MS"), QStringLiteral("2000"));

/** Declares the command line on @p parser; @p store is the --store option. */
void describe(QCommandLineParser* parser, const QCommandLineOption& store) {
  parser->setApplicationDescription(
      QStringLiteral("N-MAR Workbench: explore language models that can take back what they "
                     "wrote (UNDO token)."));
  parser->addHelpOption();
  parser->addVersionOption();
  parser->addOption(store);
  parser->addOption(kScreenshotOption);
  parser->addOption(kScreenshotDelayOption);
  parser->addOption(kShowPanelOption);
  parser->addPositionalArgument(QStringLiteral("path"),
                                QStringLiteral("A checkpoint folder, a trace (.json, .jsonl) or a "
                                               "run store (.sqlite) whose traces to list."),
                                QStringLiteral("[CHECKPOINT|TRACE|STORE]"));
}

const QCommandLineOption kStoreOption(QStringLiteral("store"),
                                      QStringLiteral("Use the run store FILE (SQLite) instead "
                                                     "of the default one."),
                                      QStringLiteral("FILE"));

/** Checks what the options cannot: at most one path. Returns 2 (after a message) otherwise. */
std::optional<int> checkPaths(const QCommandLineParser& parser) {
  if (parser.positionalArguments().size() <= 1) return std::nullopt;
  std::fprintf(stderr, "nmar-workbench: expected at most one CHECKPOINT, TRACE or STORE, got %d\n",
               int(parser.positionalArguments().size()));
  return 2;
}

/**
 * Answers --help, --version and bad paths before any window system is touched, so they work
 * without a display; returns the exit status then. Returns nullopt when the program should go on,
 * also when the arguments hold Qt's own options (-platform, -style, ...), which only QApplication
 * understands: parseArguments() follows.
 */
std::optional<int> answerWithoutDisplay(int argc, char** argv) {
  QStringList arguments;
  for (int i = 0; i < argc; ++i) arguments << QString::fromLocal8Bit(argv[i]);
  QCommandLineParser parser;
  describe(&parser, kStoreOption);
  if (!parser.parse(arguments)) return std::nullopt;
  if (parser.isSet(QStringLiteral("help")) || parser.isSet(QStringLiteral("help-all"))) {
    QString help = parser.helpText();
    help.replace(QLatin1String("<executable_name>"), QLatin1String("nmar-workbench"));
    std::fputs(qPrintable(help), stdout);
    return 0;
  }
  if (parser.isSet(QStringLiteral("version"))) {
    std::printf("nmar-workbench %s\n", qPrintable(QCoreApplication::applicationVersion()));
    return 0;
  }
  return checkPaths(parser);
}

/** Parses what QApplication left of the arguments; exits on an error (status 2) or --help. */
Options parseArguments(const QApplication& app) {
  QCommandLineParser parser;
  describe(&parser, kStoreOption);
  parser.process(app);
  if (const auto status = checkPaths(parser)) std::exit(*status);
  Options options;
  options.store = parser.value(kStoreOption);
  options.screenshot = parser.value(kScreenshotOption);
  options.panel = parser.value(kShowPanelOption);
  bool ok = false;
  options.screenshotDelayMs = parser.value(kScreenshotDelayOption).toInt(&ok);
  if (!ok || options.screenshotDelayMs < 0) {
    std::fprintf(stderr,
                 "nmar-workbench: --screenshot-delay: expected milliseconds >= 0, got '%s'\n",
                 qPrintable(parser.value(kScreenshotDelayOption)));
    std::exit(2);
  }
  options.paths = parser.positionalArguments();
  return options;
}

/** Keeps the command line's requests on the window and says in the log what was given. */
void applyOptions(const Options& options, MainWindow* window) {
  auto log = nmar::core::logger("app.workbench");
  if (!options.store.isEmpty()) {
    window->setRunStorePath(options.store);
    log->info(
        "run store given on the command line: '{}' (the training dashboard and run explorer "
        "read it)",
        options.store.toStdString());
  }
  for (const QString& path : options.paths) {
    QString error;
    const auto request = nmar::widgets::classifyPath(path, &error);
    if (!request) {
      log->error("command line: {}", error.toStdString());
    } else {
      window->setStartupRequest(*request);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const nmar::core::BuildInfo info = nmar::core::buildInfo();
  QCoreApplication::setApplicationName(QStringLiteral("N-MAR Workbench"));
  QCoreApplication::setOrganizationName(QStringLiteral("nmar"));  // QSettings: ~/.config/nmar/
  QCoreApplication::setApplicationVersion(QString::fromStdString(info.version));
  if (const auto status = answerWithoutDisplay(argc, argv)) return *status;

  QApplication app(argc, argv);
  const Options options = parseArguments(app);
  QApplication::setWindowIcon(QIcon(QStringLiteral(":/nmar/icons/nmar-workbench.svg")));
  QGuiApplication::setDesktopFileName(QStringLiteral("org.nmar.Workbench"));

  MainWindow window;  // creates the log pane: lines logged from here on show in it
  nmar::core::logger("app.workbench")
      ->info("N-MAR Workbench {} (revision {}), Qt {}, LibTorch {}", info.version, info.gitRevision,
             qVersion(), info.torchVersion);
  window.setDeviceText(info.cudaAvailable ? QStringLiteral("CPU (CUDA available)")
                                          : QStringLiteral("CPU"));
  applyOptions(options, &window);
  nmar::widgets::DecodeController decode(&window);  // stack, attention and replay panels
  nmar::widgets::TrainingController training(&window, &decode);  // dashboard, explorer, ...

  window.restoreLayout();
  window.show();
  decode.openStartup();  // the command line's checkpoint or trace, else the bundled demo
  if (!options.panel.isEmpty()) {
    if (auto* dock = window.findChild<QDockWidget*>(options.panel)) {
      dock->show();
      dock->raise();
    } else {
      nmar::core::logger("app.workbench")->error("--show-panel: no panel '{}'",
                                                 options.panel.toStdString());
    }
  }
  if (!options.screenshot.isEmpty()) {
    QTimer::singleShot(options.screenshotDelayMs, &window, [&window, &options] {
      const bool saved = window.grab().save(options.screenshot, "PNG");
      if (!saved) {
        std::fprintf(stderr, "nmar-workbench: --screenshot: cannot write '%s'\n",
                     qPrintable(options.screenshot));
      }
      QCoreApplication::exit(saved ? 0 : 1);
    });
  }
  return app.exec();
}
