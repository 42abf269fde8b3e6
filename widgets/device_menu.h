#pragma once
/**
 * @file Run → Device: where the decode model runs (automatic, CPU, or one of the CUDA devices
 * LibTorch sees), kept in QSettings between sessions.
 */
#include <QObject>
#include <QString>
#include <QStringList>

class QAction;
class QActionGroup;
class QMenu;

namespace nmar::widgets {

/**
 * A submenu of exclusive choices: "auto" (CUDA device 0 when one is visible, else the CPU), "cpu"
 * and "cuda:N" for each of @p cudaDevices. The choice is read from QSettings key "decode/device"
 * at construction (default "cpu": small demo models decode fast there and it always exists); a
 * saved device that is not available here (a setting from a GPU machine) falls back to "cpu" with
 * a warning in the log. Choosing an entry stores it and emits deviceChosen().
 */
class DeviceMenu : public QObject {
  Q_OBJECT
 public:
  DeviceMenu(QMenu* parentMenu, int cudaDevices, QObject* parent = nullptr);

  /** The chosen device in parseDevice() form: "auto", "cpu", "cuda:0", ... */
  QString device() const { return m_device; }
  /** Every device offered, in menu order. */
  QStringList devices() const { return m_devices; }
  /** Chooses @p device as if its entry were clicked; false (nothing changes) if not offered. */
  bool choose(const QString& device);
  QMenu* menu() const { return m_menu; }

 Q_SIGNALS:
  /** The user chose another device; the model should be loaded again there. */
  void deviceChosen(const QString& device);

 private:
  QMenu* m_menu = nullptr;
  QActionGroup* m_group = nullptr;
  QStringList m_devices;
  QString m_device;
};

}  // namespace nmar::widgets
