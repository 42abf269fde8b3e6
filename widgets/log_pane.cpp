#include "widgets/log_pane.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QTextBlock>
#include <QTextDocumentFragment>
#include <QToolButton>
#include <QVBoxLayout>

#include "util/log.h"
#include "widgets/qt_log_sink.h"

namespace nmar::widgets {
namespace {

QTextCharFormat formatFor(LogLevel level, const QPalette& palette) {
  QTextCharFormat format;
  switch (level) {
    case LogLevel::Trace:
    case LogLevel::Debug:
      format.setForeground(palette.color(QPalette::Disabled, QPalette::Text));
      break;
    case LogLevel::Info:
      format.setForeground(palette.color(QPalette::Text));
      break;
    case LogLevel::Warn:
      format.setForeground(QColor(0xb3, 0x6b, 0x00));  // amber, readable on light and dark
      break;
    case LogLevel::Error:
      format.setForeground(QColor(0xd3, 0x2f, 0x2f));
      break;
    case LogLevel::Critical:
      format.setForeground(QColor(0xd3, 0x2f, 0x2f));
      format.setFontWeight(QFont::Bold);
      break;
  }
  return format;
}

}  // namespace

LogPane::LogPane(QWidget* parent) : QWidget(parent) {
  m_view = new QPlainTextEdit(this);
  m_view->setReadOnly(true);
  m_view->setLineWrapMode(QPlainTextEdit::NoWrap);
  m_view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_view->setObjectName(QStringLiteral("logView"));

  m_levelBox = new QComboBox(this);
  m_levelBox->setObjectName(QStringLiteral("logLevelFilter"));
  m_levelBox->setToolTip(tr("Show lines at this level and above"));
  for (int level = int(LogLevel::Trace); level <= int(LogLevel::Critical); ++level) {
    m_levelBox->addItem(logLevelName(LogLevel(level)), level);
  }
  connect(m_levelBox, &QComboBox::currentIndexChanged, this,
          [this](int index) { setMinimumLevel(LogLevel(m_levelBox->itemData(index).toInt())); });

  auto* copyButton = new QToolButton(this);
  copyButton->setText(tr("Copy"));
  copyButton->setToolTip(tr("Copy the selection, or all shown lines"));
  connect(copyButton, &QToolButton::clicked, this, &LogPane::copyToClipboard);
  auto* clearButton = new QToolButton(this);
  clearButton->setText(tr("Clear"));
  clearButton->setToolTip(tr("Forget all log lines"));
  connect(clearButton, &QToolButton::clicked, this, &LogPane::clear);
  m_countLabel = new QLabel(this);

  auto* bar = new QHBoxLayout;
  bar->setContentsMargins(4, 2, 4, 0);
  bar->addWidget(new QLabel(tr("Level:"), this));
  bar->addWidget(m_levelBox);
  bar->addStretch(1);
  bar->addWidget(m_countLabel);
  bar->addWidget(copyButton);
  bar->addWidget(clearButton);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  layout->addLayout(bar);
  layout->addWidget(m_view, 1);
  updateCountLabel();

  m_relay = new LogRelay(this);
  // Queued: lines logged on worker threads are appended on this (GUI) thread.
  connect(m_relay, &LogRelay::lineLogged, this, &LogPane::appendLine, Qt::QueuedConnection);
  m_sink = std::make_shared<QtLogSink>(m_relay);
  core::addLogSink(m_sink);
}

LogPane::~LogPane() {
  core::removeLogSink(m_sink);
  m_sink->detach();  // a logger may still hold the sink (e.g. mid-call): it must not touch m_relay
}

void LogPane::setMaxLines(int maxLines) {
  m_maxLines = std::max(1, maxLines);
  while (int(m_lines.size()) > m_maxLines) m_lines.pop_front();
  rebuildView();
}

void LogPane::setMinimumLevel(LogLevel level) {
  if (level == m_minimumLevel) return;
  m_minimumLevel = level;
  const int index = m_levelBox->findData(int(level));
  if (index >= 0 && index != m_levelBox->currentIndex()) m_levelBox->setCurrentIndex(index);
  rebuildView();
}

QList<LogLine> LogPane::lines() const { return QList<LogLine>(m_lines.begin(), m_lines.end()); }

QString LogPane::visibleText() const { return m_view->toPlainText(); }

void LogPane::appendLine(const LogLine& line) {
  m_lines.push_back(line);
  if (passes(line)) ++m_visibleCount;
  if (int(m_lines.size()) > m_maxLines) {
    if (passes(m_lines.front())) {
      --m_visibleCount;
      removeFirstShownLine();
    }
    m_lines.pop_front();
  }
  if (passes(line)) showLine(line);
  updateCountLabel();
  Q_EMIT lineAppended(line);
}

void LogPane::showLine(const LogLine& line) {
  QScrollBar* scroll = m_view->verticalScrollBar();
  const bool atBottom = scroll->value() == scroll->maximum();
  QTextCursor cursor(m_view->document());
  cursor.movePosition(QTextCursor::End);
  if (!m_view->document()->isEmpty()) cursor.insertBlock();
  cursor.insertText(line.text, formatFor(line.level, palette()));
  if (atBottom) scroll->setValue(scroll->maximum());  // follow the tail unless the user scrolled up
}

void LogPane::removeFirstShownLine() {
  QTextCursor cursor(m_view->document());
  cursor.movePosition(QTextCursor::Start);
  // The first line with its line break; the last remaining line without one.
  if (!cursor.movePosition(QTextCursor::NextBlock, QTextCursor::KeepAnchor)) {
    cursor.movePosition(QTextCursor::End, QTextCursor::KeepAnchor);
  }
  cursor.removeSelectedText();
}

void LogPane::rebuildView() {
  m_view->clear();
  m_visibleCount = 0;
  for (const LogLine& line : m_lines) {
    if (!passes(line)) continue;
    ++m_visibleCount;
    showLine(line);
  }
  updateCountLabel();
}

void LogPane::clear() {
  m_lines.clear();
  m_visibleCount = 0;
  m_view->clear();
  updateCountLabel();
}

void LogPane::copyToClipboard() const {
  const QString selected = m_view->textCursor().selection().toPlainText();
  QApplication::clipboard()->setText(selected.isEmpty() ? visibleText() : selected);
}

void LogPane::updateCountLabel() {
  const int shown = visibleLineCount();
  m_countLabel->setText(shown == lineCount() ? tr("%n line(s)", nullptr, shown)
                                             : tr("%1 of %2 lines").arg(shown).arg(lineCount()));
}

}  // namespace nmar::widgets
