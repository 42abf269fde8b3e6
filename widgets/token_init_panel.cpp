#include "widgets/token_init_panel.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include "viz/bar_chart.h"
#include "widgets/table_export.h"
#include "widgets/train_process.h"

namespace nmar::widgets {
namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

QString neighbours(const core::TokenInitReport& r, int count) {
  QStringList out;
  for (int i = 0; i < int(r.nearest.size()) && i < count; ++i)
    out << QStringLiteral("'%1' %2").arg(qs(r.nearest[i].text)).arg(r.nearest[i].cosine, 0, 'f', 3);
  return out.join(QStringLiteral(", "));
}

}  // namespace

TokenInitPanel::TokenInitPanel(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("tokenInitPanel"));
  m_process = new QProcess(this);
  connect(m_process, &QProcess::finished, this, &TokenInitPanel::onFinished);
  connect(m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e != QProcess::FailedToStart) return;
    m_run->setEnabled(true);
    m_status->setText(tr("could not start %1").arg(TrainProcess::cliPath()));
    Q_EMIT failed(tr("could not start %1: %2").arg(TrainProcess::cliPath(), m_process->errorString()));
  });
  m_model = new QLabel(tr("Load a model (File → Open checkpoint) to compare the strategies."));
  m_model->setWordWrap(true);
  m_words = new QLineEdit;
  m_words->setPlaceholderText(tr("semantic words (default: delete,remove,undo,erase,back,…)"));
  m_seed = new QSpinBox;
  m_seed->setRange(0, 1000000);
  m_seed->setPrefix(tr("seed "));
  m_run = new QPushButton(tr("Compare strategies"));
  m_run->setObjectName(QStringLiteral("compareStrategies"));
  m_run->setEnabled(false);
  auto* exportButton = new QPushButton(tr("Export…"));
  m_status = new QLabel;
  m_status->setObjectName(QStringLiteral("tokenInitStatus"));
  m_table = new QTableWidget(0, 7);
  m_table->setObjectName(QStringLiteral("tokenInitTable"));
  m_table->setHorizontalHeaderLabels({tr("Strategy"), tr("KL shift"), tr("KL renorm."),
                                      tr("P(UNDO) mean"), tr("P(UNDO) max"), tr("Norm"),
                                      tr("Nearest neighbours")});
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->verticalHeader()->hide();
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_kl = new viz::BarChart;
  m_kl->setTitle(tr("KL shift (nats/position)"));
  m_kl->setLogY(true);
  m_pUndo = new viz::BarChart;
  m_pUndo->setTitle(tr("initial P(UNDO), mean"));
  m_pUndo->setLogY(true);

  auto* controls = new QHBoxLayout;
  controls->addWidget(m_words, 1);
  controls->addWidget(m_seed);
  controls->addWidget(m_run);
  controls->addWidget(exportButton);
  auto* charts = new QSplitter;
  charts->addWidget(m_kl);
  charts->addWidget(m_pUndo);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(m_table);
  split->addWidget(charts);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addWidget(m_model);
  layout->addLayout(controls);
  layout->addWidget(m_status);
  layout->addWidget(split, 1);
  connect(m_run, &QPushButton::clicked, this, &TokenInitPanel::compare);
  connect(exportButton, &QPushButton::clicked, this, &TokenInitPanel::askExport);
}

TokenInitPanel::~TokenInitPanel() {
  if (m_process->state() != QProcess::NotRunning) {
    m_process->kill();
    m_process->waitForFinished(5000);
  }
}

void TokenInitPanel::setCheckpoint(const QString& dir) {
  m_checkpoint = dir;
  m_model->setText(dir.isEmpty() ? tr("No model loaded.")
                                 : tr("Model: %1 (the strategies run on copies; nothing is saved)")
                                       .arg(QDir::toNativeSeparators(dir)));
  m_run->setEnabled(!dir.isEmpty() && !isRunning());
}

void TokenInitPanel::setWords(const QString& words) { m_words->setText(words); }

bool TokenInitPanel::isRunning() const { return m_process->state() != QProcess::NotRunning; }

bool TokenInitPanel::compare() {
  if (isRunning()) {
    Q_EMIT failed(tr("a comparison is already running"));
    return false;
  }
  if (m_checkpoint.isEmpty() || !QFileInfo(m_checkpoint).isDir()) {
    Q_EMIT failed(m_checkpoint.isEmpty() ? tr("no model is loaded")
                                         : tr("%1: no such checkpoint folder").arg(m_checkpoint));
    return false;
  }
  QStringList args{QStringLiteral("init-token"), m_checkpoint, QStringLiteral("--compare"),
                   QStringLiteral("--json"), QStringLiteral("--seed"), QString::number(m_seed->value())};
  if (!m_words->text().trimmed().isEmpty()) args << QStringLiteral("--words") << m_words->text().trimmed();
  m_status->setText(tr("running random, mean, semantic and hewitt on %1…").arg(QFileInfo(m_checkpoint).fileName()));
  m_run->setEnabled(false);
  m_process->start(TrainProcess::cliPath(), args);
  return true;
}

void TokenInitPanel::onFinished(int code, QProcess::ExitStatus status) {
  m_run->setEnabled(!m_checkpoint.isEmpty());
  const QByteArray out = m_process->readAllStandardOutput();
  const QString err = QString::fromUtf8(m_process->readAllStandardError()).trimmed();
  if (status != QProcess::NormalExit || code != 0) {
    const QString message = err.isEmpty() ? tr("nmar init-token exited with status %1").arg(code) : err;
    m_status->setText(message);
    Q_EMIT failed(message);
    return;
  }
  QString error;
  if (!showJson(out, tr("nmar init-token output"), &error)) {
    m_status->setText(error);
    Q_EMIT failed(error);
  }
}

bool TokenInitPanel::showJson(const QByteArray& json, const QString& source, QString* error) {
  std::vector<core::TokenInitReport> reports;
  QStringList failures;
  try {
    const nlohmann::json j = nlohmann::json::parse(json.toStdString());
    if (!j.is_object() || !j.contains("reports") || !j["reports"].is_array())
      throw std::runtime_error(source.toStdString() + ": expected an object with \"reports\"");
    for (std::size_t i = 0; i < j["reports"].size(); ++i)
      reports.push_back(core::TokenInitReport::fromJson(
          j["reports"][i], source.toStdString() + ": reports[" + std::to_string(i) + "]"));
    if (j.contains("failures") && j["failures"].is_array())
      for (const auto& f : j["failures"])
        failures << QStringLiteral("%1: %2").arg(qs(f.value("strategy", std::string("?"))),
                                                 qs(f.value("message", std::string())));
  } catch (const std::exception& e) {
    if (error) *error = source + QStringLiteral(": ") + QString::fromUtf8(e.what());
    return false;
  }
  m_reports = std::move(reports);
  m_failures = failures;
  m_table->setRowCount(int(m_reports.size()));
  QStringList labels;
  QVector<double> kl, pUndo;
  for (int r = 0; r < int(m_reports.size()); ++r) {
    const core::TokenInitReport& rep = m_reports[std::size_t(r)];
    const QString name = qs(core::tokenInitStrategyName(rep.strategy));
    const QString cells[] = {name,
                             QString::number(rep.klFull, 'e', 3),
                             QString::number(rep.klRenormalised, 'e', 1),
                             QString::number(rep.pUndoMean, 'e', 3),
                             QString::number(rep.pUndoMax, 'e', 3),
                             QString::number(rep.embeddingNorm, 'f', 4),
                             neighbours(rep, 5)};
    for (int c = 0; c < 7; ++c) m_table->setItem(r, c, new QTableWidgetItem(cells[c]));
    labels << name;
    kl << rep.klFull;
    pUndo << rep.pUndoMean;
  }
  m_table->resizeColumnsToContents();
  m_kl->setBars(labels, kl);
  m_pUndo->setBars(labels, pUndo);
  QString text = tr("%n strategies compared", nullptr, int(m_reports.size()));
  if (!m_reports.empty())
    text += tr(" on %1 held-out positions; token %2 = id %3")
                .arg(m_reports.front().heldOutPositions)
                .arg(qs(m_reports.front().content))
                .arg(m_reports.front().id);
  if (!failures.isEmpty()) text += tr("; failed: %1").arg(failures.join(QStringLiteral("; ")));
  m_status->setText(text);
  Q_EMIT compared();
  return true;
}

void TokenInitPanel::askExport() {
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export token-init comparison"), QStringLiteral("token-init.csv"),
      tr("Table (*.csv);;KL chart (*.png *.svg *.pdf)"));
  if (path.isEmpty()) return;
  QString error;
  const bool ok = path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive)
                      ? exportTableCsv(m_table->model(), path, &error)
                      : m_kl->exportTo(path, &error);
  if (!ok) Q_EMIT failed(error);
}

}  // namespace nmar::widgets
