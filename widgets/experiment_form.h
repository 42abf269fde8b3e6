#pragma once
/**
 * @file The launcher's form over an experiment TOML file: the common fields (run name and seed,
 * model, task, deviations, curriculum, optimiser, SFT and GRPO settings) as editable lines,
 * checked field by field, written back as an edited copy beside the file.
 */
#include <memory>
#include <vector>

#include <QString>
#include <QStringList>
#include <QWidget>

class QFormLayout;
class QLabel;
class QLineEdit;

namespace nmar::widgets {

/** One field of the form: [table].key, how it is checked, which runs use it. */
struct FormField {
  QString table;
  QString key;
  QString label;
  enum class Type { kText, kInteger, kNumber, kChoice, kPath } type = Type::kText;
  double min = 0.0;        ///< integers and numbers: the smallest allowed value
  bool minExclusive = false;
  double max = 1e300;
  QStringList choices;     ///< kChoice
  QString only;            ///< "sft", "grpo" or empty (both)
  QString name() const { return QStringLiteral("[%1].%2").arg(table, key); }
};

/** The fields the form offers, in order. */
const std::vector<FormField>& experimentFormFields();

/**
 * Checks @p text for @p field: empty is fine (the file's or the default value is used). Returns
 * "" or a message naming the field and what was expected, e.g. "[optim].lr: expected a number
 * > 0, got 'abc'".
 */
QString checkField(const FormField& field, const QString& text);

/**
 * Shows an experiment file's common fields. load() reads the TOML (a syntax error names the file,
 * line and column); each line shows the file's value (empty: the default). Fields that the run's
 * kind does not use are hidden. writeEdited() checks every field, applies the edited ones to the
 * parsed table and writes it as `<stem>.edited.toml` in the same folder (so relative paths keep
 * resolving); an unmodified form writes nothing and returns the file itself. The trainer checks
 * everything else when it starts (named errors reach the launcher's log). GUI thread only.
 */
class ExperimentForm : public QWidget {
  Q_OBJECT
 public:
  explicit ExperimentForm(QWidget* parent = nullptr);
  ~ExperimentForm() override;

  bool load(const QString& path, QString* error = nullptr);
  QString path() const { return m_path; }
  /** "sft" or "grpo" ([run].kind, or grpo when the file has a [grpo] or [rewards] table). */
  QString kind() const { return m_kind; }
  bool isModified() const;

  /** The text of field [@p table].@p key; setField() edits it (as the user would). */
  QString field(const QString& table, const QString& key) const;
  void setField(const QString& table, const QString& key, const QString& text);
  /** Every field's problem (empty when all are fine). */
  QStringList validate() const;
  /** See the class comment; "" with @p error naming the field or file on failure. */
  QString writeEdited(QString* error = nullptr);

 Q_SIGNALS:
  void edited();

 private:
  QLineEdit* edit(const QString& table, const QString& key) const;

  QString m_path;
  QString m_kind;
  struct Parsed;  // the TOML table (toml++ stays out of this header)
  std::unique_ptr<Parsed> m_table;
  QFormLayout* m_layout = nullptr;
  QLabel* m_title = nullptr;
  std::vector<QLineEdit*> m_edits;  // one per experimentFormFields() entry
  QStringList m_loaded;             // the texts as loaded
};

}  // namespace nmar::widgets
