// Trace files: JSON and JSONL reading (with line/column errors) and atomic writing.
#include "trace/trace_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.h"
#include "util/json_file.h"

namespace nmar::core {

using nlohmann::json;

namespace {

std::string systemReason() { return std::strerror(errno); }

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open trace file: " + systemReason());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(path.string() + ": cannot read trace file: " + systemReason());
  return buffer.str();
}

/** Parses @p text; an error names the line and column (1-based) of the problem in @p text. */
json parseJson(std::string_view text, const std::string& source, bool singleLine) {
  if (const std::size_t deep = findJsonNestingExcess(text); deep != std::string_view::npos) {
    const std::string at =
        singleLine ? "column " + std::to_string(deep + 1) : textPosition(text, deep);
    throw Error(source + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                " levels at " + at + " (arrays and objects)");
  }
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    const JsonParseFailure failure = describeJsonFailure(text, e);
    std::string at;
    if (failure.index != std::string_view::npos) {
      at = singleLine ? " at column " + std::to_string(failure.index + 1)
                      : " at " + textPosition(text, failure.index);
    }
    throw Error(source + ": invalid JSON" + at + ": " + failure.reason);
  }
}

std::string dumpJson(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

void writeAll(int fd, std::string_view bytes, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path.string() + ": cannot write: " + systemReason());
    }
    done += static_cast<std::size_t>(n);
  }
}

/** Writes @p bytes to a temporary file beside @p path, syncs it, and renames it over @p path. */
void writeAtomically(const std::filesystem::path& path, std::string_view bytes) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const std::filesystem::path temp =
      dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter.fetch_add(1)));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path.string() + ": cannot create temporary file: " + systemReason());
  try {
    writeAll(fd, bytes, path);
    if (::fsync(fd) != 0) throw Error(path.string() + ": cannot sync: " + systemReason());
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    throw Error(path.string() + ": cannot close: " + systemReason());
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = systemReason();
    ::unlink(temp.c_str());
    throw Error(path.string() + ": cannot rename the temporary file into place: " + reason);
  }
}

}  // namespace

Trace parseTrace(std::string_view text, const std::string& source) {
  return traceFromJson(parseJson(text, source, false), source);
}

std::string traceToJsonLine(const Trace& trace) { return dumpJson(toJson(trace), -1); }

void writeTrace(const std::filesystem::path& path, const Trace& trace) {
  validateTrace(trace, path.string());
  writeAtomically(path, dumpJson(toJson(trace), 2) + "\n");
}

Trace readTrace(const std::filesystem::path& path) {
  return parseTrace(readFile(path), path.string());
}

std::vector<Trace> readTraces(const std::filesystem::path& path) {
  const std::string text = readFile(path);
  std::vector<Trace> traces;
  std::size_t start = 0;
  std::size_t lineNumber = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++lineNumber;
    std::string_view line(text.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = end + 1;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string source = path.string() + ":" + std::to_string(lineNumber);
    traces.push_back(traceFromJson(parseJson(line, source, true), source));
  }
  return traces;
}

void appendTrace(const std::filesystem::path& path, const Trace& trace) {
  validateTrace(trace, path.string());
  std::string record = traceToJsonLine(trace) + "\n";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path.string() + ": cannot open for appending: " + systemReason());
  try {
    struct stat info {};
    if (::fstat(fd, &info) != 0) throw Error(path.string() + ": cannot stat: " + systemReason());
    if (info.st_size > 0) {
      char last = '\n';
      if (::pread(fd, &last, 1, info.st_size - 1) != 1) {
        throw Error(path.string() + ": cannot read the last byte: " + systemReason());
      }
      if (last != '\n') record.insert(record.begin(), '\n');
    }
    writeAll(fd, record, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw Error(path.string() + ": cannot close: " + systemReason());
}

void writeTraces(const std::filesystem::path& path, const std::vector<Trace>& traces) {
  std::string bytes;
  for (std::size_t i = 0; i < traces.size(); ++i) {
    validateTrace(traces[i], path.string() + ":" + std::to_string(i + 1));
    bytes += traceToJsonLine(traces[i]);
    bytes += '\n';
  }
  writeAtomically(path, bytes);
}

}  // namespace nmar::core
