// The data behind the generation stack and attention panels: stack, pruned lane and depths after
// k steps, and the attention map with each query's pruned keys (spec §2: hard visibility).
#include <cmath>

#include <QTest>

#include "widgets/attention_map.h"
#include "widgets/decode_timeline.h"

using nmar::core::StepAttention;
using nmar::core::StepKind;
using nmar::core::Trace;
using nmar::core::TraceStep;
using namespace nmar::widgets;

namespace {

constexpr int kUndo = 9;

/** Attention of one query over @p keys keys, 2 heads: head 0 uniform, head 1 all on the last. */
StepAttention attention(int keys) {
  StepAttention a;
  a.heads = 2;
  a.keys = keys;
  std::vector<float> layer(std::size_t(2 * keys), 0.0f);
  for (int k = 0; k < keys; ++k) layer[std::size_t(k)] = 1.0f / float(keys);
  layer[std::size_t(keys + keys - 1)] = 1.0f;
  a.layers.push_back(layer);
  return a;
}

TraceStep push(int token, const char* text, int position, int depth, bool forced = false) {
  TraceStep s;
  s.kind = StepKind::kPush;
  s.token = token;
  s.text = text;
  s.position = position;
  s.depth = depth;
  s.forced = forced;
  s.logprob = std::log(0.5);
  s.entropy = 0.7;
  s.topk = {{4, 0.5}, {5, 0.25}};
  s.attention = attention(position + 1);
  return s;
}

TraceStep pop(int popped, int position, int depth) {
  TraceStep s;
  s.kind = StepKind::kPop;
  s.token = kUndo;
  s.popped = popped;
  s.text = "<|undo|>";
  s.position = position;
  s.depth = depth;
  s.attention = attention(position + 1);
  return s;
}

/** Prompt "abc" (ids 1 2 3), then d e(forced) UNDO f: the hard positions 3 4 5 4. */
Trace sampleTrace() {
  Trace t;
  t.model = "m";
  t.tokenizer = "t";
  t.promptIds = {1, 2, 3};
  t.promptText = "abc";
  t.undoId = kUndo;
  t.steps = {push(4, "d", 3, 1), push(5, "e", 4, 2, true), pop(5, 5, 1), push(6, "f", 4, 2)};
  t.outputIds = {4, 6};
  return t;
}

}  // namespace

class TestDecodeTimeline : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void snapshotsFollowTheStack_data();
  void snapshotsFollowTheStack();
  void chipsCarryHoverData();
  void attentionMapHatchesPrunedKeys();
  void headMeanAndLayoutChecks();
  void softTracesUseCausalKeys();
};

void TestDecodeTimeline::snapshotsFollowTheStack_data() {
  QTest::addColumn<int>("applied");
  QTest::addColumn<QStringList>("stack");
  QTest::addColumn<QStringList>("pruned");
  QTest::addRow("prompt only") << 0 << QStringList{} << QStringList{};
  QTest::addRow("two pushes") << 2 << QStringList{"d", "e"} << QStringList{};
  QTest::addRow("after the UNDO") << 3 << QStringList{"d"} << QStringList{"e"};
  QTest::addRow("recovered") << 4 << QStringList{"d", "f"} << QStringList{"e"};
  QTest::addRow("clamped") << 99 << QStringList{"d", "f"} << QStringList{"e"};
}

void TestDecodeTimeline::snapshotsFollowTheStack() {
  QFETCH(int, applied);
  QFETCH(QStringList, stack);
  QFETCH(QStringList, pruned);
  DecodeTimeline timeline;
  timeline.reset(sampleTrace());
  const StackSnapshot snap = timeline.snapshot(applied);
  QCOMPARE(snap.stackTexts(), stack);
  QCOMPARE(snap.prunedTexts(), pruned);
  QCOMPARE(snap.prompt.size(), 3);
  QCOMPARE(snap.prompt.at(2).text, QStringLiteral("c"));
  QCOMPARE(snap.depths.size(), snap.applied);
}

void TestDecodeTimeline::chipsCarryHoverData() {
  DecodeTimeline timeline;
  timeline.reset(sampleTrace());
  const StackSnapshot snap = timeline.snapshot(4);
  QCOMPARE(snap.depths, (QList<int>{1, 2, 1, 2}));
  const PrunedPair& pair = snap.pruned.at(0);
  QVERIFY(pair.token.forced);
  QCOMPARE(pair.token.poppedAt, 2);
  QVERIFY(pair.undo.undo);
  QCOMPARE(pair.undo.step, 2);
  QCOMPARE(pair.undo.text, QStringLiteral("⟲"));
  const TokenChip& d = snap.stack.at(0);
  QCOMPARE(d.prob, 0.5);
  QCOMPARE(d.topk.size(), 2);
  QCOMPARE(d.topk.at(1).first, QStringLiteral("e"));  // id 5's text comes from the steps
  const QString tip = pair.token.tooltip();
  QVERIFY2(tip.contains(QStringLiteral("p = 0.500")), qPrintable(tip));
  QVERIFY2(tip.contains(QStringLiteral("FORCED")), qPrintable(tip));
  QVERIFY2(tip.contains(QStringLiteral("H = 0.700")), qPrintable(tip));
  timeline.setVocabulary({"<pad>", "a", "b", "c", "D", "E", "F"});
  QCOMPARE(timeline.tokenText(5), QStringLiteral("E"));
  QCOMPARE(timeline.tokenText(kUndo), QStringLiteral("⟲"));
  QCOMPARE(timeline.tokenText(42), QStringLiteral("#42"));
}

void TestDecodeTimeline::attentionMapHatchesPrunedKeys() {
  const Trace trace = sampleTrace();
  const AttentionMap map = buildAttentionMap(trace, attentionRowsOf(trace), KeyLayout::kStack,
                                             {0, 1}, {"a", "b", "c"}, {"d", "e", "⟲", "f"});
  QCOMPARE(map.matrix.rows, 4);
  QCOMPARE(map.matrix.cols, 7);
  QCOMPARE(map.rowsWithValues, 4);
  QCOMPARE(map.layers, 1);
  QCOMPARE(map.heads, 2);
  QCOMPARE(map.matrix.colLabels.at(5), QStringLiteral("⟲"));
  auto value = [&](int r, int c) { return map.matrix.values[std::size_t(r * 7 + c)]; };
  auto shaded = [&](int r, int c) { return bool(map.shaded[std::size_t(r * 7 + c)]); };
  // The UNDO (row 2, position 5) still sees the token it pops (col 4) and itself.
  QVERIFY(!shaded(2, 4));
  QCOMPARE(value(2, 5), 1.0f);  // head 1 puts everything on the query itself
  // "f" (row 3, sequence position 6) sees the prompt, "d" and itself; "e" and the UNDO are pruned.
  QVERIFY(shaded(3, 4));
  QVERIFY(shaded(3, 5));
  QVERIFY(!shaded(3, 3));
  QVERIFY(std::isnan(value(3, 4)));
  QCOMPARE(value(3, 6), 1.0f);
  QCOMPARE(value(3, 3), 0.0f);
  // The future is empty, not hatched.
  QVERIFY(std::isnan(value(0, 5)));
  QVERIFY(!shaded(0, 5));
  int count = 0;
  for (bool b : map.shaded) count += b;
  QCOMPARE(count, 2);
}

void TestDecodeTimeline::headMeanAndLayoutChecks() {
  Trace trace = sampleTrace();
  AttentionMap mean =
      buildAttentionMap(trace, attentionRowsOf(trace), KeyLayout::kStack, {0, -1}, {}, {});
  // Row 0 ("d", 4 keys): head 0 gives 1/4 to each, head 1 puts 1 on itself; mean 0.625 on itself.
  QCOMPARE(mean.matrix.values[3], 0.625f);
  QCOMPARE(mean.matrix.values[0], 0.125f);
  QVERIFY(mean.matrix.rowLabels.isEmpty());
  // A row whose key count does not fit the layout stays empty instead of being misplaced.
  trace.steps[3].attention = attention(3);
  const AttentionMap bad =
      buildAttentionMap(trace, attentionRowsOf(trace), KeyLayout::kStack, {0, 0}, {}, {});
  QCOMPARE(bad.rowsWithValues, 3);
  QVERIFY(std::isnan(bad.matrix.values[3 * 7 + 6]));
  // A layer that does not exist leaves every row empty.
  const AttentionMap none =
      buildAttentionMap(trace, attentionRowsOf(trace), KeyLayout::kStack, {5, 0}, {}, {});
  QCOMPARE(none.rowsWithValues, 0);
}

void TestDecodeTimeline::softTracesUseCausalKeys() {
  Trace trace = sampleTrace();
  trace.mode = nmar::core::TraceMode::kSoft;
  for (std::size_t k = 0; k < trace.steps.size(); ++k) {
    trace.steps[k].position = 3 + int(k);
    trace.steps[k].attention = attention(3 + int(k) + 1);
  }
  QCOMPARE(keyLayoutFor(trace.mode), KeyLayout::kCausal);
  const AttentionMap map =
      buildAttentionMap(trace, attentionRowsOf(trace), KeyLayout::kCausal, {0, 0}, {}, {});
  QCOMPARE(map.rowsWithValues, 4);
  for (bool b : map.shaded) QVERIFY(!b);                // soft: nothing is pruned from the context
  QCOMPARE(map.matrix.values[3 * 7 + 4], 1.0f / 7.0f);  // "f" still sees "e"
}

QTEST_MAIN(TestDecodeTimeline)
#include "test_decode_timeline.moc"
