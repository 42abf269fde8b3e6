// Replaying traces from a run store and from multi-trace JSONL files: the real main window lists
// them in the trace picker, filters them, and opens the chosen one in the stack panel; bad stores
// give a message that names the file.
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include "store/run_store.h"
#include "tokenizer/char_tokenizer.h"
#include "trace/trace_io.h"
#include "widgets/decode_controller.h"
#include "widgets/main_window.h"
#include "widgets/trace_catalog.h"
#include "widgets/trace_picker.h"
#include "workbench_test_support.h"

using namespace nmar::widgets;
using nmar::testing::waitFor;

namespace {

/**
 * A valid hard-mode trace: prompt [1 2], push 3, push @p wrong, UNDO pops it, push 5 (output
 * [3 5]); prompt and output texts name it.
 */
nmar::core::Trace makeTrace(const std::string& name, int wrong) {
  const std::string json = R"({"format": "nmar-trace/1", "model": "m", "tokenizer": "t",
    "mode": "hard", "prompt_ids": [1, 2], "prompt_text": ")" +
                           name + R"(", "undo_id": 9, "eos_id": -1,
    "steps": [
      {"kind": "push", "token": 3, "position": 2, "depth": 1},
      {"kind": "push", "token": )" +
                           std::to_string(wrong) + R"(, "position": 3, "depth": 2, "forced": true},
      {"kind": "pop", "token": 9, "popped": )" +
                           std::to_string(wrong) + R"(, "position": 4, "depth": 1},
      {"kind": "push", "token": 5, "position": 3, "depth": 2}],
    "output_ids": [3, 5], "output_text": "out-)" +
                           name + R"(", "verdict": {"correct": true, "detail": "ok"}})";
  return nmar::core::parseTrace(json, name);
}

struct Window {
  MainWindow window;
  DecodeController controller{&window};
};

}  // namespace

class TestTracePicker : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
  void listsAndOpensStoreTraces();
  void multiTraceJsonlGoesThroughThePicker();
  void badStoreNamesTheFile();
  void promptLabelsComeFromTheTracesOwnTokenizer();
};

void TestTracePicker::listsAndOpensStoreTraces() {
  QTemporaryDir dir;
  const QString storePath = dir.filePath(QStringLiteral("runs.sqlite"));
  {
    nmar::core::RunStore store(storePath.toStdString());
    const auto a = store.createRun({"first run", "decode"});
    const auto b = store.createRun({"second run", "sft"});
    store.addTrace(a, 0, makeTrace("alpha", 4));
    store.addTrace(b, 100, makeTrace("beta", 6));
    store.addTrace(b, 200, makeTrace("gamma", 7));
    store.finishRun(a, nmar::core::RunStatus::kFinished);
    store.finishRun(b, nmar::core::RunStatus::kFinished);
  }
  const TraceCatalog catalog = listStoreTraces(storePath);
  QCOMPARE(catalog.entries.size(), 3);
  QCOMPARE(catalog.entries[1].runName, QStringLiteral("second run"));
  QCOMPARE(catalog.entries[1].step, 100);
  QCOMPARE(catalog.entries[2].prompt, QStringLiteral("gamma"));
  QCOMPARE(catalog.entries[2].verdict, QStringLiteral("ok"));

  Window w;
  QSignalSpy listed(&w.controller, &DecodeController::catalogListed);
  QSignalSpy opened(&w.controller, &DecodeController::traceOpened);
  w.window.requestOpen(OpenKind::RunStore, storePath);  // File → Open run store…
  QVERIFY(waitFor(listed));
  QCOMPARE(listed.front().at(1).toInt(), 3);
  TracePicker* picker = w.controller.tracePicker();
  QVERIFY(picker->isVisible());
  QCOMPARE(picker->visibleRows(), 3);
  QDir().mkpath(QStringLiteral(NMAR_SCREENSHOT_DIR));
  QVERIFY(picker->grab().save(QStringLiteral(NMAR_SCREENSHOT_DIR "/trace_picker.png")));
  picker->setFilter(QStringLiteral("GAMMA"));
  QCOMPARE(picker->visibleRows(), 1);
  picker->setFilter(QStringLiteral("second"));
  QCOMPARE(picker->visibleRows(), 2);
  picker->setFilter({});

  // Sort by step descending: row 0 is then gamma (step 200), whatever the insertion order.
  auto* table = picker->findChild<QTableWidget*>(QStringLiteral("traceTable"));
  QVERIFY(table);
  table->sortItems(2, Qt::DescendingOrder);
  QVERIFY(picker->chooseRow(0));
  QVERIFY(waitFor(opened));
  QVERIFY(!picker->isVisible());
  QVERIFY(opened.front().at(0).toString().contains(QStringLiteral("second run")));
  QCOMPARE(w.controller.timeline().stepCount(), 4);
  const StackSnapshot before = w.controller.timeline().snapshot(2);
  QCOMPARE(before.stack.size(), 2);
  const StackSnapshot end = w.controller.timeline().snapshot(4);
  QCOMPARE(end.stack.size(), 2);
  QCOMPARE(end.pruned.size(), 1);
  QCOMPARE(end.pruned.front().token.id, 7);  // gamma's wrong token
  QVERIFY(!picker->chooseRow(99));
}

void TestTracePicker::multiTraceJsonlGoesThroughThePicker() {
  QTemporaryDir dir;
  const QString many = dir.filePath(QStringLiteral("many.jsonl"));
  const QString one = dir.filePath(QStringLiteral("one.jsonl"));
  for (const char* n : {"alpha", "beta"})
    nmar::core::appendTrace(many.toStdString(), makeTrace(n, 4));
  nmar::core::appendTrace(one.toStdString(), makeTrace("solo", 6));

  Window w;
  QSignalSpy listed(&w.controller, &DecodeController::catalogListed);
  QSignalSpy opened(&w.controller, &DecodeController::traceOpened);
  w.controller.openTrace(one);  // a single trace opens at once
  QVERIFY(waitFor(opened));
  QCOMPARE(listed.count(), 0);
  QCOMPARE(w.controller.timeline().snapshot(4).pruned.front().token.id, 6);

  w.controller.openTrace(many);
  QVERIFY(waitFor(listed));
  QCOMPARE(listed.front().at(1).toInt(), 2);
  QVERIFY(w.controller.tracePicker()->chooseRow(1));
  QVERIFY(waitFor(opened, 2));
  QVERIFY(opened.at(1).at(0).toString().contains(QStringLiteral("trace 2 of 2")));
  QCOMPARE(w.controller.timeline().trace().promptText, std::string("beta"));
}

void TestTracePicker::badStoreNamesTheFile() {
  QTemporaryDir dir;
  const QString bad = dir.filePath(QStringLiteral("notes.sqlite"));
  QFile f(bad);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write("this is not a database, just text that is long enough to have a header\n");
  f.close();
  Window w;
  QSignalSpy errors(&w.controller, &DecodeController::errorShown);
  w.window.requestOpen(OpenKind::RunStore, bad);
  QVERIFY(waitFor(errors));
  const QString message = errors.front().at(0).toString();
  QVERIFY2(message.contains(bad) && message.contains(QStringLiteral("not")), qPrintable(message));
  QVERIFY(!w.controller.tracePicker()->isVisible());

  const QString empty = dir.filePath(QStringLiteral("empty.sqlite"));
  { nmar::core::RunStore store(empty.toStdString()); }
  w.window.requestOpen(OpenKind::RunStore, empty);
  QVERIFY(waitFor(errors, 2));
  QVERIFY(errors.at(1).at(0).toString().contains(QStringLiteral("holds no trace")));
}

void TestTracePicker::promptLabelsComeFromTheTracesOwnTokenizer() {
  // A demo layout: <demo>/traces/t.json names its model "elsewhere/demo/abc" (where the decode
  // ran); the model folder <demo>/abc holds the tokenizer. No model is loaded in the window.
  QTemporaryDir dir;
  QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("demo/traces")));
  nmar::core::CharTokenizer("abc").save((dir.path() + QStringLiteral("/demo/abc")).toStdString());
  nmar::core::Trace trace = makeTrace("xy", 4);  // prompt ids [1 2]: text "xy" has 2 characters
  trace.promptText = "??!";                      // ... no longer: labels must come from ids
  trace.model = "elsewhere/demo/abc";
  const QString path = dir.filePath(QStringLiteral("demo/traces/t.json"));
  nmar::core::writeTrace(path.toStdString(), trace);

  QString why;
  const QStringList vocabulary = traceVocabulary(trace, path, &why);
  QVERIFY2(vocabulary.size() > 5, qPrintable(why));
  const int a = vocabulary.indexOf(QStringLiteral("a"));
  QVERIFY(a >= 0);
  trace.promptIds = {a, a + 1};

  Window w;
  QSignalSpy opened(&w.controller, &DecodeController::traceOpened);
  nmar::core::writeTrace(path.toStdString(), trace);
  w.controller.openTrace(path);
  QVERIFY(waitFor(opened));
  QCOMPARE(w.controller.timeline().promptLabels(), (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
  // The prompt box takes the replayed prompt, so Run decodes it again with the loaded model.
  const auto* promptEdit = w.window.findChild<QLineEdit*>(QStringLiteral("promptEdit"));
  QVERIFY(promptEdit != nullptr);
  QCOMPARE(promptEdit->text(), QStringLiteral("??!"));

  // The texts are cached per folder, and read again when the tokenizer files change.
  QCOMPARE(traceVocabulary(trace, path), vocabulary);
  const QString model = dir.filePath(QStringLiteral("demo/abc"));
  nmar::core::CharTokenizer("xyz").save(model.toStdString());
  QFile json(model + QStringLiteral("/tokenizer.json"));
  QVERIFY(json.open(QIODevice::ReadWrite));
  QVERIFY(json.setFileTime(QDateTime::currentDateTime().addSecs(60),
                           QFileDevice::FileModificationTime));
  json.close();
  const QStringList changed = traceVocabulary(trace, path, &why);
  QVERIFY2(changed.contains(QStringLiteral("x")), qPrintable(why));
  QVERIFY(!changed.contains(QStringLiteral("a")));

  // Nothing found: empty, and the reason names the model and the places tried.
  trace.model = "gone/nowhere";
  QVERIFY(traceVocabulary(trace, path, &why).isEmpty());
  QVERIFY2(why.contains(QStringLiteral("gone/nowhere")) && why.contains(QStringLiteral("tried")),
           qPrintable(why));
}

QTEST_MAIN(TestTracePicker)
#include "test_trace_picker.moc"
