#include "util/json_file.h"

#include <fstream>
#include <functional>
#include <set>
#include <vector>

#include "util/atomic_file.h"
#include "util/error.h"

namespace nmar::core {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/** nlohmann's message without its "[json.exception...] [parse error at ...: ]" prefix. */
std::string withoutPrefix(const json::exception& e) {
  std::string message = e.what();
  const std::size_t at = message.find("parse error");
  if (at != std::string::npos) {
    const std::size_t colon = message.find(": ", at);
    return colon == std::string::npos ? message.substr(at) : message.substr(colon + 2);
  }
  const std::size_t bracket = message.find("] ");
  return bracket == std::string::npos ? message : message.substr(bracket + 2);
}

/** Parser callback state that finds the first key repeated within one object. */
struct DuplicateFinder {
  struct Object {
    std::string name;
    std::set<std::string> keys;
  };
  std::vector<Object> stack;
  std::string lastKey;
  std::string duplicate;  // first duplicate found: "key 'k' in object 'o'"

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        stack.push_back(
            {depth == 0 ? std::string("the top-level object") : "object '" + lastKey + "'", {}});
        break;
      case json::parse_event_t::object_end:
        if (!stack.empty()) stack.pop_back();
        break;
      case json::parse_event_t::key:
        lastKey = parsed.get<std::string>();
        if (!stack.empty() && !stack.back().keys.insert(lastKey).second && duplicate.empty())
          duplicate = "duplicate key '" + lastKey + "' in " + stack.back().name;
        break;
      default:
        break;
    }
    return true;
  }
};

}  // namespace

JsonParseFailure describeJsonFailure(std::string_view text, const json::exception& e) {
  JsonParseFailure failure;
  failure.reason = withoutPrefix(e);
  if (const auto* parse = dynamic_cast<const json::parse_error*>(&e)) {
    failure.index = std::min<std::size_t>(parse->byte > 0 ? parse->byte - 1 : 0, text.size());
  } else if (e.id == 406) {  // "number overflow parsing '1e999'": find that number in the text
    const std::size_t open = failure.reason.find('\'');
    const std::size_t close = failure.reason.rfind('\'');
    if (open != std::string::npos && close > open + 1)
      failure.index = text.find(failure.reason.substr(open + 1, close - open - 1));
    failure.reason += " (out of the range of a double)";
  }
  return failure;
}

std::string textPosition(std::string_view text, std::size_t index) {
  const std::size_t end = std::min(index, text.size());
  std::size_t line = 1;
  std::size_t lineStart = 0;
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      lineStart = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(end - lineStart + 1);
}

std::size_t findJsonNestingExcess(std::string_view text, std::size_t maxDepth) {
  std::size_t depth = 0;
  bool inString = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > maxDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

std::size_t findInvalidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // no overlong forms
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string_view::npos;
}

json parseJsonText(std::string_view text, const std::string& what, DuplicateKeys duplicates) {
  if (const std::size_t deep = findJsonNestingExcess(text); deep != std::string_view::npos)
    throw Error(what + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                " levels at " + textPosition(text, deep) + " (arrays and objects)");
  try {
    if (duplicates == DuplicateKeys::kKeepLast) return json::parse(text.begin(), text.end());
    DuplicateFinder finder;
    json value = json::parse(text.begin(), text.end(), std::ref(finder));
    if (!finder.duplicate.empty()) throw Error(what + ": " + finder.duplicate);
    return value;
  } catch (const json::exception& e) {
    const JsonParseFailure failure = describeJsonFailure(text, e);
    throw Error(what + ": invalid JSON" +
                (failure.index == std::string_view::npos
                     ? std::string()
                     : " at " + textPosition(text, failure.index)) +
                ": " + failure.reason);
  }
}

std::string readFileBytes(const fs::path& file, const std::string& whatArg,
                          std::uintmax_t maxBytes) {
  const std::string what = whatArg.empty() ? "file '" + file.string() + "'" : whatArg;
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(what + " does not exist");
  if (fs::is_directory(file, ec)) throw Error(what + " is a folder, expected a file");
  const std::string limit =
      "more than the limit of " + std::to_string(maxBytes) + " bytes for this kind of file";
  if (maxBytes > 0) {
    const std::uintmax_t size = fs::file_size(file, ec);
    if (!ec && size > maxBytes)
      throw Error(what + " is " + std::to_string(size) + " bytes, " + limit);
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(what + " cannot be opened for reading");
  // Read in chunks with the limit enforced as we go: a pipe or device has no size up front.
  std::string bytes;
  char chunk[1 << 16];
  while (in) {
    in.read(chunk, sizeof chunk);
    bytes.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (maxBytes > 0 && bytes.size() > maxBytes) throw Error(what + " holds " + limit);
  }
  if (in.bad()) throw Error(what + " cannot be read");
  return bytes;
}

json readJsonFile(const fs::path& file, DuplicateKeys duplicates) {
  const std::string what = "JSON file '" + file.string() + "'";
  return parseJsonText(readFileBytes(file, what, kMaxJsonFileBytes), what, duplicates);
}

void writeJsonFile(const fs::path& file, const json& value) {
  std::string text;
  try {
    text = value.dump(2) + "\n";
  } catch (const json::type_error& e) {
    throw Error("cannot write JSON file '" + file.string() + "': a string is not valid UTF-8 (" +
                e.what() + ")");
  }
  writeFileAtomically(file, text);
}

void writeFileAtomically(const fs::path& file, std::string_view bytes) {
  AtomicFile out(file);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

}  // namespace nmar::core
