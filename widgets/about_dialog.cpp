#include "widgets/about_dialog.h"

#include <QApplication>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "util/build_info.h"
#include "viz/plot_export.h"

namespace nmar::widgets {

AboutDialog::AboutDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("About N-MAR Workbench"));
  setObjectName(QStringLiteral("aboutDialog"));
  const core::BuildInfo info = core::buildInfo();
  auto qs = [](const std::string& s) { return QString::fromStdString(s); };

  const QString cuda = info.cudaAvailable ? tr("%n device(s)", nullptr, info.cudaDevices)
                                          : tr("not available (CPU only)");
  const QString blas = info.blasPath.empty()
                           ? qs(info.blas)
                           : QStringLiteral("%1 (%2)").arg(qs(info.blas), qs(info.blasPath));
  const QList<QPair<QString, QString>> rows = {
      {tr("N-MAR Workbench"),
       QStringLiteral("%1 (revision %2)").arg(qs(info.version), qs(info.gitRevision))},
      {tr("Qt"), QStringLiteral("%1 (built with %2)")
                     .arg(QString::fromLatin1(qVersion()), QStringLiteral(QT_VERSION_STR))},
      {tr("QCustomPlot"), viz::qcustomplotVersion()},
      {tr("LibTorch"), qs(info.torchVersion)},
      {tr("SQLite"), qs(info.sqliteVersion)},
      {tr("BLAS"), blas},
      {tr("CUDA"), cuda},
      {tr("CPU threads"), QString::number(info.intraOpThreads)},
  };

  QString html = QStringLiteral(
      "<h2>N-MAR Workbench</h2><p>Language models that can take back what they wrote.</p>"
      "<table cellspacing='4'>");
  for (const auto& [name, value] : rows) {
    html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                .arg(name.toHtmlEscaped(), value.toHtmlEscaped());
    m_plainText += QStringLiteral("%1: %2\n").arg(name, value);
  }
  html += QStringLiteral("</table>");

  auto* label = new QLabel(html, this);
  label->setObjectName(QStringLiteral("aboutText"));
  label->setTextFormat(Qt::RichText);
  label->setTextInteractionFlags(Qt::TextSelectableByMouse);
  label->setWordWrap(true);

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  QPushButton* copy = buttons->addButton(tr("Copy versions"), QDialogButtonBox::ActionRole);
  connect(copy, &QPushButton::clicked, this,
          [this] { QApplication::clipboard()->setText(m_plainText); });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(label);
  layout->addWidget(buttons);
  setMinimumWidth(520);
}

}  // namespace nmar::widgets
