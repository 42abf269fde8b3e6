#pragma once
/**
 * @file JSONL datasets in the prompt/completion convention: one JSON object per line,
 * {"prompt": str, "completion": str, "answer"?: str | {"type": "exact" | "numeric" | "regex",
 * "value": ..., "tolerance": ...}, "difficulty"?: int}. Torch-free.
 */
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "data/example.h"

namespace nmar::core {

/**
 * Reads the dataset file @p path. Blank lines (whitespace only) are skipped; a trailing CR is
 * dropped (CRLF files); other keys of a line ("id", "meta", ...) are ignored. Each example gets
 * task "jsonl", source "FILE:LINE" and, from "answer", its answer text and verifier (see
 * Verifier::fromJson). Throws Error naming the file and the 1-based line: "FILE:LINE: invalid
 * JSON at column C: ...", "FILE:LINE: expected a JSON object, got an array", "FILE:LINE: field
 * 'prompt' is missing (expected a string)", "FILE:LINE: field 'completion': expected a string, got
 * an integer", "FILE:LINE: field 'answer.value': invalid regex /(/: ..."; "FILE: no examples (the
 * file is empty or holds only blank lines)"; and when the file is missing or unreadable.
 */
std::vector<Example> loadJsonlDataset(const std::filesystem::path& path);

/** As loadJsonlDataset, over the text @p text of a file named @p file in messages. */
std::vector<Example> parseJsonlDataset(std::string_view text, const std::string& file);

/**
 * Parses one line @p line (already known not to be blank) as an example. @p where ("FILE:LINE")
 * starts every message and becomes the example's source.
 */
Example parseJsonlLine(std::string_view line, const std::string& where);

}  // namespace nmar::core
