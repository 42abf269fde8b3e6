#include "widgets/welcome_page.h"

#include <algorithm>

#include <QAction>
#include <QDir>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace nmar::widgets {
namespace {

constexpr int kKindRole = Qt::UserRole;
constexpr int kPathRole = Qt::UserRole + 1;

QPushButton* buttonFor(QAction* action, QWidget* parent) {
  auto* button = new QPushButton(action->text().remove(QLatin1Char('&')), parent);
  button->setToolTip(action->toolTip());
  button->setMinimumWidth(170);
  QObject::connect(button, &QPushButton::clicked, action, &QAction::trigger);
  return button;
}

QLabel* wrappedLabel(const QString& text, QWidget* parent) {
  auto* label = new QLabel(text, parent);
  label->setWordWrap(true);
  label->setTextFormat(Qt::RichText);
  return label;
}

}  // namespace

WelcomePage::WelcomePage(QAction* openCheckpoint, QAction* openTrace, QAction* openStore,
                         QWidget* parent)
    : QWidget(parent) {
  setObjectName(QStringLiteral("welcomePage"));
  auto* content = new QWidget(this);
  content->setMaximumWidth(760);

  auto* title = new QLabel(tr("N-MAR Workbench"), content);
  QFont titleFont = title->font();
  titleFont.setPointSizeF(titleFont.pointSizeF() * 2.0);
  titleFont.setBold(true);
  title->setFont(titleFont);
  auto* subtitle = wrappedLabel(
      tr("Explore language models that can take back what they wrote: watch tokens being pushed "
         "and undone, inspect attention with pruned keys, replay recorded traces and follow "
         "training runs."),
      content);

  auto* grid = new QGridLayout;
  grid->setHorizontalSpacing(16);
  grid->setVerticalSpacing(10);
  grid->addWidget(buttonFor(openCheckpoint, content), 0, 0);
  grid->addWidget(wrappedLabel(tr("a model folder in Hugging Face layout: <i>config.json</i>, "
                                  "<i>model.safetensors</i> and the tokenizer files"),
                               content),
                  0, 1);
  grid->addWidget(buttonFor(openTrace, content), 1, 0);
  grid->addWidget(wrappedLabel(tr("a recorded generation trace (<i>.json</i>) to replay step "
                                  "by step"),
                               content),
                  1, 1);
  grid->addWidget(buttonFor(openStore, content), 2, 0);
  grid->addWidget(wrappedLabel(tr("a run store (<i>.sqlite</i>) with training and evaluation "
                                  "runs, including runs the <tt>nmar</tt> command line is "
                                  "writing now"),
                               content),
                  2, 1);
  grid->setColumnStretch(1, 1);

  m_recentBox = new QWidget(content);
  m_recentList = new QListWidget(m_recentBox);
  m_recentList->setObjectName(QStringLiteral("recentFilesList"));
  m_recentList->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  m_recentList->setTextElideMode(Qt::ElideMiddle);
  connect(m_recentList, &QListWidget::itemActivated, this, &WelcomePage::onItemActivated);
  auto* recentLayout = new QVBoxLayout(m_recentBox);
  recentLayout->setContentsMargins(0, 12, 0, 0);
  recentLayout->addWidget(new QLabel(tr("<b>Recent</b>"), m_recentBox));
  recentLayout->addWidget(m_recentList);

  auto* layout = new QVBoxLayout(content);
  layout->addWidget(title);
  layout->addWidget(subtitle);
  layout->addSpacing(16);
  layout->addWidget(new QLabel(tr("<b>Open something to begin</b>"), content));
  layout->addLayout(grid);
  layout->addWidget(wrappedLabel(tr("…or drop a file or folder onto this window."), content));
  layout->addWidget(m_recentBox);

  // Centred column between 520 and 760 pixels wide; no alignment flag, so that wrapped labels
  // get the height they need for the width they are given.
  content->setMinimumWidth(520);
  content->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
  auto* row = new QHBoxLayout;
  row->addStretch(1);
  row->addWidget(content, 4);
  row->addStretch(1);
  auto* outer = new QVBoxLayout(this);
  outer->addStretch(1);
  outer->addLayout(row);
  outer->addStretch(2);
  setRecentFiles({});
}

void WelcomePage::setRecentFiles(const QList<OpenRequest>& entries) {
  m_recentList->clear();
  for (const OpenRequest& entry : entries) {
    auto* item =
        new QListWidgetItem(QStringLiteral("%1 — %2").arg(openKindName(entry.kind),
                                                          QDir::toNativeSeparators(entry.path)),
                            m_recentList);
    item->setData(kKindRole, QVariant::fromValue(entry.kind));
    item->setData(kPathRole, entry.path);
    item->setToolTip(entry.path);
  }
  // As tall as its entries (up to kMaxRecentFiles rows), not a large empty box.
  const int rows = std::max(1, m_recentList->count());
  m_recentList->setFixedHeight(rows * m_recentList->sizeHintForRow(0) +
                               2 * m_recentList->frameWidth() + 4);
  m_recentBox->setVisible(!entries.isEmpty());
}

int WelcomePage::recentFileCount() const { return m_recentList->count(); }

void WelcomePage::onItemActivated(QListWidgetItem* item) {
  Q_EMIT recentFileActivated(item->data(kKindRole).value<OpenKind>(),
                             item->data(kPathRole).toString());
}

}  // namespace nmar::widgets
