#pragma once
// Shared helpers for the workbench GUI tests: a tiny checkpoint with the UNDO token and waiting
// for signals.
#include <QDir>
#include <QSignalSpy>
#include <QString>
#include <QTest>

#include "test_checkpoint_maker.h"

namespace nmar::testing {

/** A tiny random checkpoint with <|undo|> in @p root/model; returns its folder or "FAILED: ...". */
inline QString makeUndoCheckpoint(const QString& root) {
  const QString model = QDir(root).filePath(QStringLiteral("model"));
  const QString error = QString::fromStdString(writeUndoCheckpoint(model.toStdString()));
  return error.isEmpty() ? model : QStringLiteral("FAILED: ") + error;
}

/** Waits up to @p ms for @p spy to hold at least @p count signals. */
inline bool waitFor(QSignalSpy& spy, int count = 1, int ms = 60000) {
  return QTest::qWaitFor([&] { return spy.count() >= count; }, ms);
}

}  // namespace nmar::testing
