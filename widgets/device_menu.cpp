#include "widgets/device_menu.h"

#include <QAction>
#include <QActionGroup>
#include <QMenu>
#include <QSettings>

#include "util/log.h"

namespace nmar::widgets {
namespace {

constexpr char kSettingsKey[] = "decode/device";

}  // namespace

DeviceMenu::DeviceMenu(QMenu* parentMenu, int cudaDevices, QObject* parent) : QObject(parent) {
  m_menu = parentMenu->addMenu(tr("&Device"));
  m_menu->setObjectName(QStringLiteral("deviceMenu"));
  m_menu->setToolTipsVisible(true);
  m_group = new QActionGroup(this);
  m_group->setExclusive(true);
  auto add = [this](const QString& device, const QString& text, const QString& tip) {
    QAction* a = m_menu->addAction(text);
    a->setObjectName(QStringLiteral("device:") + device);
    a->setCheckable(true);
    a->setToolTip(tip);
    a->setData(device);
    m_group->addAction(a);
    m_devices << device;
  };
  add(QStringLiteral("auto"), tr("&Automatic"),
      cudaDevices > 0 ? tr("The first CUDA device") : tr("The CPU (no CUDA device is visible)"));
  add(QStringLiteral("cpu"), tr("&CPU"), tr("Decode on the CPU"));
  for (int i = 0; i < cudaDevices; ++i) {
    const QString name = QStringLiteral("cuda:%1").arg(i);
    add(name, tr("CUDA %1").arg(i), tr("Decode on CUDA device %1").arg(i));
  }
  if (cudaDevices == 0) {
    QAction* none = m_menu->addAction(tr("No CUDA device (this LibTorch or machine has none)"));
    none->setObjectName(QStringLiteral("noCudaDevice"));
    none->setEnabled(false);
  }

  QString saved = QSettings().value(QLatin1String(kSettingsKey), QStringLiteral("cpu")).toString();
  if (!m_devices.contains(saved)) {
    core::logger("gui")->warn("the saved decode device '{}' is not available here; using the CPU",
                              saved.toStdString());
    saved = QStringLiteral("cpu");
  }
  m_device = saved;
  for (QAction* a : m_group->actions()) a->setChecked(a->data().toString() == m_device);
  connect(m_group, &QActionGroup::triggered, this, [this](QAction* a) {
    const QString device = a->data().toString();
    if (device == m_device) return;
    m_device = device;
    QSettings().setValue(QLatin1String(kSettingsKey), device);
    Q_EMIT deviceChosen(device);
  });
}

bool DeviceMenu::choose(const QString& device) {
  for (QAction* a : m_group->actions()) {
    if (a->data().toString() == device) {
      a->trigger();
      return true;
    }
  }
  return false;
}

}  // namespace nmar::widgets
