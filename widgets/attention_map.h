#pragma once
/**
 * @file Query × key attention maps of a trace (spec §2, §5): one row per step's query, one column
 * per sequence position (prompt, then steps), the keys each query could not see because the stack
 * had popped them hatched. Torch-free and Qt-Widgets-free: safe to build on a worker thread.
 */
#include <vector>

#include <QMetaType>
#include <QStringList>

#include "trace/trace.h"
#include "viz/heatmap_view.h"

namespace nmar::widgets {

/** How a row's recorded keys map to sequence positions. */
enum class KeyLayout {
  kStack,   ///< hard / resample: the keys are S_before(i) in position order, then i itself
  kCausal,  ///< soft (or a plain forward): the keys are positions 0..i
};

/** The key layout of traces decoded in @p mode. */
KeyLayout keyLayoutFor(core::TraceMode mode);

/** Which layer and head to show. */
struct AttentionSelection {
  int layer = 0;
  int head = -1;  ///< -1: the mean over heads
};

/** A built map: the matrix for a HeatmapView and the per-query pruned keys to hatch. */
struct AttentionMap {
  viz::HeatmapMatrix matrix;  ///< rows = steps, cols = prompt + steps; NaN = no value
  std::vector<bool> shaded;   ///< rows * cols: key before the query but not on its stack
  int promptLength = 0;
  int layers = 0;  ///< layers and heads found in the rows (0 when nothing was recorded)
  int heads = 0;
  int rowsWithValues = 0;   ///< steps whose attention was recorded and fits the layout
  viz::HeatmapCells cells;  ///< the matrix's colour-map cells when prepared off the GUI thread
};

/**
 * Builds the map of every step of @p trace. @p rows holds one StepAttention per step (null or
 * empty: not recorded, the row stays NaN); pass the trace's own (attentionRowsOf()) or rows from a
 * forward pass. @p layout says how keys map to positions; with kStack the keys a query could not
 * see (popped before it) are marked shaded. A row whose key count does not fit the layout is left
 * NaN. @p promptLabels / @p stepLabels label the axes (may be empty). Any thread; O(steps²).
 */
AttentionMap buildAttentionMap(const core::Trace& trace,
                               const std::vector<const core::StepAttention*>& rows,
                               KeyLayout layout, AttentionSelection selection,
                               const QStringList& promptLabels, const QStringList& stepLabels);

/** Pointers to each step's recorded attention in @p trace (valid while the trace lives). */
std::vector<const core::StepAttention*> attentionRowsOf(const core::Trace& trace);

/**
 * For each step k, the sequence positions (prompt = 0..m-1, step k = m+k) on the stack just
 * before it: S_before(m+k), bottom first.
 */
std::vector<std::vector<int>> stacksBefore(const core::Trace& trace);

}  // namespace nmar::widgets

Q_DECLARE_METATYPE(nmar::widgets::AttentionMap)
Q_DECLARE_METATYPE(nmar::widgets::AttentionSelection)
