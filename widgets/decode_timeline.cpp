#include "widgets/decode_timeline.h"

#include <algorithm>
#include <cmath>

namespace nmar::widgets {
namespace {

const QString kUndoGlyph = QStringLiteral("⟲");

}  // namespace

QString visibleText(const QString& text) {
  if (text.isEmpty()) return QStringLiteral("∅");
  QString out;
  out.reserve(text.size());
  for (const QChar c : text) {
    if (c == QLatin1Char(' '))
      out += QStringLiteral("␣");
    else if (c == QLatin1Char('\n'))
      out += QStringLiteral("⏎");
    else if (c == QLatin1Char('\t'))
      out += QStringLiteral("⇥");
    else if (c.category() == QChar::Other_Control)
      out += QStringLiteral("\\x%1").arg(c.unicode(), 2, 16, QLatin1Char('0'));
    else
      out += c;
  }
  return out;
}

QString TokenChip::tooltip() const {
  QStringList lines;
  const QString who =
      step < 0 ? QStringLiteral("prompt token") : QStringLiteral("step %1").arg(step + 1);
  lines << QStringLiteral("%1  \"%2\"  (id %3)").arg(who, text).arg(id);
  if (!std::isnan(prob)) lines << QStringLiteral("p = %1").arg(prob, 0, 'f', 3);
  if (!topk.isEmpty()) {
    QStringList alternatives;
    for (const auto& [alt, p] : topk)
      alternatives << QStringLiteral("%1 %2").arg(alt).arg(p, 0, 'f', 2);
    lines << QStringLiteral("top: %1").arg(alternatives.join(QStringLiteral(" | ")));
  }
  if (!std::isnan(entropy)) lines << QStringLiteral("H = %1 nats").arg(entropy, 0, 'f', 3);
  if (forced) lines << QStringLiteral("FORCED deviation (injected)");
  if (poppedAt >= 0) lines << QStringLiteral("popped by the UNDO of step %1").arg(poppedAt + 1);
  return lines.join(QLatin1Char('\n'));
}

QStringList StackSnapshot::stackTexts() const {
  QStringList texts;
  for (const TokenChip& chip : stack) texts << chip.text;
  return texts;
}

QStringList StackSnapshot::prunedTexts() const {
  QStringList texts;
  for (const PrunedPair& pair : pruned) texts << pair.token.text;
  return texts;
}

QStringList promptLabelsFor(const core::Trace& trace, const QStringList& vocabulary) {
  const QString text = QString::fromStdString(trace.promptText);
  const QList<uint> codePoints = text.toUcs4();
  QStringList labels;
  if (!codePoints.isEmpty() && codePoints.size() == qsizetype(trace.promptIds.size())) {
    for (uint cp : codePoints)
      labels << visibleText(QString::fromUcs4(reinterpret_cast<const char32_t*>(&cp), 1));
    return labels;
  }
  for (std::int64_t id : trace.promptIds) {
    labels << (id >= 0 && id < vocabulary.size() ? visibleText(vocabulary.at(int(id)))
                                                 : QStringLiteral("#%1").arg(id));
  }
  return labels;
}

void DecodeTimeline::reset(const core::Trace& header) {
  m_trace = header;
  m_seenTexts.clear();
  m_chips.clear();
  for (const core::TraceStep& s : m_trace.steps)
    if (s.kind == core::StepKind::kPush)
      m_seenTexts.insert(s.token, QString::fromStdString(s.text));
  m_promptLabels = promptLabelsFor(m_trace, m_vocabulary);
}

void DecodeTimeline::append(const QList<core::TraceStep>& steps) {
  for (const core::TraceStep& s : steps) {
    if (s.kind == core::StepKind::kPush)
      m_seenTexts.insert(s.token, QString::fromStdString(s.text));
    m_trace.steps.push_back(s);
  }
}

void DecodeTimeline::setVocabulary(const QStringList& texts) {
  m_vocabulary = texts;
  m_chips.clear();
  m_promptLabels = promptLabelsFor(m_trace, m_vocabulary);
}

QString DecodeTimeline::tokenText(std::int64_t id) const {
  if (id == m_trace.undoId) return kUndoGlyph;
  if (id >= 0 && id < m_vocabulary.size()) return visibleText(m_vocabulary.at(int(id)));
  const auto it = m_seenTexts.constFind(id);
  if (it != m_seenTexts.constEnd()) return visibleText(*it);
  return QStringLiteral("#%1").arg(id);
}

TokenChip DecodeTimeline::stepChip(int k) const {
  const core::TraceStep& s = m_trace.steps.at(static_cast<std::size_t>(k));
  TokenChip chip;
  chip.step = k;
  chip.id = s.token;
  chip.undo = s.kind == core::StepKind::kPop;
  chip.text = chip.undo ? kUndoGlyph : visibleText(QString::fromStdString(s.text));
  chip.forced = s.forced;
  if (s.logprob) chip.prob = std::exp(*s.logprob);
  if (s.entropy) chip.entropy = *s.entropy;
  for (const core::TopKEntry& e : s.topk) chip.topk.append({tokenText(e.id), e.prob});
  return chip;
}

StackSnapshot DecodeTimeline::snapshot(int applied) const {
  StackSnapshot snap;
  snap.applied = std::clamp(applied, 0, stepCount());
  for (int i = 0; i < int(m_trace.promptIds.size()); ++i) {
    TokenChip chip;
    chip.id = m_trace.promptIds[std::size_t(i)];
    chip.text = i < m_promptLabels.size() ? m_promptLabels.at(i) : tokenText(chip.id);
    snap.prompt.append(chip);
  }
  snap.depths.reserve(snap.applied);
  m_chips.reserve(snap.applied);
  while (m_chips.size() < snap.applied) m_chips.append(stepChip(int(m_chips.size())));
  for (int k = 0; k < snap.applied; ++k) {
    const TokenChip& chip = m_chips.at(k);
    if (chip.undo) {
      if (!snap.stack.isEmpty()) {  // a valid trace never pops the prompt
        TokenChip popped = snap.stack.takeLast();
        popped.poppedAt = k;
        snap.pruned.append({popped, chip});
      }
    } else {
      snap.stack.append(chip);
    }
    snap.depths.append(snap.stack.size());
  }
  return snap;
}

}  // namespace nmar::widgets
