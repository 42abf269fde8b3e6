#include "widgets/decode_controller.h"

#include <QAction>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMetaObject>
#include <QStatusBar>
#include <QThread>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>

#include "trace/trace_io.h"
#include "util/build_info.h"
#include "util/log.h"
#include "viz/heatmap_view.h"
#include "widgets/attention_panel.h"
#include "widgets/decode_worker.h"
#include "widgets/demo_locator.h"
#include "widgets/detector_controller.h"
#include "widgets/detector_scores.h"
#include "widgets/detector_strip.h"
#include "widgets/device_menu.h"
#include "widgets/generation_stack_panel.h"
#include "widgets/main_window.h"
#include "widgets/replay_bar.h"
#include "widgets/trace_catalog.h"
#include "widgets/trace_picker.h"
#include "widgets/welcome_page.h"

namespace nmar::widgets {
namespace {

auto guiLog() { return core::logger("gui"); }

}  // namespace

DecodeController::DecodeController(MainWindow* window) : QObject(window), m_window(window) {
  qRegisterMetaType<DecodeOptions>();
  qRegisterMetaType<ModelInfo>();
  qRegisterMetaType<core::Trace>();
  qRegisterMetaType<core::TraceStep>();
  qRegisterMetaType<QList<core::TraceStep>>();
  qRegisterMetaType<AttentionMap>();
  qRegisterMetaType<AttentionSelection>();

  m_thread = new QThread(this);
  m_thread->setObjectName(QStringLiteral("decodeWorker"));
  m_worker = new DecodeWorker;
  m_worker->moveToThread(m_thread);
  m_thread->start();
  m_traceReader = new QFutureWatcher<TraceRead>(this);
  connect(m_traceReader, &QFutureWatcher<TraceRead>::finished, this,
          &DecodeController::onTraceRead);
  m_catalogReader = new QFutureWatcher<CatalogRead>(this);
  connect(m_catalogReader, &QFutureWatcher<CatalogRead>::finished, this,
          &DecodeController::onCatalogRead);
  m_picker = new TracePicker(window);
  connect(m_picker, &TracePicker::traceChosen, this, &DecodeController::openEntry);

  m_attentionTimer = new QTimer(this);
  m_attentionTimer->setSingleShot(true);
  m_attentionTimer->setInterval(250);
  connect(m_attentionTimer, &QTimer::timeout, this, [this] { pushTraceToAttention(false); });
  createPanels();
  m_stack->restoreSettings();
  createMenuActions();
  connectWorker();
  connect(window, &MainWindow::openRequested, this, &DecodeController::onOpenRequested);
  updateActions();
}

DecodeController::~DecodeController() {
  m_stack->saveSettings();
  m_worker->requestCancel();
  m_thread->quit();
  m_thread->wait();
  delete m_worker;  // the thread has ended: the model is released here, nothing runs on it
  m_traceReader->waitForFinished();
}

void DecodeController::createPanels() {
  m_stack = new GenerationStackPanel;
  m_stack->setPrompt(QStringLiteral("348+275="));
  m_attention = new AttentionPanel;
  m_replay = new ReplayBar;
  m_window->addPanel(m_stack, tr("Generation stack"), QStringLiteral("stackDock"),
                     Qt::TopDockWidgetArea, QKeySequence(tr("Ctrl+Shift+G")));
  m_window->addPanel(m_attention, tr("Attention"), QStringLiteral("attentionDock"),
                     Qt::BottomDockWidgetArea, QKeySequence(tr("Ctrl+Shift+A")));
  QDockWidget* replay =
      m_window->addPanel(m_replay, tr("Replay"), QStringLiteral("replayDock"),
                         Qt::BottomDockWidgetArea, QKeySequence(tr("Ctrl+Shift+R")));
  m_window->splitDockWidget(m_window->findChild<QDockWidget*>(QStringLiteral("attentionDock")),
                            replay, Qt::Vertical);

  connect(m_stack, &GenerationStackPanel::stepRequested, m_window->runActions().step,
          &QAction::trigger);
  connect(m_stack, &GenerationStackPanel::runRequested, m_window->runActions().run,
          &QAction::trigger);
  connect(m_stack, &GenerationStackPanel::pauseRequested, m_window->runActions().pause,
          &QAction::trigger);
  connect(m_stack, &GenerationStackPanel::resetRequested, m_window->runActions().reset,
          &QAction::trigger);
  connect(m_stack, &GenerationStackPanel::injectRequested, this,
          [this](int step, const QString& token) {
            configureWorker();
            if (step < 0) {
              QMetaObject::invokeMethod(
                  m_worker, [w = m_worker, token] { w->injectNow(token); }, Qt::QueuedConnection);
            } else {
              guiLog()->info("error injection scheduled at step {}", step + 1);
              QMetaObject::invokeMethod(
                  m_worker, [w = m_worker, step, token] { w->injectAt(step, token); },
                  Qt::QueuedConnection);
            }
          });
  connect(m_stack, &GenerationStackPanel::seekRequested, m_replay, &ReplayBar::setPosition);
  connect(m_replay, &ReplayBar::positionChanged, this,
          [this](int applied) { setPosition(applied, applied == m_position + 1); });
  connect(m_attention, &AttentionPanel::comparisonRequested, this,
          [this](const AttentionSelection& selection, int requestId) {
            if (!m_modelReady) {
              showError(
                  tr("hard vs soft needs the model that wrote the trace: open its "
                     "checkpoint folder"));
              return;
            }
            core::Trace trace = m_timeline.trace();
            for (core::TraceStep& s : trace.steps) s.attention = {};  // not needed; smaller copy
            QMetaObject::invokeMethod(
                m_worker,
                [w = m_worker, trace = std::move(trace), selection, requestId] {
                  w->computeComparison(trace, selection, requestId);
                },
                Qt::QueuedConnection);
          });
}

void DecodeController::createMenuActions() {
  const RunActions& run = m_window->runActions();
  connect(run.run, &QAction::triggered, this, [this] {
    configureWorker();
    QMetaObject::invokeMethod(m_worker, &DecodeWorker::run, Qt::QueuedConnection);
  });
  connect(run.step, &QAction::triggered, this, [this] {
    configureWorker();
    QMetaObject::invokeMethod(m_worker, &DecodeWorker::step, Qt::QueuedConnection);
  });
  connect(run.pause, &QAction::triggered, this, [this] { m_worker->requestPause(); });
  connect(run.reset, &QAction::triggered, this, [this] {
    m_worker->requestPause();
    QMetaObject::invokeMethod(m_worker, &DecodeWorker::reset, Qt::QueuedConnection);
  });
  m_inject = new QAction(tr("&Inject error"), this);
  m_inject->setObjectName(QStringLiteral("injectError"));
  m_inject->setShortcut(QKeySequence(tr("Ctrl+I")));
  m_inject->setStatusTip(tr("Push a random wrong token now"));
  connect(m_inject, &QAction::triggered, this, [this] { Q_EMIT m_stack->injectRequested(-1, {}); });
  if (QMenu* runMenu = m_window->findChild<QMenu*>(QStringLiteral("runMenu"))) {
    runMenu->insertAction(run.reset, m_inject);
    runMenu->addSeparator();
    m_deviceMenu = new DeviceMenu(runMenu, core::buildInfo().cudaDevices, this);
    connect(m_deviceMenu, &DeviceMenu::deviceChosen, this, [this](const QString& device) {
      guiLog()->info("decode device: {}", device.toStdString());
      if (m_modelReady) openCheckpoint(m_model.dir);  // the same model, on the new device
    });
  }
  m_detector = new DetectorController(m_window, m_worker, m_stack->detectorStrip(), this);
  connect(m_detector, &DetectorController::errorShown, this, &DecodeController::errorShown);

  m_exportPlot = new QAction(tr("Export &plot…"), this);
  m_exportPlot->setObjectName(QStringLiteral("exportPlot"));
  m_exportPlot->setStatusTip(tr("Save the attention map as PNG, SVG or PDF"));
  connect(m_exportPlot, &QAction::triggered, this, &DecodeController::exportPlotWithDialog);
  m_exportTrace = new QAction(tr("Export &trace as JSON…"), this);
  m_exportTrace->setObjectName(QStringLiteral("exportTrace"));
  m_exportTrace->setStatusTip(tr("Save the current trace (nmar-trace/1)"));
  connect(m_exportTrace, &QAction::triggered, this, &DecodeController::exportTraceWithDialog);
  if (QMenu* file = m_window->findChild<QMenu*>(QStringLiteral("fileMenu"))) {
    QAction* quit = file->actions().isEmpty() ? nullptr : file->actions().last();
    QAction* before = file->actions().size() >= 2 ? file->actions().at(file->actions().size() - 2)
                                                  : quit;  // the separator above Quit
    file->insertAction(before, m_exportPlot);
    file->insertAction(before, m_exportTrace);
  }
}

void DecodeController::connectWorker() {
  connect(m_worker, &DecodeWorker::modelLoaded, this, &DecodeController::onModelLoaded);
  connect(m_worker, &DecodeWorker::loadFailed, this, [this](const QString& message) {
    m_window->setJobText(tr("idle"));
    showError(tr("could not open checkpoint: %1").arg(message));
  });
  connect(m_worker, &DecodeWorker::started, this, &DecodeController::onStarted);
  connect(m_worker, &DecodeWorker::stepsReady, this, &DecodeController::onSteps);
  connect(m_worker, &DecodeWorker::finished, this, &DecodeController::onFinished);
  connect(m_worker, &DecodeWorker::runningChanged, this, &DecodeController::onRunningChanged);
  connect(m_worker, &DecodeWorker::paused, this,
          [this] { m_window->setJobText(tr("paused at step %1").arg(m_timeline.stepCount())); });
  connect(m_worker, &DecodeWorker::failed, this, &DecodeController::showError);
  connect(m_worker, &DecodeWorker::resetDone, this, [this] {
    m_timeline.reset(core::Trace{});
    m_live = false;
    traceChanged(false);
    m_window->setJobText(tr("idle"));
  });
  connect(m_worker, &DecodeWorker::comparisonReady, m_attention, &AttentionPanel::setComparison);
}

void DecodeController::openStartup() {
  if (const auto request = m_window->startupRequest()) {
    onOpenRequested(request->kind, request->path);
    return;
  }
  const QString model = findDemoModel();
  if (model.isEmpty()) {
    guiLog()->warn(
        "no bundled demo model: looked for addition/config.json in {}; open a checkpoint "
        "folder with File → Open checkpoint…",
        demoSearchPaths().join(QStringLiteral(", ")).toStdString());
    m_window->statusBar()->showMessage(tr("No demo model found; open a checkpoint folder"), 8000);
    return;
  }
  guiLog()->info("opening the bundled demo model {}", model.toStdString());
  openCheckpoint(model);
  const QString trace = findDemoTrace();
  if (!trace.isEmpty()) openTrace(trace);
}

void DecodeController::onOpenRequested(OpenKind kind, const QString& path) {
  switch (kind) {
    case OpenKind::Checkpoint:
      openCheckpoint(path);
      break;
    case OpenKind::Trace:
      openTrace(path);
      break;
    case OpenKind::RunStore:
      openCatalog(path, true);
      break;
  }
}

void DecodeController::openCheckpoint(const QString& dir) {
  m_window->setJobText(tr("loading %1").arg(QFileInfo(dir).fileName()));
  QMetaObject::invokeMethod(
      m_worker, [w = m_worker, dir, device = decodeDevice()] { w->loadCheckpoint(dir, device); },
      Qt::QueuedConnection);
}

QString DecodeController::decodeDevice() const {
  return m_deviceMenu != nullptr ? m_deviceMenu->device() : QStringLiteral("cpu");
}

void DecodeController::openTrace(const QString& path) {
  if (path.endsWith(QStringLiteral(".jsonl"), Qt::CaseInsensitive)) {
    openCatalog(path, false);  // one trace opens at once; several go to the picker
    return;
  }
  readTraceWith(path, [path] { return core::readTrace(path.toStdString()); });
}

void DecodeController::readTraceWith(const QString& label, std::function<core::Trace()> load) {
  if (m_traceReader->isRunning()) m_traceReader->waitForFinished();  // one read at a time
  m_window->setJobText(tr("reading %1").arg(label));
  m_traceReader->setFuture(QtConcurrent::run([label, load = std::move(load)] {
    TraceRead read;
    read.path = label;
    try {
      read.trace = std::make_shared<core::Trace>(load());
      // Its own tokenizer labels the prompt even when no model (or another one) is loaded.
      read.vocabulary = traceVocabulary(*read.trace, label, &read.vocabularyNote);
    } catch (const std::exception& e) {
      read.error = QString::fromStdString(e.what());
    }
    return read;
  }));
}

void DecodeController::openCatalog(const QString& path, bool store) {
  if (m_catalogReader->isRunning()) m_catalogReader->waitForFinished();
  m_window->setJobText(tr("listing %1").arg(QFileInfo(path).fileName()));
  m_catalogReader->setFuture(QtConcurrent::run([path, store] {
    CatalogRead read;
    try {
      read.catalog = store ? listStoreTraces(path) : listFileTraces(path);
    } catch (const std::exception& e) {
      read.error = QString::fromStdString(e.what());
    }
    read.catalog.path = path;
    return read;
  }));
}

void DecodeController::onCatalogRead() {
  const CatalogRead read = m_catalogReader->result();
  m_window->setJobText(m_running ? tr("decoding") : tr("idle"));
  if (!read.error.isEmpty()) {
    showError(tr("could not list the traces: %1").arg(read.error));
    return;
  }
  if (read.catalog.entries.isEmpty()) {
    showError(tr("%1 holds no trace").arg(read.catalog.path));
    return;
  }
  if (read.catalog.entries.size() == 1 && !read.catalog.fromStore) {
    openEntry(read.catalog, read.catalog.entries.front());
    return;
  }
  guiLog()->info("{} holds {} traces: choose one to replay", read.catalog.path.toStdString(),
                 read.catalog.entries.size());
  m_picker->setCatalog(read.catalog);
  m_picker->show();
  m_picker->raise();
  Q_EMIT catalogListed(read.catalog.path, int(read.catalog.entries.size()));
}

void DecodeController::openEntry(const TraceCatalog& catalog, const TraceEntry& entry) {
  readTraceWith(describeEntry(catalog, entry),
                [catalog, entry] { return loadCatalogTrace(catalog, entry); });
}

void DecodeController::onTraceRead() {
  const TraceRead read = m_traceReader->result();
  m_window->setJobText(m_running ? tr("decoding") : tr("idle"));
  if (!read.error.isEmpty()) {
    showError(tr("could not open trace: %1").arg(read.error));
    return;
  }
  if (m_running) {
    m_worker->requestPause();
  }
  m_live = false;
  m_timeline.reset(*read.trace);
  // Run decodes the replayed prompt again with the loaded model.
  if (!read.trace->promptText.empty())
    m_stack->setPrompt(QString::fromStdString(read.trace->promptText));
  if (!read.vocabulary.isEmpty()) {
    m_timeline.setVocabulary(read.vocabulary);
  } else {
    m_timeline.setVocabulary(m_model.vocabulary);
    if (!m_modelReady)
      guiLog()->info("prompt tokens shown as ids: {}", read.vocabularyNote.toStdString());
  }
  // A replayed trace shows its scores at the tau its decode used (issue 12).
  if (const auto tau = traceVerifierTau(*read.trace)) m_stack->detectorStrip()->setTau(*tau);
  traceChanged(false);
  m_replay->setPosition(m_timeline.stepCount());
  setPosition(m_timeline.stepCount(), false);
  m_window->welcomePage()->hide();
  guiLog()->info("opened trace {} ({} steps, {} mode)", read.path.toStdString(),
                 m_timeline.stepCount(), core::traceModeName(read.trace->mode));
  m_window->statusBar()->showMessage(tr("Trace: %1").arg(read.path), 5000);
  Q_EMIT traceOpened(read.path);
}

void DecodeController::onModelLoaded(const ModelInfo& info) {
  m_model = info;
  m_modelReady = true;
  m_timeline.setVocabulary(info.vocabulary);
  // A trace shown before the model finished loading (the demo opens both at once) gets its
  // prompt's texts now: its chips and map labels were ids until the vocabulary arrived.
  if (!m_running && !m_timeline.isEmpty()) {
    traceChanged(false);
    setPosition(m_position, false);
  }
  m_window->setModelText(info.summary());
  m_window->setDeviceText(info.device);
  m_window->setJobText(tr("idle"));
  m_window->welcomePage()->hide();
  m_window->statusBar()->showMessage(tr("Model loaded: %1").arg(info.dir), 5000);
  updateActions();
  Q_EMIT modelLoaded(info);
}

void DecodeController::configureWorker() {
  const QString prompt = m_stack->prompt();
  const DecodeOptions options = m_stack->options();
  QMetaObject::invokeMethod(
      m_worker, [w = m_worker, prompt, options] { w->configure(prompt, options); },
      Qt::QueuedConnection);
}

void DecodeController::onStarted(const core::Trace& header) {
  m_live = true;
  m_timeline.reset(header);
  m_timeline.setVocabulary(m_model.vocabulary);  // a replayed trace may have set its own
  traceChanged(true);
  setPosition(0, false);
  m_window->setJobText(tr("decoding"));
}

void DecodeController::onSteps(const QList<core::TraceStep>& steps) {
  const bool following = m_position == m_timeline.stepCount();
  m_timeline.append(steps);
  traceChanged(true);
  if (following) setPosition(m_timeline.stepCount(), true);
  Q_EMIT stepsArrived(m_timeline.stepCount());
}

void DecodeController::onFinished(const core::Trace& trace, const QString& reason) {
  const bool following = m_position == m_timeline.stepCount();
  m_timeline.reset(trace);  // the final trace: output text and meta
  traceChanged(false);
  if (following) setPosition(m_timeline.stepCount(), false);
  m_window->setJobText(tr("finished (%1)").arg(reason));
  guiLog()->info("decode finished ({}): output \"{}\", {} steps", reason.toStdString(),
                 trace.outputText, trace.steps.size());
  Q_EMIT decodeFinished(reason);
}

void DecodeController::onRunningChanged(bool running) {
  m_running = running;
  if (running) m_window->setJobText(tr("decoding"));
  updateActions();
  Q_EMIT runningChanged(running);
}

void DecodeController::traceChanged(bool live) {
  const int n = m_timeline.stepCount();
  m_allDepths = m_timeline.snapshot(n).depths;
  m_stack->detectorStrip()->setTrace(m_timeline.trace(), std::min(m_position, n));
  m_stepLabels.clear();
  for (const core::TraceStep& s : m_timeline.trace().steps)
    m_stepLabels << (s.kind == core::StepKind::kPop ? QStringLiteral("⟲")
                                                    : visibleText(QString::fromStdString(s.text)));
  m_replay->setStepCount(n);
  if (n == 0 && m_timeline.isEmpty()) {
    m_attentionTimer->stop();
    m_attention->clear();
    m_position = 0;
    m_stack->showSnapshot(m_timeline.snapshot(0), {}, false);
    return;
  }
  // A live decode copies its trace (attention included) for the map about four times a second,
  // not once per batch; a finished or replayed trace goes at once, with its comparison.
  if (!live) {
    m_attentionTimer->stop();
    pushTraceToAttention(true);
  } else if (!m_attentionTimer->isActive()) {
    m_attentionTimer->start();
  }
  updateActions();
}

void DecodeController::pushTraceToAttention(bool compare) {
  m_attention->setTrace(std::make_shared<const core::Trace>(m_timeline.trace()),
                        m_timeline.promptLabels(), m_stepLabels,
                        std::min(m_position, m_timeline.stepCount()), compare);
}

void DecodeController::setPosition(int applied, bool animate) {
  m_position = std::clamp(applied, 0, m_timeline.stepCount());
  if (m_replay->position() != m_position) {
    const QSignalBlocker block(m_replay);
    m_replay->setPosition(m_position);
  }
  m_stack->showSnapshot(m_timeline.snapshot(m_position), m_allDepths, animate);
  m_attention->setApplied(m_position);
}

void DecodeController::updateActions() {
  const RunActions& run = m_window->runActions();
  run.run->setEnabled(m_modelReady && !m_running);
  run.step->setEnabled(m_modelReady && !m_running);
  run.pause->setEnabled(m_modelReady && m_running);
  run.reset->setEnabled(m_modelReady);
  m_inject->setEnabled(m_modelReady);
  for (QAction* a : {run.run, run.step, run.pause, run.reset, m_inject})
    a->setStatusTip(m_modelReady ? a->text().remove(QLatin1Char('&')) : tr("load a model first"));
  m_stack->setControlsEnabled(m_modelReady, m_running);
  m_detector->setModelReady(m_modelReady);
  const bool haveTrace = m_timeline.stepCount() > 0;
  m_exportTrace->setEnabled(haveTrace);
  m_exportPlot->setEnabled(haveTrace);
}

void DecodeController::showError(const QString& message) {
  guiLog()->error("{}", message.toStdString());
  m_window->statusBar()->showMessage(message, 10000);
  Q_EMIT errorShown(message);
}

bool DecodeController::exportTrace(const QString& path, QString* error) const {
  try {
    core::writeTrace(path.toStdString(), m_timeline.trace());
    guiLog()->info("wrote trace {}", path.toStdString());
    return true;
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
}

bool DecodeController::exportPlot(const QString& path, QString* error) const {
  return m_attention->recordedView()->exportTo(path, error);
}

void DecodeController::exportPlotWithDialog() {
  const QString path = QFileDialog::getSaveFileName(
      m_window, tr("Export plot"), QStringLiteral("attention.png"),
      tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)"));
  if (path.isEmpty()) return;
  QString error;
  if (!exportPlot(path, &error)) showError(tr("export failed: %1").arg(error));
}

void DecodeController::exportTraceWithDialog() {
  const QString path = QFileDialog::getSaveFileName(
      m_window, tr("Export trace"), QStringLiteral("trace.json"), tr("Traces (*.json)"));
  if (path.isEmpty()) return;
  QString error;
  if (!exportTrace(path, &error)) showError(tr("export failed: %1").arg(error));
}

}  // namespace nmar::widgets
