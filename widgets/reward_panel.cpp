#include "widgets/reward_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollArea>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include "viz/plot_export.h"
#include "widgets/store_poller.h"
#include "widgets/table_export.h"
#include "widgets/token_strips_view.h"

namespace nmar::widgets {
namespace {

QString value(const std::optional<double>& v) { return v ? QString::number(*v, 'g', 8) : QString(); }

}  // namespace

RewardPanel::RewardPanel(StorePoller* poller, QWidget* parent) : QWidget(parent), m_poller(poller) {
  setObjectName(QStringLiteral("rewardPanel"));
  m_runBox = new QComboBox;
  m_runBox->setObjectName(QStringLiteral("rewardRun"));
  m_runBox->setMinimumContentsLength(18);
  m_groupBox = new QComboBox;
  m_groupBox->setObjectName(QStringLiteral("rewardGroup"));
  m_groupBox->setMinimumContentsLength(22);
  m_measureBox = new QComboBox;
  m_measureBox->setObjectName(QStringLiteral("rewardMeasure"));
  m_measureBox->addItem(tr("colour: advantage"), int(TokenMeasure::kAdvantage));
  m_measureBox->addItem(tr("colour: reward (token credit)"), int(TokenMeasure::kReward));
  m_measureBox->addItem(tr("colour: logprob"), int(TokenMeasure::kLogprob));
  m_measureBox->addItem(tr("colour: ratio − 1"), int(TokenMeasure::kRatio));
  auto* exportButton = new QPushButton(tr("Export…"));
  exportButton->setObjectName(QStringLiteral("rewardExport"));
  exportButton->setToolTip(tr("The view as PNG, SVG or PDF, or the token values as CSV"));
  m_summary = new QLabel;
  m_summary->setObjectName(QStringLiteral("rewardSummary"));
  m_summary->setWordWrap(true);
  m_view = new TokenStripsView;
  auto* scroll = new QScrollArea;
  scroll->setWidget(m_view);
  scroll->setBackgroundRole(QPalette::Base);

  auto* bar = new QHBoxLayout;
  bar->addWidget(m_runBox, 2);
  bar->addWidget(m_groupBox, 2);
  bar->addWidget(m_measureBox, 1);
  bar->addWidget(exportButton);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addLayout(bar);
  layout->addWidget(m_summary);
  layout->addWidget(scroll, 1);

  connect(m_runBox, qOverload<int>(&QComboBox::activated), this, [this](int i) {
    showRun(m_runBox->itemData(i).toLongLong());
  });
  connect(m_groupBox, qOverload<int>(&QComboBox::activated), this, [this](int i) {
    if (i < 0 || i >= int(m_groups.size())) return;
    m_follow = i == int(m_groups.size()) - 1;
    showGroup(m_groups[std::size_t(i)].step, m_groups[std::size_t(i)].group);
  });
  connect(m_measureBox, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
    m_view->setMeasure(TokenMeasure(m_measureBox->itemData(i).toInt()));
  });
  connect(exportButton, &QPushButton::clicked, this, &RewardPanel::askExport);
  connect(m_view, &TokenStripsView::completionClicked, this, &RewardPanel::replayCompletion);
  connect(&m_lister, &QFutureWatcher<Listed>::finished, this, &RewardPanel::onGroupsListed);
  connect(&m_loader, &QFutureWatcher<Loaded>::finished, this, &RewardPanel::onGroupLoaded);
  connect(m_poller, &StorePoller::updated, this,
          [this](bool runsChanged, const std::set<std::int64_t>&) {
            if (!runsChanged) return;
            refreshRuns();
            listGroups();  // a live run's new groups
          });
  refreshRuns();
}

RewardPanel::~RewardPanel() {
  m_lister.waitForFinished();
  m_loader.waitForFinished();
}

const RewardGroup& RewardPanel::group() const { return m_view->group(); }

void RewardPanel::refreshRuns() {
  m_filling = true;
  m_runBox->clear();
  const auto& runs = m_poller->runs();
  // GRPO runs (they have groups) first, newest first; then the others.
  for (bool grpo : {true, false})
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
      if ((it->kind == "grpo") == grpo)
        m_runBox->addItem(QStringLiteral("#%1 %2 (%3)")
                              .arg(it->id)
                              .arg(QString::fromStdString(it->name), QString::fromStdString(it->kind)),
                          QVariant::fromValue<qint64>(it->id));
  m_filling = false;
  if (m_run < 0 || !m_poller->run(m_run)) {
    if (m_runBox->count() > 0 && runs.size() > 0 && m_runBox->itemData(0).isValid()) {
      showRun(m_runBox->itemData(0).toLongLong());
    }
    return;
  }
  m_runBox->setCurrentIndex(m_runBox->findData(QVariant::fromValue<qint64>(m_run)));
}

void RewardPanel::showRun(qint64 runId) {
  if (runId != m_run) {
    m_run = runId;
    m_follow = true;
    m_groups.clear();
    m_groupBox->clear();
  }
  const int index = m_runBox->findData(QVariant::fromValue<qint64>(runId));
  if (index >= 0) m_runBox->setCurrentIndex(index);
  listGroups();
}

void RewardPanel::listGroups() {
  if (m_run < 0 || m_poller->storePath().isEmpty()) return;
  if (m_lister.isRunning()) m_lister.waitForFinished();
  m_lister.setFuture(QtConcurrent::run([path = m_poller->storePath(), run = m_run] {
    Listed out;
    out.run = run;
    try {
      out.groups = listRewardGroups(path, run);
    } catch (const std::exception& e) {
      out.error = QString::fromStdString(e.what());
    }
    return out;
  }));
}

void RewardPanel::onGroupsListed() {
  Listed listed = m_lister.result();
  if (listed.run != m_run) return;
  if (!listed.error.isEmpty()) {
    Q_EMIT problem(listed.error);
    return;
  }
  const bool grew = listed.groups.size() != m_groups.size();
  m_groups = std::move(listed.groups);
  m_groupBox->clear();
  for (const GroupKey& g : m_groups)
    m_groupBox->addItem(g.group >= 0 ? tr("step %1 · group %2 (%3 completions)")
                                           .arg(g.step).arg(g.group).arg(g.completions)
                                     : tr("step %1 · traces (%2)").arg(g.step).arg(g.completions));
  if (m_groups.empty()) {
    m_summary->setText(tr("Run %1 has no traces.").arg(m_run));
    m_view->setGroup({});
    return;
  }
  const RewardGroup& shown = m_view->group();
  if (m_follow && (grew || shown.runId != m_run || shown.completions.isEmpty())) {
    showGroup(m_groups.back().step, m_groups.back().group);
  } else {
    for (std::size_t i = 0; i < m_groups.size(); ++i)
      if (m_groups[i].step == shown.step && m_groups[i].group == shown.group)
        m_groupBox->setCurrentIndex(int(i));
  }
}

void RewardPanel::showGroup(qint64 step, qint64 group) {
  for (std::size_t i = 0; i < m_groups.size(); ++i)
    if (m_groups[i].step == step && m_groups[i].group == group) m_groupBox->setCurrentIndex(int(i));
  if (m_loader.isRunning()) m_loader.waitForFinished();
  m_loader.setFuture(QtConcurrent::run([path = m_poller->storePath(), run = m_run, step, group] {
    Loaded out;
    try {
      out.group = loadRewardGroup(path, run, step, group);
    } catch (const std::exception& e) {
      out.error = QString::fromStdString(e.what());
    }
    return out;
  }));
}

void RewardPanel::onGroupLoaded() {
  const Loaded loaded = m_loader.result();
  if (!loaded.error.isEmpty()) {
    Q_EMIT problem(loaded.error);
    return;
  }
  m_view->setGroup(loaded.group);
  int undos = 0;
  for (const ScoredCompletion& c : loaded.group.completions)
    for (const ScoredToken& t : c.tokens) undos += t.undo ? 1 : 0;
  m_summary->setText(tr("Run %1, step %2, group %3: prompt '%4', %5 completions, %6 UNDOs. "
                        "Click a completion to replay it.")
                         .arg(loaded.group.runId)
                         .arg(loaded.group.step)
                         .arg(loaded.group.group)
                         .arg(loaded.group.prompt)
                         .arg(loaded.group.completions.size())
                         .arg(undos));
  Q_EMIT groupShown();
}

void RewardPanel::setMeasure(TokenMeasure measure) {
  m_measureBox->setCurrentIndex(m_measureBox->findData(int(measure)));
}

void RewardPanel::replayCompletion(int index) {
  const RewardGroup& g = m_view->group();
  if (index < 0 || index >= g.completions.size()) return;
  TraceCatalog catalog;
  catalog.path = g.storePath;
  catalog.fromStore = true;
  TraceEntry entry;
  entry.traceId = g.completions[index].traceId;
  entry.runId = g.runId;
  entry.step = g.step;
  entry.group = g.group;
  entry.prompt = g.prompt;
  entry.output = g.completions[index].output;
  entry.verdict = g.completions[index].verdict;
  if (const core::RunInfo* run = m_poller->run(g.runId)) {
    entry.runName = QString::fromStdString(run->name);
    entry.runKind = QString::fromStdString(run->kind);
  }
  catalog.entries = {entry};
  Q_EMIT replayRequested(catalog, entry);
}

bool RewardPanel::exportView(const QString& path, QString* error) {
  return viz::exportWidget(m_view, path, error);
}

bool RewardPanel::exportCsv(const QString& path, QString* error) const {
  if (!path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive)) {
    if (error) *error = tr("cannot export to '%1': expected a .csv file").arg(path);
    return false;
  }
  QString text = QStringLiteral("trace_id,step,token,undo,popped,link,forced,reward,advantage,logprob,ratio\n");
  for (const ScoredCompletion& c : m_view->group().completions)
    for (int k = 0; k < c.tokens.size(); ++k) {
      const ScoredToken& t = c.tokens[k];
      text += QStringList{QString::number(c.traceId), QString::number(k), csvField(t.text),
                          QString::number(t.undo), QString::number(t.popped),
                          QString::number(t.link), QString::number(t.forced), value(t.reward),
                          value(t.advantage), value(t.logprob), value(t.ratio)}
                  .join(QLatin1Char(',')) + QLatin1Char('\n');
    }
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(text.toUtf8()) < 0 || !file.commit()) {
    if (error) *error = tr("cannot export to '%1': %2").arg(path, file.errorString());
    return false;
  }
  return true;
}

void RewardPanel::askExport() {
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export per-token rewards"), QStringLiteral("rewards.png"),
      tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf);;Token values (*.csv)"));
  if (path.isEmpty()) return;
  QString error;
  const bool ok = path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive)
                      ? exportCsv(path, &error)
                      : exportView(path, &error);
  if (!ok) Q_EMIT problem(error);
}

}  // namespace nmar::widgets
