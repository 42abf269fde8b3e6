#include "widgets/detector_controller.h"

#include <QAction>
#include <QFileDialog>
#include <QMenu>
#include <QMetaObject>
#include <QStatusBar>

#include "util/log.h"
#include "widgets/decode_worker.h"
#include "widgets/detector_strip.h"
#include "widgets/main_window.h"

namespace nmar::widgets {

DetectorController::DetectorController(MainWindow* window, DecodeWorker* worker,
                                       DetectorStrip* strip, QObject* parent)
    : QObject(parent), m_window(window), m_worker(worker), m_strip(strip) {
  qRegisterMetaType<DetectorInfo>();
  m_load = new QAction(tr("Load deviation &detector…"), this);
  m_load->setObjectName(QStringLiteral("loadDetector"));
  m_load->setShortcut(QKeySequence(tr("Ctrl+D")));
  m_load->setStatusTip(
      tr("Open a folder with detector_config.json + detector.safetensors (nmar detector train): "
         "the next decode scores every token and can trigger UNDO above tau"));
  connect(m_load, &QAction::triggered, this, &DetectorController::loadWithDialog);
  m_unload = new QAction(tr("Unload deviation detector"), this);
  m_unload->setObjectName(QStringLiteral("unloadDetector"));
  m_unload->setStatusTip(tr("Decode without the detector (no scores, no trigger)"));
  connect(m_unload, &QAction::triggered, this, &DetectorController::unloadDetector);
  if (QMenu* run = window->findChild<QMenu*>(QStringLiteral("runMenu"))) {
    run->addSeparator();
    run->addAction(m_load);
    run->addAction(m_unload);
  }
  connect(worker, &DecodeWorker::detectorChanged, this, &DetectorController::onDetectorChanged);
  connect(worker, &DecodeWorker::detectorFailed, this, [this](const QString& message) {
    const QString text = tr("could not load the deviation detector: %1").arg(message);
    core::logger("gui")->error("{}", text.toStdString());
    m_window->statusBar()->showMessage(text, 10000);
    Q_EMIT errorShown(text);
  });
  setModelReady(false);
}

void DetectorController::setModelReady(bool modelReady) {
  m_modelReady = modelReady;
  m_load->setEnabled(modelReady);
  m_unload->setEnabled(modelReady && m_detector.loaded());
}

void DetectorController::loadDetector(const QString& dir) {
  QMetaObject::invokeMethod(
      m_worker, [w = m_worker, dir] { w->loadDetector(dir); }, Qt::QueuedConnection);
}

void DetectorController::unloadDetector() {
  QMetaObject::invokeMethod(m_worker, &DecodeWorker::unloadDetector, Qt::QueuedConnection);
}

void DetectorController::loadWithDialog() {
  const QString start = m_detector.loaded() ? m_detector.dir : QString();
  const QString dir =
      QFileDialog::getExistingDirectory(m_window, tr("Load deviation detector"), start);
  if (!dir.isEmpty()) loadDetector(dir);
}

void DetectorController::onDetectorChanged(const DetectorInfo& detector) {
  const bool changed = detector.dir != m_detector.dir;
  m_detector = detector;
  m_strip->setDetector(detector);
  setModelReady(m_modelReady);
  if (changed && detector.loaded()) {
    core::logger("gui")->info("deviation detector: {}", detector.dir.toStdString());
    m_window->statusBar()->showMessage(tr("Deviation detector: %1").arg(detector.summary()), 5000);
  }
  Q_EMIT detectorChanged(detector);
}

}  // namespace nmar::widgets
