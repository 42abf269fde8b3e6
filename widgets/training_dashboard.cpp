#include "widgets/training_dashboard.h"

#include <cmath>

#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QScrollArea>
#include <QSlider>
#include <QSplitter>
#include <QVBoxLayout>

#include "viz/curve_view.h"
#include "widgets/store_poller.h"

namespace nmar::widgets {
namespace {

constexpr int kIdRole = Qt::UserRole + 1;

QColor paletteColour(int i) {
  static const QColor colours[] = {
      QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),  QColor(214, 39, 40),
      QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(127, 127, 127),
      QColor(188, 189, 34),  QColor(23, 190, 207)};
  return colours[i % 10];
}

QString runLabel(const core::RunInfo& r) {
  return QStringLiteral("#%1 %2 (%3, %4)")
      .arg(r.id)
      .arg(QString::fromStdString(r.name), QString::fromStdString(r.kind),
           QString::fromStdString(core::runStatusName(r.status)));
}

}  // namespace

TrainingDashboard::TrainingDashboard(StorePoller* poller, QWidget* parent)
    : QWidget(parent), m_poller(poller) {
  setObjectName(QStringLiteral("trainingDashboard"));
  m_runs = new QListWidget;
  m_runs->setObjectName(QStringLiteral("dashboardRuns"));
  m_runs->setToolTip(tr("Runs of the store; checked runs are drawn, overlaid"));
  m_chartFilter = new QLineEdit;
  m_chartFilter->setPlaceholderText(tr("Filter metrics…"));
  m_chartFilter->setClearButtonEnabled(true);
  m_chartList = new QListWidget;
  m_chartList->setObjectName(QStringLiteral("dashboardCharts"));
  m_chartList->setToolTip(tr("Metrics of the checked runs; checked ones get a chart"));

  m_xAxisBox = new QComboBox;
  m_xAxisBox->setObjectName(QStringLiteral("dashboardXAxis"));
  m_xAxisBox->addItem(tr("x: step"));
  m_xAxisBox->addItem(tr("x: wall time (min)"));
  m_smoothing = new QSlider(Qt::Horizontal);
  m_smoothing->setObjectName(QStringLiteral("dashboardSmoothing"));
  m_smoothing->setRange(0, 99);
  m_smoothing->setMaximumWidth(140);
  m_smoothing->setToolTip(tr("Smoothing (exponential moving average weight)"));
  m_smoothingLabel = new QLabel(tr("smoothing 0.00"));
  m_logY = new QCheckBox(tr("log y"));
  m_logY->setObjectName(QStringLiteral("dashboardLogY"));
  m_status = new QLabel;
  m_status->setObjectName(QStringLiteral("dashboardStatus"));

  auto* controls = new QHBoxLayout;
  controls->addWidget(m_xAxisBox);
  controls->addWidget(m_smoothingLabel);
  controls->addWidget(m_smoothing);
  controls->addWidget(m_logY);
  controls->addStretch(1);
  controls->addWidget(m_status);

  auto* chartsHost = new QWidget;
  m_grid = new QGridLayout(chartsHost);
  m_grid->setContentsMargins(2, 2, 2, 2);
  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  scroll->setWidget(chartsHost);

  auto* left = new QWidget;
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  leftLayout->addWidget(new QLabel(tr("Runs")));
  leftLayout->addWidget(m_runs, 2);
  leftLayout->addWidget(new QLabel(tr("Metrics")));
  leftLayout->addWidget(m_chartFilter);
  leftLayout->addWidget(m_chartList, 3);
  auto* right = new QWidget;
  auto* rightLayout = new QVBoxLayout(right);
  rightLayout->setContentsMargins(0, 0, 0, 0);
  rightLayout->addLayout(controls);
  rightLayout->addWidget(scroll, 1);
  auto* split = new QSplitter;
  split->addWidget(left);
  split->addWidget(right);
  split->setStretchFactor(1, 4);
  split->setSizes({220, 900});
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addWidget(split);

  connect(m_runs, &QListWidget::itemChanged, this, [this] {
    if (m_updatingLists) return;
    watchChecked();
    refreshChartList();
    rebuildCharts();
  });
  connect(m_chartList, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
    if (m_updatingLists) return;
    m_chartChoice[item->text()] = item->checkState() == Qt::Checked;
    rebuildCharts();
  });
  connect(m_chartFilter, &QLineEdit::textChanged, this, [this](const QString& text) {
    for (int i = 0; i < m_chartList->count(); ++i)
      m_chartList->item(i)->setHidden(!m_chartList->item(i)->text().contains(text, Qt::CaseInsensitive));
  });
  connect(m_xAxisBox, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this](int i) { setXAxis(i == 0 ? XAxis::kStep : XAxis::kWallMinutes); });
  connect(m_smoothing, &QSlider::valueChanged, this, [this](int v) {
    m_smoothingLabel->setText(tr("smoothing %1").arg(v / 100.0, 0, 'f', 2));
    for (auto& [title, view] : m_charts) view->setSmoothing(v / 100.0);
  });
  connect(m_logY, &QCheckBox::toggled, this, [this](bool on) {
    for (auto& [title, view] : m_charts) view->setLogY(on);
  });
  connect(m_poller, &StorePoller::updated, this, &TrainingDashboard::onUpdated);
  connect(m_poller, &StorePoller::errorChanged, this, [this](const QString& message) {
    m_status->setText(message.isEmpty() ? QString() : tr("store unreadable"));
    m_status->setToolTip(message);
    if (!message.isEmpty()) Q_EMIT problem(message);
  });
  refreshRunList();
}

void TrainingDashboard::onUpdated(bool runsChanged, const std::set<std::int64_t>& grown) {
  if (runsChanged) refreshRunList();
  const std::set<std::int64_t> checked = checkedRuns();
  bool mine = runsChanged;
  for (std::int64_t id : grown) mine = mine || checked.count(id);
  if (!mine) return;
  const std::size_t before = m_specs.size();
  refreshChartList();
  if (m_specs.size() != before || runsChanged) {
    rebuildCharts();
  } else {
    redraw();
  }
}

void TrainingDashboard::refreshRunList() {
  const std::set<std::int64_t> checked = checkedRuns();
  m_updatingLists = true;
  m_runs->clear();
  std::set<std::int64_t> now;
  std::set<std::int64_t> check;
  const auto& runs = m_poller->runs();
  for (const core::RunInfo& r : runs) {
    now.insert(r.id);
    // A run that appears while this window watches (another process started it) is shown at
    // once; on the first listing the newest run is.
    const bool fresh = m_listedOnce && !m_knownRuns.count(r.id) &&
                       r.status == core::RunStatus::kRunning;
    if (checked.count(r.id) || fresh) check.insert(r.id);
  }
  if (!m_listedOnce && !runs.empty()) check.insert(runs.back().id);
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {  // newest first
    auto* item = new QListWidgetItem(runLabel(*it), m_runs);
    item->setData(kIdRole, QVariant::fromValue<qint64>(it->id));
    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
    item->setCheckState(check.count(it->id) ? Qt::Checked : Qt::Unchecked);
    item->setToolTip(QString::fromStdString(it->endReason));
  }
  m_updatingLists = false;
  m_listedOnce = m_listedOnce || !runs.empty();
  m_knownRuns = now;
  if (runs.empty()) {
    m_status->setText(m_poller->storeMissing() ? tr("no run store yet") : tr("no runs"));
  } else if (m_poller->error().isEmpty()) {
    m_status->setText(tr("%n run(s)", nullptr, int(runs.size())));
  }
  if (check != checked) watchChecked();
}

std::set<std::int64_t> TrainingDashboard::checkedRuns() const {
  std::set<std::int64_t> ids;
  for (int i = 0; i < m_runs->count(); ++i)
    if (m_runs->item(i)->checkState() == Qt::Checked)
      ids.insert(m_runs->item(i)->data(kIdRole).toLongLong());
  return ids;
}

void TrainingDashboard::setCheckedRuns(const std::set<std::int64_t>& ids) {
  m_updatingLists = true;
  for (int i = 0; i < m_runs->count(); ++i) {
    QListWidgetItem* item = m_runs->item(i);
    item->setCheckState(ids.count(item->data(kIdRole).toLongLong()) ? Qt::Checked : Qt::Unchecked);
  }
  m_updatingLists = false;
  watchChecked();
  refreshChartList();
  rebuildCharts();
}

void TrainingDashboard::watchChecked() { m_poller->setWatchedRuns(checkedRuns()); }

void TrainingDashboard::refreshChartList() {
  std::set<std::string> keys;
  for (std::int64_t id : checkedRuns())
    for (const std::string& k : m_poller->keys(id)) keys.insert(k);
  std::vector<ChartSpec> specs = chartsForKeys(keys);
  bool same = specs.size() == m_specs.size();
  for (std::size_t i = 0; same && i < specs.size(); ++i)
    same = specs[i].title == m_specs[i].title && specs[i].keys == m_specs[i].keys;
  m_specs = std::move(specs);
  if (same && m_chartList->count() == int(m_specs.size())) return;
  m_updatingLists = true;
  m_chartList->clear();
  for (const ChartSpec& spec : m_specs) {
    auto* item = new QListWidgetItem(spec.title, m_chartList);
    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
    const auto choice = m_chartChoice.find(spec.title);
    const bool shown = choice != m_chartChoice.end() ? choice->second
                                                     : defaultChartTitles().contains(spec.title);
    item->setCheckState(shown ? Qt::Checked : Qt::Unchecked);
    item->setHidden(!m_chartFilter->text().isEmpty() &&
                    !spec.title.contains(m_chartFilter->text(), Qt::CaseInsensitive));
  }
  m_updatingLists = false;
}

QStringList TrainingDashboard::chartTitles() const {
  QStringList titles;
  for (const ChartSpec& s : m_specs) titles << s.title;
  return titles;
}

QStringList TrainingDashboard::shownCharts() const {
  QStringList titles;
  for (const ChartSpec& s : m_specs)
    if (m_charts.count(s.title)) titles << s.title;
  return titles;
}

viz::CurveView* TrainingDashboard::chart(const QString& title) const {
  const auto it = m_charts.find(title);
  return it == m_charts.end() ? nullptr : it->second;
}

void TrainingDashboard::setChartShown(const QString& title, bool shown) {
  m_chartChoice[title] = shown;
  m_updatingLists = true;
  for (int i = 0; i < m_chartList->count(); ++i)
    if (m_chartList->item(i)->text() == title)
      m_chartList->item(i)->setCheckState(shown ? Qt::Checked : Qt::Unchecked);
  m_updatingLists = false;
  rebuildCharts();
}

void TrainingDashboard::rebuildCharts() {
  std::map<QString, viz::CurveView*> keep;
  for (const ChartSpec& spec : m_specs) {
    const auto choice = m_chartChoice.find(spec.title);
    const bool shown = choice != m_chartChoice.end() ? choice->second
                                                     : defaultChartTitles().contains(spec.title);
    if (!shown) continue;
    auto it = m_charts.find(spec.title);
    if (it != m_charts.end()) {
      keep[spec.title] = it->second;
      m_charts.erase(it);
      continue;
    }
    auto* view = new viz::CurveView;
    view->setObjectName(QStringLiteral("chart:") + spec.title);
    view->setTitle(spec.title);
    view->setSmoothing(m_smoothing->value() / 100.0);
    view->setLogY(m_logY->isChecked());
    view->setMinimumHeight(220);
    connect(view, &viz::CurveView::exportFailed, this, &TrainingDashboard::problem);
    keep[spec.title] = view;
  }
  for (auto& [title, view] : m_charts) delete view;  // no longer shown
  m_charts = std::move(keep);
  int index = 0;
  for (const ChartSpec& spec : m_specs) {
    const auto it = m_charts.find(spec.title);
    if (it == m_charts.end()) continue;
    m_grid->addWidget(it->second, index / 2, index % 2);  // re-adding moves it
    ++index;
  }
  redraw();
}

void TrainingDashboard::redraw() {
  ++m_redraws;
  const std::set<std::int64_t> checked = checkedRuns();
  const bool severalRuns = checked.size() > 1;
  for (const ChartSpec& spec : m_specs) {
    const auto it = m_charts.find(spec.title);
    if (it == m_charts.end()) continue;
    QList<viz::CurveSeries> series;
    int colour = 0;
    for (std::int64_t id : checked) {
      const core::RunInfo* run = m_poller->run(id);
      for (const std::string& key : spec.keys) {
        const std::vector<core::MetricPoint>& points = m_poller->series(id, key);
        if (points.empty()) continue;
        viz::CurveSeries s;
        QString name = severalRuns || spec.keys.size() < 2
                           ? QStringLiteral("#%1 %2").arg(id).arg(
                                 run ? QString::fromStdString(run->name) : QString())
                           : QString();
        const QString label = spec.keyLabel(key);
        if (!label.isEmpty()) name += (name.isEmpty() ? QString() : QStringLiteral(" · ")) + label;
        s.name = name;
        s.color = paletteColour(colour++);
        s.x.reserve(int(points.size()));
        s.y.reserve(int(points.size()));
        for (const core::MetricPoint& p : points) {
          s.x.push_back(m_xAxis == XAxis::kStep || !run
                            ? double(p.step)
                            : double(p.wallMs - run->startedMs) / 60000.0);
          s.y.push_back(p.value);
        }
        series.push_back(std::move(s));
      }
    }
    it->second->setXLabel(m_xAxis == XAxis::kStep ? tr("step") : tr("wall time (min)"));
    it->second->setSeries(series);
  }
}

void TrainingDashboard::setXAxis(XAxis axis) {
  m_xAxis = axis;
  if (m_xAxisBox->currentIndex() != (axis == XAxis::kStep ? 0 : 1))
    m_xAxisBox->setCurrentIndex(axis == XAxis::kStep ? 0 : 1);
  redraw();
}

void TrainingDashboard::setSmoothing(double weight) {
  m_smoothing->setValue(static_cast<int>(std::lround(std::clamp(weight, 0.0, 0.99) * 100)));
}

void TrainingDashboard::setLogY(bool on) { m_logY->setChecked(on); }

bool TrainingDashboard::exportChart(const QString& title, const QString& path, QString* error) {
  viz::CurveView* view = chart(title);
  if (!view) {
    if (error) *error = tr("cannot export '%1': no chart with that title is shown").arg(title);
    return false;
  }
  return view->exportTo(path, error);
}

}  // namespace nmar::widgets
