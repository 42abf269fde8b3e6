#include "widgets/attention_panel.h"

#include <algorithm>
#include <cmath>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include "viz/heatmap_view.h"

namespace nmar::widgets {
namespace {

QWidget* titled(QLabel* title, viz::HeatmapView* view) {
  auto* box = new QWidget;
  auto* v = new QVBoxLayout(box);
  v->setContentsMargins(0, 0, 0, 0);
  v->setSpacing(2);
  v->addWidget(title);
  v->addWidget(view, 1);
  return box;
}

}  // namespace

AttentionPanel::AttentionPanel(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("attentionPanel"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  auto* bar = new QHBoxLayout;
  m_layer = new QComboBox;
  m_layer->setObjectName(QStringLiteral("layerBox"));
  m_head = new QComboBox;
  m_head->setObjectName(QStringLiteral("headBox"));
  m_sideBySide = new QPushButton(tr("Hard vs soft"));
  m_sideBySide->setObjectName(QStringLiteral("sideBySideButton"));
  m_sideBySide->setCheckable(true);
  m_sideBySide->setToolTip(
      tr("Beside the recorded attention, the same tokens through one forward "
         "pass with the other visibility (needs the model)"));
  m_fit = new QPushButton(tr("Fit"));
  m_fit->setObjectName(QStringLiteral("fitButton"));
  m_fit->setToolTip(tr("Undo zoom and pan (wheel zooms, drag pans)"));
  bar->addWidget(new QLabel(tr("Layer:")));
  bar->addWidget(m_layer);
  bar->addWidget(new QLabel(tr("Head:")));
  bar->addWidget(m_head);
  bar->addWidget(m_sideBySide);
  bar->addWidget(m_fit);
  bar->addStretch(1);
  layout->addLayout(bar);

  m_left = new viz::HeatmapView;
  m_left->setObjectName(QStringLiteral("recordedHeatmap"));
  m_left->setValueTitle(tr("attention"));
  m_right = new viz::HeatmapView;
  m_right->setObjectName(QStringLiteral("comparisonHeatmap"));
  m_right->setValueTitle(tr("attention"));
  m_title = new QLabel(tr("recorded attention (░ = key pruned for this query)"));
  m_rightTitle = new QLabel(tr("comparison"));
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(titled(m_title, m_left));
  m_rightBox = titled(m_rightTitle, m_right);
  split->addWidget(m_rightBox);
  m_rightBox->hide();
  layout->addWidget(split, 1);
  m_readout = new QLabel(tr("hover a cell for its value"));
  m_readout->setObjectName(QStringLiteral("attentionReadout"));
  layout->addWidget(m_readout);

  m_watcher = new QFutureWatcher<AttentionMap>(this);
  connect(m_watcher, &QFutureWatcher<AttentionMap>::finished, this, &AttentionPanel::onBuilt);
  auto changed = [this] {
    if (m_filling) return;
    rebuild();
    requestComparison();
  };
  connect(m_layer, &QComboBox::currentIndexChanged, this, changed);
  connect(m_head, &QComboBox::currentIndexChanged, this, changed);
  connect(m_sideBySide, &QPushButton::toggled, this, [this](bool on) {
    m_rightBox->setVisible(on);
    if (on) requestComparison();
  });
  connect(m_fit, &QPushButton::clicked, this, [this] {
    m_left->fitView();
    m_right->fitView();
  });
  for (viz::HeatmapView* view : {m_left, m_right}) {
    connect(view, &viz::HeatmapView::cellHovered, this,
            [this, view](int row, int col, double) { updateReadout(view, row, col); });
  }
  fillSelectors(0, 0);
}

AttentionPanel::~AttentionPanel() { m_watcher->waitForFinished(); }

void AttentionPanel::fillSelectors(int layers, int heads) {
  if (m_layer->count() == std::max(layers, 1) && m_head->count() == heads + 1) return;
  m_filling = true;
  const int layer = m_layer->currentIndex();
  const int head = m_head->currentIndex();
  m_layer->clear();
  for (int l = 0; l < std::max(layers, 1); ++l) m_layer->addItem(QString::number(l), l);
  m_head->clear();
  m_head->addItem(tr("mean"), -1);
  for (int h = 0; h < heads; ++h) m_head->addItem(QString::number(h), h);
  m_layer->setCurrentIndex(layer >= 0 && layer < m_layer->count() ? layer : 0);
  m_head->setCurrentIndex(head >= 0 && head < m_head->count() ? head : 0);
  m_filling = false;
}

AttentionSelection AttentionPanel::selection() const {
  AttentionSelection s;
  s.layer = std::max(0, m_layer->currentData().toInt());
  s.head = m_head->currentIndex() <= 0 ? -1 : m_head->currentData().toInt();
  return s;
}

void AttentionPanel::setSelection(AttentionSelection selection) {
  m_filling = true;
  if (selection.layer < m_layer->count()) m_layer->setCurrentIndex(selection.layer);
  if (selection.head + 1 < m_head->count()) m_head->setCurrentIndex(selection.head + 1);
  m_filling = false;
  rebuild();
  requestComparison();
}

void AttentionPanel::setSideBySide(bool on) { m_sideBySide->setChecked(on); }

bool AttentionPanel::sideBySide() const { return m_sideBySide->isChecked(); }

bool AttentionPanel::isBuilding() const { return m_watcher->isRunning() || m_dirty; }

void AttentionPanel::setTrace(std::shared_ptr<const core::Trace> trace,
                              const QStringList& promptLabels, const QStringList& stepLabels,
                              int applied, bool compare) {
  m_trace = std::move(trace);
  m_promptLabels = promptLabels;
  m_stepLabels = stepLabels;
  m_applied = applied;
  rebuild();
  if (compare) requestComparison();
}

void AttentionPanel::clear() {
  m_trace.reset();
  m_recorded = {};
  m_comparison = {};
  m_left->clear();
  m_right->clear();
  ++m_requestId;
}

void AttentionPanel::rebuild() {
  if (!m_trace) return;
  if (m_watcher->isRunning()) {
    m_dirty = true;  // the newest trace wins once the running build ends
    return;
  }
  m_dirty = false;
  std::shared_ptr<const core::Trace> trace = m_trace;
  const AttentionSelection sel = selection();
  m_watcher->setFuture(QtConcurrent::run([trace, sel] {
    AttentionMap map =
        buildAttentionMap(*trace, attentionRowsOf(*trace), keyLayoutFor(trace->mode), sel, {}, {});
    map.cells = viz::prepareHeatmapCells(map.matrix);  // the GUI thread only copies them
    return map;
  }));
}

void AttentionPanel::onBuilt() {
  if (m_dirty) {
    rebuild();
    return;
  }
  m_recorded = m_watcher->result();
  fillSelectors(m_recorded.layers, m_recorded.heads);
  showMap(m_left, m_recorded, m_stepLabels, m_promptLabels + m_stepLabels);
  m_title->setText(m_recorded.rowsWithValues > 0
                       ? tr("recorded attention, %1 mode (hatched = key pruned for this query)")
                             .arg(QString::fromStdString(core::traceModeName(m_trace->mode)))
                       : tr("this trace has no recorded attention (decode with attention on)"));
  Q_EMIT mapShown();
}

void AttentionPanel::showMap(viz::HeatmapView* view, AttentionMap& map, const QStringList& rows,
                             const QStringList& cols) {
  if (rows.size() == map.matrix.rows && cols.size() == map.matrix.cols) {
    map.matrix.rowLabels = rows;
    map.matrix.colLabels = cols;
  }
  view->setMatrix(map.matrix, nullptr, map.cells);
  map.cells.reset();          // the view holds its own copy
  view->setAutoColorRange();  // spread-out attention over long traces would all read as 0
  view->setShadedMask(map.shaded);
  view->setVisibleExtent(m_applied, map.promptLength + m_applied);
}

void AttentionPanel::setApplied(int applied) {
  m_applied = applied;
  m_left->setVisibleExtent(applied, m_recorded.promptLength + applied);
  if (m_rightBox->isVisible())
    m_right->setVisibleExtent(applied, m_comparison.promptLength + applied);
}

void AttentionPanel::requestComparison() {
  if (!m_trace || !m_sideBySide->isChecked()) return;
  Q_EMIT comparisonRequested(selection(), ++m_requestId);
}

void AttentionPanel::setComparison(const AttentionMap& map, const QString& title, int requestId) {
  if (requestId != m_requestId) return;  // an older request
  m_comparison = map;
  m_rightTitle->setText(title);
  showMap(m_right, m_comparison, m_stepLabels, m_promptLabels + m_stepLabels);
  // One colour scale for both sides, so that equal colours mean equal attention.
  const auto [l0, l1] = m_left->colorRange();
  const auto [r0, r1] = m_right->colorRange();
  m_left->setColorRange(std::min(l0, r0), std::max(l1, r1));
  m_right->setColorRange(std::min(l0, r0), std::max(l1, r1));
  Q_EMIT mapShown();
}

void AttentionPanel::updateReadout(viz::HeatmapView* view, int row, int col) {
  QString text = view->cellText(row, col);
  const int m = (view == m_left ? m_recorded : m_comparison).promptLength;
  text += col < m ? tr("  [prompt key]") : tr("  [key = step %1]").arg(col - m + 1);
  text += tr("  [query = step %1]").arg(row + 1);
  m_readout->setText(text);
}

}  // namespace nmar::widgets
