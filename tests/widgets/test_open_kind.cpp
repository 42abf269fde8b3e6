// classifyPath: which paths open as checkpoint, trace or run store, and the refusals.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "widgets/open_kind.h"

using nmar::widgets::classifyPath;
using nmar::widgets::OpenKind;

class TestOpenKind : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void classifies_data();
  void classifies();
  void refuses_data();
  void refuses();
  void keysRoundTrip();

 private:
  QTemporaryDir m_dir;
};

void TestOpenKind::initTestCase() {
  QVERIFY(m_dir.isValid());
  QVERIFY(QDir(m_dir.path()).mkpath(QStringLiteral("model")));
  for (const char* name : {"model/config.json", "model/model.safetensors", "model/tokenizer.json",
                           "trace.json", "run.jsonl", "runs.sqlite", "old.DB", "notes.txt"}) {
    QFile file(m_dir.filePath(QString::fromLatin1(name)));
    QVERIFY(file.open(QIODevice::WriteOnly));
  }
}

void TestOpenKind::classifies_data() {
  QTest::addColumn<QString>("relative");
  QTest::addColumn<OpenKind>("kind");
  QTest::addColumn<QString>("expectedRelative");
  QTest::addRow("folder") << "model" << OpenKind::Checkpoint << "model";
  QTest::addRow("config.json opens its folder")
      << "model/config.json" << OpenKind::Checkpoint << "model";
  QTest::addRow("safetensors") << "model/model.safetensors" << OpenKind::Checkpoint << "model";
  QTest::addRow("tokenizer.json") << "model/tokenizer.json" << OpenKind::Checkpoint << "model";
  QTest::addRow("trace json") << "trace.json" << OpenKind::Trace << "trace.json";
  QTest::addRow("trace jsonl") << "run.jsonl" << OpenKind::Trace << "run.jsonl";
  QTest::addRow("sqlite") << "runs.sqlite" << OpenKind::RunStore << "runs.sqlite";
  QTest::addRow("upper-case .DB") << "old.DB" << OpenKind::RunStore << "old.DB";
}

void TestOpenKind::classifies() {
  QFETCH(QString, relative);
  QFETCH(OpenKind, kind);
  QFETCH(QString, expectedRelative);
  QString error;
  const auto request = classifyPath(m_dir.filePath(relative), &error);
  QVERIFY2(request.has_value(), qPrintable(error));
  QCOMPARE(request->kind, kind);
  QCOMPARE(request->path, QFileInfo(m_dir.filePath(expectedRelative)).absoluteFilePath());
}

void TestOpenKind::refuses_data() {
  QTest::addColumn<QString>("relative");
  QTest::addColumn<QString>("expected");
  QTest::addRow("unknown type") << "notes.txt"
                                << "expected a checkpoint folder";
  QTest::addRow("missing") << "nowhere.json"
                           << "does not exist";
}

void TestOpenKind::refuses() {
  QFETCH(QString, relative);
  QFETCH(QString, expected);
  QString error;
  const QString path = m_dir.filePath(relative);
  QVERIFY(!classifyPath(path, &error));
  QVERIFY2(error.contains(expected), qPrintable(error));
  QVERIFY2(error.contains(path), qPrintable(error));
}

void TestOpenKind::keysRoundTrip() {
  for (OpenKind kind : {OpenKind::Checkpoint, OpenKind::Trace, OpenKind::RunStore}) {
    QCOMPARE(nmar::widgets::openKindFromKey(nmar::widgets::openKindKey(kind)), kind);
  }
  QVERIFY(!nmar::widgets::openKindFromKey(QStringLiteral("bogus")));
  QCOMPARE(nmar::widgets::openKindName(OpenKind::RunStore), QStringLiteral("run store"));
}

QTEST_MAIN(TestOpenKind)
#include "test_open_kind.moc"
