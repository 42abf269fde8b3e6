// Step lines and step states for replaying traces and printing live decode events.
#include "trace/trace_render.h"

#include <cstdio>
#include <utility>

#include "util/error.h"

namespace nmar::core {

namespace {

constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kYellow = "\x1b[1;33m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kReset = "\x1b[0m";
constexpr const char* kUndoMark = "\u27f2";  // ⟲
constexpr std::size_t kTextWidth = 10;

/** Length of the valid UTF-8 sequence at @p i of @p s, or 0 when the bytes there are invalid. */
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) {
    n = 2;
    cp = b & 0x1F;
  } else if ((b & 0xF0) == 0xE0) {
    n = 3;
    cp = b & 0x0F;
  } else if ((b & 0xF8) == 0xF0) {
    n = 4;
    cp = b & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  const bool overlong = (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

/** Number of code points (a fair stand-in for terminal columns). */
std::size_t displayWidth(std::string_view s) {
  std::size_t w = 0;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8Length(s, i);
    i += n ? n : 1;
    ++w;
  }
  return w;
}

std::string padRight(std::string s, std::size_t width) {
  const std::size_t w = displayWidth(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string paint(const std::string& s, const char* code, bool color) {
  return color ? std::string(code) + s + kReset : s;
}

}  // namespace

std::string quoteText(std::string_view text) {
  std::string out = "\"";
  char buf[12];
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = utf8Length(text, i);
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
      ++i;
      continue;
    }
    if (n == 1) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            std::snprintf(buf, sizeof buf, "\\u%04X", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  out += '"';
  return out;
}

StackTextTracker::StackTextTracker(std::string promptText) : m_promptText(std::move(promptText)) {}

std::string StackTextTracker::apply(const TraceStep& step, int index) {
  if (step.kind == StepKind::kPush) {
    m_ids.push_back(step.token);
    m_texts.push_back(step.text);
    return {};
  }
  if (m_ids.empty())
    throw Error("step " + std::to_string(index) + ": pop with nothing to pop (void UNDO)");
  std::string popped = std::move(m_texts.back());
  m_ids.pop_back();
  m_texts.pop_back();
  return popped;
}

std::string StackTextTracker::stackText() const { return m_promptText + outputText(); }

std::string StackTextTracker::outputText() const {
  std::string out;
  for (const std::string& t : m_texts) out += t;
  return out;
}

std::string renderStep(const TraceStep& step, int number, const std::string& stackText, bool color,
                       const std::string& poppedText) {
  const bool pop = step.kind == StepKind::kPop;
  char head[16];
  std::snprintf(head, sizeof head, "%5d  ", number);
  std::string line = head;
  line += paint(pop ? "pop " : "push", pop ? kRed : kGreen, color);
  line += " ";
  line += pop ? paint(kUndoMark, kRed, color) : std::string(" ");
  line += " ";
  std::string shown;
  if (!pop)
    shown = quoteText(step.text);
  else if (!poppedText.empty())
    shown = quoteText(poppedText);
  else
    shown = "#" + std::to_string(step.popped);
  line += padRight(shown, kTextWidth);
  std::string details = "  pos " + padRight(std::to_string(step.position), 4) + "  depth " +
                        padRight(std::to_string(step.depth), 3);
  if (step.logprob) details += "  logp " + fixed3(*step.logprob);
  if (step.entropy) details += "  H " + fixed3(*step.entropy);
  if (step.verifierScore) details += "  v " + fixed3(*step.verifierScore);
  line += paint(details, kDim, color);
  if (step.forced) line += "  " + paint("FORCED", kYellow, color);
  if (step.verifier) line += "  " + paint("VERIFIER", kYellow, color);
  line += "  stack: " + quoteText(stackText);
  return line;
}

nlohmann::json stepStateJson(const TraceStep& step, int index, const StackTextTracker& tracker,
                             const std::string& poppedText) {
  nlohmann::json j;
  j["step"] = index;
  j["kind"] = step.kind == StepKind::kPush ? "push" : "pop";
  j["token"] = step.token;
  j["text"] = step.text;
  if (step.kind == StepKind::kPop) {
    j["popped"] = step.popped;
    j["popped_text"] = poppedText;
  }
  j["position"] = step.position;
  j["depth"] = step.depth;
  j["forced"] = step.forced;
  if (step.logprob) j["logprob"] = *step.logprob;
  if (step.entropy) j["entropy"] = *step.entropy;
  if (step.verifierScore) j["verifier_score"] = *step.verifierScore;
  if (step.verifier) j["verifier"] = true;
  j["stack_ids"] = tracker.ids();
  j["stack_text"] = tracker.stackText();
  j["output_text"] = tracker.outputText();
  return j;
}

}  // namespace nmar::core
