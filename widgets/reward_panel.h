#pragma once
/** @file The per-token rewards panel: a GRPO group's completions with their token scores. */
#include <vector>

#include <QFutureWatcher>
#include <QWidget>

#include "widgets/reward_group.h"
#include "widgets/trace_catalog.h"

class QComboBox;
class QLabel;
class QPushButton;

namespace nmar::widgets {

class StorePoller;
class TokenStripsView;

/**
 * Picks a run (GRPO runs first), a step and group of it, and shows that group in a
 * TokenStripsView coloured by reward (token credit), advantage, logprob or ratio − 1. Listing
 * the groups and loading one run on a pool thread; the group list follows the run live.
 * Clicking a completion emits replayRequested() for the generation stack. The view exports to
 * PNG/SVG/PDF, the token values to CSV. GUI thread only; the poller must outlive the panel.
 */
class RewardPanel : public QWidget {
  Q_OBJECT
 public:
  explicit RewardPanel(StorePoller* poller, QWidget* parent = nullptr);
  ~RewardPanel() override;

  /** Shows run @p runId (lists its groups, then loads the newest). */
  void showRun(qint64 runId);
  /** Loads (@p step, @p group) of the current run. */
  void showGroup(qint64 step, qint64 group);
  void setMeasure(TokenMeasure measure);
  qint64 runId() const { return m_run; }
  const std::vector<GroupKey>& groups() const { return m_groups; }
  /** The group shown (empty completions while none). */
  const RewardGroup& group() const;
  TokenStripsView* view() const { return m_view; }
  /** Clicks completion @p index: emits replayRequested() for it. */
  void replayCompletion(int index);

  /** The view as PNG/SVG/PDF; the tokens as CSV (completion, step, token, flags, values). */
  bool exportView(const QString& path, QString* error = nullptr);
  bool exportCsv(const QString& path, QString* error = nullptr) const;

 Q_SIGNALS:
  /** A group was loaded and shown. */
  void groupShown();
  /** Listing or loading failed; @p message names the store, run or trace. */
  void problem(const QString& message);
  /** The user wants to replay @p entry of @p catalog in the generation stack. */
  void replayRequested(const nmar::widgets::TraceCatalog& catalog,
                       const nmar::widgets::TraceEntry& entry);

 private:
  void refreshRuns();
  void listGroups();
  void onGroupsListed();
  void onGroupLoaded();
  void askExport();

  StorePoller* m_poller;
  QComboBox* m_runBox = nullptr;
  QComboBox* m_groupBox = nullptr;
  QComboBox* m_measureBox = nullptr;
  QLabel* m_summary = nullptr;
  TokenStripsView* m_view = nullptr;
  qint64 m_run = -1;
  std::vector<GroupKey> m_groups;
  bool m_follow = true;  // show the newest group as groups arrive
  bool m_filling = false;
  struct Listed {
    qint64 run = -1;
    QString error;
    std::vector<GroupKey> groups;
  };
  struct Loaded {
    QString error;
    RewardGroup group;
  };
  QFutureWatcher<Listed> m_lister;
  QFutureWatcher<Loaded> m_loader;
};

}  // namespace nmar::widgets
