#include "widgets/attention_map.h"

#include <cmath>
#include <limits>

namespace nmar::widgets {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/** The selected layer/head (or head mean) of @p a for key @p key. */
float keyValue(const core::StepAttention& a, const AttentionSelection& sel, int key) {
  if (sel.head >= 0) return a.at(sel.layer, sel.head, key);
  float sum = 0.0f;
  for (int h = 0; h < a.heads; ++h) sum += a.at(sel.layer, h, key);
  return sum / float(a.heads);
}

bool usable(const core::StepAttention* a, const AttentionSelection& sel) {
  return a != nullptr && !a->empty() && sel.layer >= 0 && sel.layer < int(a->layers.size()) &&
         sel.head < a->heads && a->heads > 0;
}

}  // namespace

KeyLayout keyLayoutFor(core::TraceMode mode) {
  return mode == core::TraceMode::kSoft ? KeyLayout::kCausal : KeyLayout::kStack;
}

std::vector<const core::StepAttention*> attentionRowsOf(const core::Trace& trace) {
  std::vector<const core::StepAttention*> rows;
  rows.reserve(trace.steps.size());
  for (const core::TraceStep& s : trace.steps) rows.push_back(&s.attention);
  return rows;
}

std::vector<std::vector<int>> stacksBefore(const core::Trace& trace) {
  const int m = int(trace.promptIds.size());
  std::vector<int> stack(static_cast<std::size_t>(m));
  for (int i = 0; i < m; ++i) stack[std::size_t(i)] = i;
  std::vector<std::vector<int>> out;
  out.reserve(trace.steps.size());
  for (std::size_t k = 0; k < trace.steps.size(); ++k) {
    out.push_back(stack);
    if (trace.steps[k].kind == core::StepKind::kPush)
      stack.push_back(m + int(k));
    else if (int(stack.size()) > m)
      stack.pop_back();
  }
  return out;
}

AttentionMap buildAttentionMap(const core::Trace& trace,
                               const std::vector<const core::StepAttention*>& rows,
                               KeyLayout layout, AttentionSelection selection,
                               const QStringList& promptLabels, const QStringList& stepLabels) {
  AttentionMap map;
  const int m = int(trace.promptIds.size());
  const int n = int(trace.steps.size());
  map.promptLength = m;
  viz::HeatmapMatrix& mx = map.matrix;
  mx.rows = n;
  mx.cols = m + n;
  mx.values.assign(std::size_t(mx.rows) * std::size_t(mx.cols), kNaN);
  map.shaded.assign(mx.values.size(), false);
  if (promptLabels.size() == m && stepLabels.size() == n) {
    mx.colLabels = promptLabels + stepLabels;
    mx.rowLabels = stepLabels;
  }

  std::vector<int> stack(static_cast<std::size_t>(m));
  for (int i = 0; i < m; ++i) stack[std::size_t(i)] = i;
  std::vector<int> visibleStamp(std::size_t(mx.cols), -1);  // row that last saw each column
  for (int k = 0; k < n; ++k) {
    const int i = m + k;  // the query's sequence position
    const core::StepAttention* a = k < int(rows.size()) ? rows[std::size_t(k)] : nullptr;
    float* row = mx.values.data() + std::size_t(k) * std::size_t(mx.cols);
    if (map.layers == 0 && a != nullptr && !a->empty()) {
      map.layers = int(a->layers.size());
      map.heads = a->heads;
    }
    if (layout == KeyLayout::kStack) {
      for (int c : stack) visibleStamp[std::size_t(c)] = k;
      for (int c = 0; c < i; ++c)
        if (visibleStamp[std::size_t(c)] != k) map.shaded[std::size_t(k) * mx.cols + c] = true;
      if (usable(a, selection) && a->keys == int(stack.size()) + 1) {
        for (int j = 0; j < int(stack.size()); ++j)
          row[stack[std::size_t(j)]] = keyValue(*a, selection, j);
        row[i] = keyValue(*a, selection, int(stack.size()));
        ++map.rowsWithValues;
      }
    } else if (usable(a, selection) && a->keys == i + 1) {
      for (int c = 0; c <= i; ++c) row[c] = keyValue(*a, selection, c);
      ++map.rowsWithValues;
    }
    if (trace.steps[std::size_t(k)].kind == core::StepKind::kPush)
      stack.push_back(i);
    else if (int(stack.size()) > m)
      stack.pop_back();
  }
  return map;
}

}  // namespace nmar::widgets
