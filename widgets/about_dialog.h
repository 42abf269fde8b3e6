#pragma once
/** @file The About box: what this build is and what it runs on. */
#include <QDialog>

namespace nmar::widgets {

/**
 * Non-modal About dialog: application version and revision, Qt (run time and build), QCustomPlot,
 * LibTorch, SQLite, the BLAS actually loaded and the devices, from nmar::core::buildInfo().
 * Has a button that copies the same facts as plain text. GUI thread only.
 */
class AboutDialog : public QDialog {
  Q_OBJECT
 public:
  explicit AboutDialog(QWidget* parent = nullptr);

  /** The facts shown, as plain "name: value" lines (also what Copy puts on the clipboard). */
  QString versionsText() const { return m_plainText; }

 private:
  QString m_plainText;
};

}  // namespace nmar::widgets
