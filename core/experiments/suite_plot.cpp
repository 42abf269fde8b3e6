#include "experiments/suite_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "experiments/suite_metric.h"

namespace nmar::core {
namespace {

// A colour-blind-safe palette (Okabe-Ito).
constexpr const char* kColours[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                    "#56B4E9", "#D55E00", "#F0E442", "#000000"};

constexpr const char* kTicks[] = {"0", "0.25", "0.5", "0.75", "1"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

bool unitRange(const ExperimentResult& r, const std::string& metric) {
  bool any = false;
  for (const VariantResult& v : r.variants) {
    if (!v.values.count(metric)) continue;
    for (double x : v.values.at(metric)) {
      if (!std::isfinite(x)) continue;
      if (x < 0.0 || x > 1.0) return false;
      any = true;
    }
  }
  return any;
}

}  // namespace

std::string renderExperimentSvg(const ExperimentResult& result) {
  std::vector<std::string> metrics;
  for (const std::string& m : result.experiment->metrics)
    if (unitRange(result, m)) metrics.push_back(m);
  if (metrics.empty() || result.variants.empty()) return {};
  const double left = 50, top = 30, plotH = 220, barW = 22, gap = 26;
  const double barsW = barW * result.variants.size();
  // Room for the longest metric name under its group (about 7 px per character).
  std::size_t longest = 0;
  for (const std::string& m : metrics)
    longest = std::max(longest, parseMetricSpec(m, "plot").label().size());
  const double groupW = std::max({barsW + gap, 96.0, 7.0 * longest + 12.0});
  const double plotW = groupW * metrics.size();
  const double width = left + plotW + 160, height = top + plotH + 60;
  auto y = [&](double v) { return top + plotH * (1.0 - v); };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width) << "\" height=\""
      << num(height) << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << num(left) << "\" y=\"16\" font-size=\"13\">"
      << escape(result.experiment->title) << "</text>\n";
  for (int i = 0; i <= 4; ++i) {  // grid and axis labels at 0, 0.25, ..., 1
    const double v = i / 4.0;
    svg << "<line x1=\"" << num(left) << "\" x2=\"" << num(left + plotW) << "\" y1=\"" << num(y(v))
        << "\" y2=\"" << num(y(v)) << "\" stroke=\"#ddd\"/>\n"
        << "<text x=\"" << num(left - 6) << "\" y=\"" << num(y(v) + 4) << "\" text-anchor=\"end\">"
        << kTicks[i] << "</text>\n";
  }
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    const double x0 = left + groupW * m + (groupW - barsW) / 2;
    for (std::size_t vi = 0; vi < result.variants.size(); ++vi) {
      const VariantResult& v = result.variants[vi];
      if (!v.values.count(metrics[m])) continue;
      const MeanStd s = meanStd(v.values.at(metrics[m]));
      if (s.n == 0) continue;
      const char* colour = kColours[vi % 8];
      const double x = x0 + barW * vi, cx = x + barW / 2;
      svg << "<rect x=\"" << num(x + 1) << "\" y=\"" << num(y(s.mean)) << "\" width=\""
          << num(barW - 2) << "\" height=\"" << num(plotH * s.mean) << "\" fill=\"" << colour
          << "\" fill-opacity=\"0.75\"/>\n";
      const double lo = std::max(0.0, s.mean - s.std), hi = std::min(1.0, s.mean + s.std);
      svg << "<line x1=\"" << num(cx) << "\" x2=\"" << num(cx) << "\" y1=\"" << num(y(lo))
          << "\" y2=\"" << num(y(hi)) << "\" stroke=\"black\"/>\n";
      for (double val : v.values.at(metrics[m]))
        if (std::isfinite(val))
          svg << "<circle cx=\"" << num(cx) << "\" cy=\"" << num(y(val))
              << "\" r=\"2\" fill=\"black\"/>\n";
    }
    const std::string& name = metrics[m];
    svg << "<text x=\"" << num(x0 + barW * result.variants.size() / 2) << "\" y=\""
        << num(top + plotH + 16) << "\" text-anchor=\"middle\">"
        << escape(parseMetricSpec(name, "plot").label()) << "</text>\n";
  }
  for (std::size_t vi = 0; vi < result.variants.size(); ++vi) {  // legend
    const double ly = top + 14 * vi;
    svg << "<rect x=\"" << num(left + plotW + 14) << "\" y=\"" << num(ly) << "\" width=\"10\" "
        << "height=\"10\" fill=\"" << kColours[vi % 8] << "\" fill-opacity=\"0.75\"/>\n"
        << "<text x=\"" << num(left + plotW + 30) << "\" y=\"" << num(ly + 9) << "\">"
        << escape(result.variants[vi].name) << "</text>\n";
  }
  svg << "<text x=\"" << num(left) << "\" y=\"" << num(height - 12)
      << "\" fill=\"#555\">bars: mean over seeds; whiskers: ± 1 std; dots: seeds</text>\n";
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace nmar::core
