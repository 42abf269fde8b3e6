#include "widgets/experiment_form.h"

#include <cmath>
#include <sstream>

#include <toml++/toml.h>

#include <QDir>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSaveFile>

namespace nmar::widgets {

struct ExperimentForm::Parsed {
  toml::table table;
};

namespace {

using Type = FormField::Type;

/** The value at [table].key as the form shows it ("" when absent). */
QString valueText(const toml::table& root, const FormField& f) {
  const toml::node* node = root[f.table.toStdString()][f.key.toStdString()].node();
  if (!node) return {};
  if (const auto* s = node->as_string()) return QString::fromStdString(s->get());
  if (const auto* i = node->as_integer()) return QString::number(i->get());
  if (const auto* d = node->as_floating_point()) return QString::number(d->get(), 'g', 12);
  if (const auto* b = node->as_boolean()) return b->get() ? QStringLiteral("true") : QStringLiteral("false");
  return {};  // a table or an array: not a common field
}

}  // namespace

const std::vector<FormField>& experimentFormFields() {
  // table, key, label, type, min, min exclusive, max, choices, only for runs of this kind
  auto f = [](const char* table, const char* key, const char* label, Type type, double min = 0,
              bool minExclusive = false, double max = 1e300, QStringList choices = {},
              const char* only = "") {
    FormField field;
    field.table = QLatin1String(table);
    field.key = QLatin1String(key);
    field.label = QLatin1String(label);
    field.type = type;
    field.min = min;
    field.minExclusive = minExclusive;
    field.max = max;
    field.choices = std::move(choices);
    field.only = QLatin1String(only);
    return field;
  };
  static const std::vector<FormField> fields = {
      f("run", "name", "Run name", Type::kText),
      f("run", "seed", "Seed", Type::kInteger, 0),
      f("run", "device", "Device", Type::kText),
      f("model", "checkpoint", "Model checkpoint", Type::kPath),
      f("model", "family", "Family (from scratch)", Type::kChoice, 0, false, 1e300, {"llama", "gpt2"}),
      f("model", "preset", "Preset (from scratch)", Type::kChoice, 0, false, 1e300, {"tiny", "small"}),
      f("data", "task", "Task", Type::kChoice, 0, false, 1e300, {"addition", "sorting", "chain"}),
      f("deviation", "fraction", "Deviation fraction", Type::kNumber, 0, false, 1, {}, "sft"),
      f("curriculum", "kind", "Curriculum", Type::kChoice, 0, false, 1e300,
        {"none", "steps", "competence"}, "sft"),
      f("optim", "lr", "Learning rate", Type::kNumber, 0, true),
      f("optim", "warmup", "Warmup steps", Type::kInteger, 0),
      f("train", "steps", "Steps", Type::kInteger, 1),
      f("train", "batch_size", "Batch size", Type::kInteger, 1, false, 1e300, {}, "sft"),
      f("train", "log_every", "Log every (steps)", Type::kInteger, 1),
      f("eval", "every", "Evaluate every (steps)", Type::kInteger, 0),
      f("checkpoint", "every", "Checkpoint every (steps)", Type::kInteger, 0),
      f("grpo", "num_generations", "Completions per prompt (G)", Type::kInteger, 2, false, 1e300,
        {}, "grpo"),
      f("grpo", "prompts_per_step", "Prompts per step", Type::kInteger, 1, false, 1e300, {}, "grpo"),
      f("grpo", "beta", "KL weight (beta)", Type::kNumber, 0, false, 1e300, {}, "grpo"),
      f("grpo", "temperature", "Sampling temperature", Type::kNumber, 0, true, 1e300, {}, "grpo"),
  };
  return fields;
}

QString checkField(const FormField& f, const QString& text) {
  const QString t = text.trimmed();
  if (t.isEmpty()) return {};
  auto bad = [&](const QString& expected) {
    return QStringLiteral("%1: expected %2, got '%3'").arg(f.name(), expected, t);
  };
  const QString bound = QStringLiteral("%1 %2").arg(f.minExclusive ? ">" : ">=").arg(f.min);
  const QString upper = f.max < 1e300 ? QStringLiteral(" and <= %1").arg(f.max) : QString();
  switch (f.type) {
    case Type::kInteger: {
      bool ok = false;
      const qlonglong v = t.toLongLong(&ok);
      if (!ok || v < f.min || double(v) > f.max) return bad(QStringLiteral("an integer %1%2").arg(bound, upper));
      return {};
    }
    case Type::kNumber: {
      bool ok = false;
      const double v = t.toDouble(&ok);
      if (!ok || !std::isfinite(v) || v < f.min || (f.minExclusive && v == f.min) || v > f.max)
        return bad(QStringLiteral("a number %1%2").arg(bound, upper));
      return {};
    }
    case Type::kChoice:
      if (!f.choices.contains(t)) return bad(QStringLiteral("one of %1").arg(f.choices.join(", ")));
      return {};
    case Type::kPath:
    case Type::kText:
      return {};
  }
  return {};
}

ExperimentForm::ExperimentForm(QWidget* parent) : QWidget(parent) {
  m_layout = new QFormLayout(this);
  m_layout->setContentsMargins(2, 2, 2, 2);
  m_title = new QLabel(tr("Open an experiment file (experiments/*.toml)."));
  m_title->setWordWrap(true);
  m_layout->addRow(m_title);
  for (const FormField& f : experimentFormFields()) {
    auto* line = new QLineEdit;
    line->setObjectName(QStringLiteral("field:%1.%2").arg(f.table, f.key));
    line->setToolTip(f.name() + (f.choices.isEmpty() ? QString() : QStringLiteral(": ") + f.choices.join(" | ")));
    line->setPlaceholderText(tr("default"));
    line->setEnabled(false);
    connect(line, &QLineEdit::textEdited, this, [this, line, f] {
      const QString problem = checkField(f, line->text());
      line->setStyleSheet(problem.isEmpty() ? QString() : QStringLiteral("background: #ffcdd2"));
      line->setToolTip(problem.isEmpty() ? f.name() : problem);
      Q_EMIT edited();
    });
    m_layout->addRow(f.label, line);
    m_edits.push_back(line);
    m_loaded << QString();
  }
}

ExperimentForm::~ExperimentForm() = default;

bool ExperimentForm::load(const QString& path, QString* error) {
  auto table = std::make_unique<Parsed>();
  try {
    table->table = toml::parse_file(path.toStdString());
  } catch (const toml::parse_error& e) {
    if (error)
      *error = QStringLiteral("%1:%2:%3: %4")
                   .arg(path)
                   .arg(e.source().begin.line)
                   .arg(e.source().begin.column)
                   .arg(QString::fromStdString(std::string(e.description())));
    return false;
  } catch (const std::exception& e) {
    if (error) *error = QStringLiteral("%1: %2").arg(path, QString::fromUtf8(e.what()));
    return false;
  }
  m_table = std::move(table);
  m_path = path;
  const toml::table& root = m_table->table;
  const auto kind = root["run"]["kind"].value<std::string>();
  m_kind = kind ? QString::fromStdString(*kind)
                : (root.contains("grpo") || root.contains("rewards") ? QStringLiteral("grpo")
                                                                              : QStringLiteral("sft"));
  m_title->setText(tr("%1 (%2)").arg(QFileInfo(path).fileName(), m_kind));
  const auto& fields = experimentFormFields();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const bool used = fields[i].only.isEmpty() || fields[i].only == m_kind;
    m_layout->setRowVisible(m_edits[i], used);
    m_edits[i]->setEnabled(used);
    m_edits[i]->setText(valueText(root, fields[i]));
    m_edits[i]->setStyleSheet(QString());
    m_loaded[int(i)] = m_edits[i]->text();
  }
  return true;
}

bool ExperimentForm::isModified() const {
  for (std::size_t i = 0; i < m_edits.size(); ++i)
    if (m_edits[i]->isEnabled() && m_edits[i]->text().trimmed() != m_loaded[int(i)]) return true;
  return false;
}

QLineEdit* ExperimentForm::edit(const QString& table, const QString& key) const {
  const auto& fields = experimentFormFields();
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i].table == table && fields[i].key == key) return m_edits[i];
  return nullptr;
}

QString ExperimentForm::field(const QString& table, const QString& key) const {
  const QLineEdit* line = edit(table, key);
  return line ? line->text() : QString();
}

void ExperimentForm::setField(const QString& table, const QString& key, const QString& text) {
  if (QLineEdit* line = edit(table, key)) {
    line->setText(text);
    Q_EMIT line->textEdited(text);
  }
}

QStringList ExperimentForm::validate() const {
  QStringList problems;
  const auto& fields = experimentFormFields();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!m_edits[i]->isEnabled()) continue;
    const QString p = checkField(fields[i], m_edits[i]->text());
    if (!p.isEmpty()) problems << p;
  }
  return problems;
}

QString ExperimentForm::writeEdited(QString* error) {
  if (!m_table) {
    if (error) *error = tr("no experiment file is open");
    return {};
  }
  const QStringList problems = validate();
  if (!problems.isEmpty()) {
    if (error) *error = m_path + QStringLiteral(": ") + problems.join(QStringLiteral("; "));
    return {};
  }
  if (!isModified()) return m_path;
  toml::table out = m_table->table;
  const auto& fields = experimentFormFields();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const FormField& f = fields[i];
    const QString text = m_edits[i]->text().trimmed();
    if (!m_edits[i]->isEnabled() || text == m_loaded[int(i)]) continue;
    const std::string table = f.table.toStdString();
    const std::string key = f.key.toStdString();
    if (!out.contains(table)) out.insert(table, toml::table{});
    toml::table* t = out[table].as_table();
    if (!t) {
      if (error) *error = QStringLiteral("%1: [%2] is not a table").arg(m_path, f.table);
      return {};
    }
    if (text.isEmpty()) {
      t->erase(key);
    } else if (f.type == Type::kInteger) {
      t->insert_or_assign(key, text.toLongLong());
    } else if (f.type == Type::kNumber) {
      t->insert_or_assign(key, text.toDouble());
    } else {
      t->insert_or_assign(key, text.toStdString());
    }
  }
  const QFileInfo info(m_path);
  const QString target = info.dir().filePath(info.completeBaseName() + QStringLiteral(".edited.toml"));
  std::ostringstream text;
  text << "# Written by the N-MAR Workbench launcher from " << info.fileName().toStdString() << "\n" << out << "\n";
  QSaveFile file(target);
  if (!file.open(QIODevice::WriteOnly) || file.write(QByteArray::fromStdString(text.str())) < 0 ||
      !file.commit()) {
    if (error) *error = tr("cannot write the edited experiment '%1': %2").arg(target, file.errorString());
    return {};
  }
  return target;
}

}  // namespace nmar::widgets
