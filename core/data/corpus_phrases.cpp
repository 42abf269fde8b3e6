#include "data/corpus_phrases.h"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "util/error.h"

namespace nmar::core {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

bool allDigits(std::string_view w) {
  return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/** True when @p w ends a sentence: '.', '!' or '?' before any closing quotes or brackets. */
bool endsSentence(std::string_view w) {
  std::size_t i = w.size();
  for (bool more = true; more && i > 0;) {
    more = false;
    const char c = w[i - 1];
    if (c == '"' || c == '\'' || c == ')' || c == ']') {
      --i;
      more = true;
    } else if (i >= 3 && (w.substr(i - 3, 3) == "\xe2\x80\x9d" || w.substr(i - 3, 3) == "\xe2\x80\x99")) {
      i -= 3;  // ” or ’
      more = true;
    }
  }
  return i > 0 && (w[i - 1] == '.' || w[i - 1] == '!' || w[i - 1] == '?');
}

std::vector<std::string> splitWords(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool printableAscii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(p.string() + ": cannot open (missing or unreadable)");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw Error(p.string() + ": read error");
  return s.str();
}

}  // namespace

void CorpusPhraseOptions::validate(const std::string& where) const {
  if (promptWords < 1 || promptWords > 1000)
    throw Error(where + ": --prompt-words: expected 1..1000, got " + std::to_string(promptWords));
  if (completionWords < 1 || completionWords > 1000)
    throw Error(where + ": --completion-words: expected 1..1000, got " +
                std::to_string(completionWords));
  if (minCompletionWords < 1 || minCompletionWords > completionWords)
    throw Error(where + ": --min-completion-words: expected 1..--completion-words (" +
                std::to_string(completionWords) + "), got " + std::to_string(minCompletionWords));
  if (count < 0) throw Error(where + ": --count: expected >= 0, got " + std::to_string(count));
}

std::vector<std::string> corpusSentences(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  const auto flush = [&] {
    if (!current.empty()) out.push_back(current);
    current.clear();
  };
  std::size_t pos = 0;
  bool lastLineBlank = false;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string line(text.substr(pos, end - pos));
    std::vector<std::string> words = splitWords(line);
    if (words.empty()) {
      if (!lastLineBlank) flush();
      lastLineBlank = true;
    } else {
      lastLineBlank = false;
      std::size_t first = allDigits(words.front()) ? 1 : 0;
      for (std::size_t i = first; i < words.size(); ++i) {
        if (!current.empty()) current += ' ';
        current += words[i];
        if (endsSentence(words[i])) flush();
      }
    }
    if (end == text.size()) break;
    pos = end + 1;
  }
  flush();
  return out;
}

std::vector<nlohmann::json> corpusPhrasePairs(const std::vector<std::filesystem::path>& paths,
                                              const CorpusPhraseOptions& o) {
  o.validate("nmar data corpus");
  std::vector<std::filesystem::path> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> txt;
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file() && e.path().extension() == ".txt") txt.push_back(e.path());
      if (txt.empty()) throw Error(p.string() + ": a folder without .txt files");
      std::sort(txt.begin(), txt.end());
      files.insert(files.end(), txt.begin(), txt.end());
    } else {
      files.push_back(p);
    }
  }
  std::vector<nlohmann::json> pairs;
  for (const auto& file : files) {
    const std::vector<std::string> sentences = corpusSentences(readFile(file));
    for (std::size_t i = 0; i < sentences.size(); ++i) {
      if (o.asciiOnly && !printableAscii(sentences[i])) continue;
      const std::vector<std::string> w = splitWords(sentences[i]);
      const std::size_t p = static_cast<std::size_t>(o.promptWords);
      if (w.size() < p + static_cast<std::size_t>(o.minCompletionWords)) continue;
      std::string prompt, completion = o.completionSpace ? " " : "";
      for (std::size_t k = 0; k < p; ++k) prompt += (k ? " " : "") + w[k];
      const std::size_t end = std::min(w.size(), p + static_cast<std::size_t>(o.completionWords));
      for (std::size_t k = p; k < end; ++k) completion += (k > p ? " " : "") + w[k];
      pairs.push_back({{"prompt", prompt},
                       {"completion", completion},
                       {"source", file.filename().string() + ":" + std::to_string(i + 1)}});
    }
  }
  if (o.count > 0) {
    if (static_cast<std::size_t>(o.count) > pairs.size()) {
      std::string names;
      for (const auto& p : paths) names += (names.empty() ? "" : ", ") + p.string();
      throw Error(names + ": only " + std::to_string(pairs.size()) +
                  " sentences give pairs, --count asks for " + std::to_string(o.count));
    }
    std::mt19937_64 rng(o.seed);
    // Fisher-Yates with our own index draw: std::shuffle's use of the engine is not specified
    // and differs between standard libraries.
    for (std::size_t i = pairs.size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(rng() % i);
      std::swap(pairs[i - 1], pairs[j]);
    }
    pairs.resize(static_cast<std::size_t>(o.count));
  }
  return pairs;
}

}  // namespace nmar::core
