#include "widgets/run_explorer.h"

#include <algorithm>

#include <QCheckBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include "store/run_export.h"
#include "store/run_store.h"
#include "util/error.h"
#include "widgets/run_filter.h"
#include "widgets/run_table_model.h"
#include "widgets/table_export.h"
#include "widgets/store_poller.h"

namespace nmar::widgets {
namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

QPushButton* button(const QString& text, const QString& name, const QString& tip) {
  auto* b = new QPushButton(text);
  b->setObjectName(name);
  b->setToolTip(tip);
  return b;
}

QColor diffColour(DiffState state) {
  switch (state) {
    case DiffState::kChanged: return QColor(255, 236, 179);
    case DiffState::kOnlyLeft: return QColor(255, 205, 210);
    case DiffState::kOnlyRight: return QColor(200, 230, 201);
    default: return QColor();
  }
}

}  // namespace

RunExplorer::RunExplorer(StorePoller* poller, QWidget* parent) : QWidget(parent), m_poller(poller) {
  setObjectName(QStringLiteral("runExplorer"));
  m_model = new RunTableModel(this);
  m_proxy = new RunFilterProxy(this);
  m_proxy->setSourceModel(m_model);
  m_proxy->setSortRole(Qt::UserRole);

  m_filter = new QLineEdit;
  m_filter->setObjectName(QStringLiteral("runFilter"));
  m_filter->setClearButtonEnabled(true);
  m_filter->setPlaceholderText(
      tr("Filter: kind:grpo status:finished tag:best optim.lr=0.001 words of the name"));
  m_filterError = new QLabel;
  m_filterError->setObjectName(QStringLiteral("runFilterError"));
  m_filterError->setStyleSheet(QStringLiteral("color: #b71c1c"));
  m_filterError->hide();

  m_table = new QTableView;
  m_table->setObjectName(QStringLiteral("runTable"));
  m_table->setModel(m_proxy);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(RunTableModel::kId, Qt::DescendingOrder);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
  m_table->verticalHeader()->hide();
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->setAlternatingRowColors(true);

  m_configTitle = new QLabel(tr("Select a run to see its config, or two to compare them."));
  m_configTitle->setWordWrap(true);
  m_onlyDiff = new QCheckBox(tr("only differences"));
  m_onlyDiff->setObjectName(QStringLiteral("onlyDifferences"));
  m_onlyDiff->setChecked(true);
  m_config = new QTableWidget(0, 3);
  m_config->setObjectName(QStringLiteral("configTable"));
  m_config->setHorizontalHeaderLabels({tr("Key"), tr("Run A"), tr("Run B")});
  m_config->horizontalHeader()->setStretchLastSection(true);
  m_config->verticalHeader()->hide();
  m_config->setEditTriggers(QAbstractItemView::NoEditTriggers);
  auto* configPage = new QWidget;
  auto* configLayout = new QVBoxLayout(configPage);
  configLayout->addWidget(m_configTitle);
  configLayout->addWidget(m_onlyDiff);
  configLayout->addWidget(m_config, 1);

  m_tags = new QLineEdit;
  m_tags->setObjectName(QStringLiteral("runTags"));
  m_tags->setPlaceholderText(tr("tags, comma separated (no spaces within a tag)"));
  m_notes = new QPlainTextEdit;
  m_notes->setObjectName(QStringLiteral("runNotes"));
  m_saveMeta = button(tr("Save tags and notes"), QStringLiteral("saveRunMeta"),
                      tr("Write the tags and notes of the selected run to the store"));
  auto* metaPage = new QWidget;
  auto* metaLayout = new QVBoxLayout(metaPage);
  metaLayout->addWidget(new QLabel(tr("Tags")));
  metaLayout->addWidget(m_tags);
  metaLayout->addWidget(new QLabel(tr("Notes")));
  metaLayout->addWidget(m_notes, 1);
  metaLayout->addWidget(m_saveMeta);
  auto* tabs = new QTabWidget;
  tabs->addTab(configPage, tr("Config"));
  tabs->addTab(metaPage, tr("Tags && notes"));

  auto* plot = button(tr("Plot"), QStringLiteral("plotRuns"), tr("Draw the selected runs in the "
                                                                  "training dashboard"));
  auto* traces = button(tr("Open traces…"), QStringLiteral("openRunTraces"),
                        tr("List the selected run's traces for replay"));
  auto* exportRun = button(tr("Export run…"), QStringLiteral("exportRun"),
                           tr("Metrics as .csv or .json, or traces as .jsonl"));
  auto* exportTable = button(tr("Export table…"), QStringLiteral("exportRunTable"),
                             tr("The runs shown, as CSV"));
  auto* del = button(tr("Delete…"), QStringLiteral("deleteRuns"),
                     tr("Delete the selected runs with their metrics, traces and scores"));
  m_runButtons = {plot, traces, exportRun, del};
  auto* buttons = new QHBoxLayout;
  for (QPushButton* b : {plot, traces, exportRun, exportTable}) buttons->addWidget(b);
  buttons->addStretch(1);
  buttons->addWidget(del);

  auto* left = new QWidget;
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  leftLayout->addWidget(m_filter);
  leftLayout->addWidget(m_filterError);
  leftLayout->addWidget(m_table, 1);
  leftLayout->addLayout(buttons);
  auto* split = new QSplitter;
  split->addWidget(left);
  split->addWidget(tabs);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addWidget(split);

  connect(m_filter, &QLineEdit::textChanged, this, &RunExplorer::applyFilter);
  connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          &RunExplorer::onSelectionChanged);
  connect(m_onlyDiff, &QCheckBox::toggled, this, &RunExplorer::showConfig);
  connect(m_saveMeta, &QPushButton::clicked, this, [this] {
    const QList<qint64> ids = selectedRunIds();
    if (ids.size() != 1) return;
    setTags(ids.front(), m_tags->text().split(QLatin1Char(','), Qt::SkipEmptyParts));
    setNotes(ids.front(), m_notes->toPlainText());
  });
  connect(plot, &QPushButton::clicked, this, [this] {
    std::set<std::int64_t> ids;
    for (qint64 id : selectedRunIds()) ids.insert(id);
    Q_EMIT plotRequested(ids);
  });
  connect(traces, &QPushButton::clicked, this, [this] {
    const QList<qint64> ids = selectedRunIds();
    if (!ids.isEmpty()) Q_EMIT openTracesRequested(m_poller->storePath(), ids.front());
  });
  connect(exportRun, &QPushButton::clicked, this, &RunExplorer::askExportRun);
  connect(exportTable, &QPushButton::clicked, this, &RunExplorer::askExportTable);
  connect(del, &QPushButton::clicked, this, &RunExplorer::askDelete);
  connect(m_poller, &StorePoller::updated, this, [this](bool runsChanged) {
    if (runsChanged) onRunsChanged();
  });
  onRunsChanged();
}

RunExplorer::~RunExplorer() = default;

void RunExplorer::onRunsChanged() {
  const QList<qint64> selected = selectedRunIds();
  m_model->setRuns(m_poller->runs());
  if (!selected.isEmpty() && selectedRunIds() != selected) selectRuns(selected);
  onSelectionChanged();
}

bool RunExplorer::setFilterText(const QString& text) {
  m_filter->setText(text);
  applyFilter();
  return m_filterError->isHidden();
}

QString RunExplorer::filterError() const {
  return m_filterError->isHidden() ? QString() : m_filterError->text();
}

void RunExplorer::applyFilter() {
  QStringList words;
  try {
    const core::RunFilter filter = parseRunFilter(m_filter->text(), &words);
    m_proxy->setRunFilter(filter, words);
    m_filterError->hide();
  } catch (const core::Error& e) {
    m_filterError->setText(qs(e.what()));
    m_filterError->show();
  }
}

QList<qint64> RunExplorer::visibleRunIds() const {
  QList<qint64> ids;
  for (int r = 0; r < m_proxy->rowCount(); ++r)
    ids << m_proxy->index(r, RunTableModel::kId).data(Qt::UserRole).toLongLong();
  return ids;
}

void RunExplorer::sortBy(int column, Qt::SortOrder order) { m_table->sortByColumn(column, order); }

void RunExplorer::selectRuns(const QList<qint64>& ids) {
  QItemSelection selection;
  for (qint64 id : ids) {
    const int row = m_model->rowOf(id);
    if (row < 0) continue;
    const QModelIndex index = m_proxy->mapFromSource(m_model->index(row, 0));
    if (index.isValid()) selection.select(index, index);
  }
  m_table->selectionModel()->select(
      selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
}

QList<qint64> RunExplorer::selectedRunIds() const {
  QList<qint64> ids;
  for (const QModelIndex& index : m_table->selectionModel()->selectedRows())
    ids << index.sibling(index.row(), RunTableModel::kId).data(Qt::UserRole).toLongLong();
  std::sort(ids.begin(), ids.end());
  return ids;
}

void RunExplorer::onSelectionChanged() {
  const QList<qint64> ids = selectedRunIds();
  for (QPushButton* b : m_runButtons) b->setEnabled(!ids.isEmpty());
  m_saveMeta->setEnabled(ids.size() == 1);
  if (ids.size() == 1) {
    if (const core::RunInfo* run = m_poller->run(ids.front())) {
      QStringList tags;
      for (const std::string& t : run->tags) tags << qs(t);
      if (!m_tags->hasFocus()) m_tags->setText(tags.join(QStringLiteral(", ")));
      if (!m_notes->hasFocus()) m_notes->setPlainText(qs(run->notes));
    }
  }
  showConfig();
}

void RunExplorer::setOnlyDifferences(bool on) { m_onlyDiff->setChecked(on); }

void RunExplorer::showConfig() {
  const QList<qint64> ids = selectedRunIds();
  const core::RunInfo* a = ids.size() >= 1 ? m_poller->run(ids[0]) : nullptr;
  const core::RunInfo* b = ids.size() >= 2 ? m_poller->run(ids[1]) : nullptr;
  m_configRows.clear();
  if (a && b) {
    m_configRows = diffConfigs(a->config, b->config, m_onlyDiff->isChecked());
    m_configTitle->setText(tr("Run %1 (%2) against run %3 (%4): %n row(s)", nullptr,
                              int(m_configRows.size()))
                               .arg(a->id)
                               .arg(qs(a->name))
                               .arg(b->id)
                               .arg(qs(b->name)));
    m_config->setHorizontalHeaderLabels(
        {tr("Key"), tr("Run %1").arg(a->id), tr("Run %1").arg(b->id)});
  } else if (a) {
    for (const auto& [key, value] : flattenConfig(a->config))
      m_configRows.push_back({key, value, {}, DiffState::kSame});
    m_configTitle->setText(tr("Config of run %1 (%2)").arg(a->id).arg(qs(a->name)));
    m_config->setHorizontalHeaderLabels({tr("Key"), tr("Run %1").arg(a->id), QString()});
  } else {
    m_configTitle->setText(tr("Select a run to see its config, or two to compare them."));
  }
  m_onlyDiff->setEnabled(a && b);
  m_config->setColumnHidden(2, !(a && b));
  m_config->setRowCount(int(m_configRows.size()));
  for (int r = 0; r < int(m_configRows.size()); ++r) {
    const ConfigDiffRow& row = m_configRows[std::size_t(r)];
    const QString cells[] = {qs(row.key), qs(row.left), qs(row.right)};
    for (int c = 0; c < 3; ++c) {
      auto* item = new QTableWidgetItem(cells[c]);
      item->setToolTip(cells[c]);
      if (diffColour(row.state).isValid()) item->setBackground(diffColour(row.state));
      m_config->setItem(r, c, item);
    }
  }
  m_config->resizeColumnToContents(0);
}

void RunExplorer::runAction(std::function<QString(core::RunStore&)> action, bool writes) {
  const QString path = m_poller->storePath();
  auto* watcher = new QFutureWatcher<std::pair<bool, QString>>(this);
  ++m_pending;
  connect(watcher, &QFutureWatcher<std::pair<bool, QString>>::finished, this, [this, watcher] {
    const auto [ok, message] = watcher->result();
    watcher->deleteLater();
    --m_pending;
    m_poller->pollNow();
    Q_EMIT actionFinished(ok, message);
  });
  watcher->setFuture(QtConcurrent::run([path, action, writes]() -> std::pair<bool, QString> {
    try {
      core::StoreOptions options;
      options.create = false;
      options.readOnly = !writes;
      core::RunStore store(path.toStdString(), options);
      return {true, action(store)};
    } catch (const std::exception& e) {
      return {false, QString::fromStdString(e.what())};
    }
  }));
}

void RunExplorer::setTags(std::int64_t id, const QStringList& tags) {
  std::vector<std::string> wanted;
  for (const QString& t : tags)
    if (!t.trimmed().isEmpty()) wanted.push_back(t.trimmed().toStdString());
  runAction(
      [id, wanted](core::RunStore& store) {
        const core::RunInfo run = store.getRun(id);
        std::vector<std::string> gone;
        for (const std::string& t : run.tags)
          if (std::find(wanted.begin(), wanted.end(), t) == wanted.end()) gone.push_back(t);
        if (!wanted.empty()) store.addTags(id, wanted);  // validates each tag, names a bad one
        if (!gone.empty()) store.removeTags(id, gone);
        return QStringLiteral("run %1: tags saved").arg(id);
      },
      true);
}

void RunExplorer::setNotes(std::int64_t id, const QString& notes) {
  runAction(
      [id, text = notes.toStdString()](core::RunStore& store) {
        store.setNotes(id, text);
        return QStringLiteral("run %1: notes saved").arg(id);
      },
      true);
}

void RunExplorer::deleteRuns(const QList<qint64>& ids) {
  const std::vector<std::int64_t> list(ids.begin(), ids.end());
  runAction(
      [list](core::RunStore& store) {
        store.deleteRuns(list);
        return QStringLiteral("deleted %1 run(s)").arg(list.size());
      },
      true);
}

bool RunExplorer::exportTable(const QString& path, QString* error) {
  return exportTableCsv(m_proxy, path, error);
}

void RunExplorer::exportRun(std::int64_t id, const QString& path) {
  const QString ext = QFileInfo(path).suffix().toLower();
  runAction(
      [id, path, ext](core::RunStore& store) {
        if (ext == QLatin1String("jsonl")) {
          const auto n = core::exportTraces(store, id, path.toStdString());
          return QStringLiteral("wrote %1 traces of run %2 to %3").arg(n).arg(id).arg(path);
        }
        const auto n = core::exportMetrics(store, id, path.toStdString());
        return QStringLiteral("wrote %1 metric values of run %2 to %3").arg(n).arg(id).arg(path);
      },
      false);
}

void RunExplorer::askDelete() {
  const QList<qint64> ids = selectedRunIds();
  if (ids.isEmpty()) return;
  QStringList names;
  for (qint64 id : ids)
    if (const core::RunInfo* r = m_poller->run(id)) names << QStringLiteral("%1 (%2)").arg(id).arg(qs(r->name));
  const auto answer = QMessageBox::question(
      this, tr("Delete runs"),
      tr("Delete run(s) %1 with all their metrics, traces and scores from %2? Checkpoint files "
         "are kept.")
          .arg(names.join(QStringLiteral(", ")), m_poller->storePath()));
  if (answer == QMessageBox::Yes) deleteRuns(ids);
}

void RunExplorer::askExportTable() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export runs table"),
                                                    QStringLiteral("runs.csv"), tr("CSV (*.csv)"));
  if (path.isEmpty()) return;
  QString error;
  const bool ok = exportTable(path, &error);
  Q_EMIT actionFinished(ok, ok ? tr("wrote the runs table to %1").arg(path) : error);
}

void RunExplorer::askExportRun() {
  const QList<qint64> ids = selectedRunIds();
  if (ids.isEmpty()) return;
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export run %1").arg(ids.front()), QStringLiteral("run-%1.csv").arg(ids.front()),
      tr("Metrics CSV (*.csv);;Metrics JSON (*.json);;Traces JSONL (*.jsonl)"));
  if (!path.isEmpty()) exportRun(ids.front(), path);
}

}  // namespace nmar::widgets
