#pragma once
/**
 * @file Run → Load deviation detector… / Unload: wires the decode worker's detector (issue 12) to
 * the menu, the detector strip and the log.
 */
#include <QObject>
#include <QString>

#include "widgets/decode_options.h"

class QAction;

namespace nmar::widgets {

class DecodeWorker;
class DetectorStrip;
class MainWindow;

/**
 * Adds "Load deviation detector…" (Ctrl+D) and "Unload deviation detector" to the window's Run
 * menu, asks @p worker (on its thread, through queued calls) to load or drop a detector, and
 * shows what the worker reports: the loaded detector in @p strip (which adopts its default tau)
 * and the status bar, a failure (missing or corrupt file, hidden size not the model's) as an
 * error naming the file through @p showError, never modal. The worker's own checkpoint-folder
 * detector (loaded with the model) arrives the same way. GUI thread only; @p worker must outlive
 * the queued calls (the decode controller owns both).
 */
class DetectorController : public QObject {
  Q_OBJECT
 public:
  DetectorController(MainWindow* window, DecodeWorker* worker, DetectorStrip* strip,
                     QObject* parent = nullptr);

  /** Asks the worker to load the detector in @p dir (detectorChanged() or errorShown() follows). */
  void loadDetector(const QString& dir);
  /** Asks the worker to drop its detector. */
  void unloadDetector();
  /** Enables the actions: loading needs a model (@p modelReady). */
  void setModelReady(bool modelReady);

  const DetectorInfo& detector() const { return m_detector; }
  QAction* loadAction() const { return m_load; }
  QAction* unloadAction() const { return m_unload; }

 Q_SIGNALS:
  /** The detector the next decode uses (none: !detector.loaded()). */
  void detectorChanged(const nmar::widgets::DetectorInfo& detector);
  /** Loading failed with @p message (it names the file). */
  void errorShown(const QString& message);

 private:
  void onDetectorChanged(const DetectorInfo& detector);
  void loadWithDialog();

  MainWindow* m_window;
  DecodeWorker* m_worker;
  DetectorStrip* m_strip;
  QAction* m_load = nullptr;
  QAction* m_unload = nullptr;
  DetectorInfo m_detector;
  bool m_modelReady = false;
};

}  // namespace nmar::widgets
