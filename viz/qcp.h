#pragma once
/**
 * @file Includes QCustomPlot in targets built with QT_NO_KEYWORDS.
 *
 * QCustomPlot 2.1's header spells `signals`, `slots` and `foreach`; our Qt targets build without
 * those keywords (Torch uses `slots` as an identifier). Include this file, never <qcustomplot.h>
 * directly, and only from .cpp files or internal headers that no Torch header follows.
 */
#include <QtPrintSupport/QtPrintSupport>
#include <QtWidgets/QtWidgets>

#ifdef QT_NO_KEYWORDS
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef foreach
#else
#include <qcustomplot.h>
#endif
