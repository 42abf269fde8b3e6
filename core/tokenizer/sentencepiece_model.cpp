// SentencePieceBpe::fromSentencePieceModel(): reads a SentencePiece tokenizer.model (protobuf) of a
// BPE model and converts it the way HF transformers' LlamaConverter does (merges from the scores).
#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "tokenizer/json_io.h"
#include "tokenizer/sentencepiece_bpe.h"
#include "tokenizer/utf8.h"
#include "util/error.h"
#include "util/json_file.h"

namespace nmar::core {
namespace {

// A minimal reader of the protobuf wire format (enough for sentencepiece_model.proto).
class ProtoReader {
 public:
  ProtoReader(std::string_view data, std::string where) : m_data(data), m_where(std::move(where)) {}
  bool done() const { return m_pos >= m_data.size(); }

  // Reads the next field's number and wire type.
  void next(uint32_t& field, uint32_t& wire) {
    const uint64_t key = varint();
    field = static_cast<uint32_t>(key >> 3);
    wire = static_cast<uint32_t>(key & 7);
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) fail("truncated varint");
      const auto b = static_cast<unsigned char>(m_data[m_pos++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) return v;
    }
    fail("varint longer than 10 bytes");
  }
  std::string_view bytes() {
    const uint64_t n = varint();
    if (n > m_data.size() - m_pos) fail("a length-delimited field runs past the end");
    const std::string_view v = m_data.substr(m_pos, static_cast<std::size_t>(n));
    m_pos += static_cast<std::size_t>(n);
    return v;
  }
  float fixed32() {
    if (m_data.size() - m_pos < 4) fail("truncated fixed32");
    float f = 0;
    std::memcpy(&f, m_data.data() + m_pos, 4);  // little-endian hosts only (x86-64, arm64)
    m_pos += 4;
    return f;
  }
  void skip(uint32_t wire) {
    if (wire == 0) {
      varint();
    } else if (wire == 1) {
      advance(8);
    } else if (wire == 2) {
      bytes();
    } else if (wire == 5) {
      advance(4);
    } else {
      fail("unsupported wire type " + std::to_string(wire));
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(m_where + ": not a valid SentencePiece model (" + what + " at byte " +
                std::to_string(m_pos) + ")");
  }

 private:
  void advance(std::size_t n) {
    if (m_data.size() - m_pos < n) fail("truncated field");
    m_pos += n;
  }
  std::string_view m_data;
  std::string m_where;
  std::size_t m_pos = 0;
};

struct Piece {
  std::string text;
  float score = 0;
  int type = 1;  // NORMAL=1, UNKNOWN=2, CONTROL=3, USER_DEFINED=4, UNUSED=5, BYTE=6
};

struct SpModel {
  std::vector<Piece> pieces;
  int modelType = 1;  // UNIGRAM=1, BPE=2, WORD=3, CHAR=4
  bool byteFallback = false, addDummyPrefix = true, removeExtraSpaces = true, escapeSpaces = true;
  std::string normalizerName = "nmt_nfkc";
  bool hasCharsmap = false;
  int64_t bosId = 1;
};

SpModel parse(std::string_view data, const std::string& file) {
  SpModel m;
  ProtoReader r(data, file);
  uint32_t field = 0, wire = 0;
  while (!r.done()) {
    r.next(field, wire);
    if (field == 1 && wire == 2) {
      ProtoReader p(r.bytes(), file);
      Piece piece;
      while (!p.done()) {
        p.next(field, wire);
        if (field == 1 && wire == 2) {
          piece.text = std::string(p.bytes());
        } else if (field == 2 && wire == 5) {
          piece.score = p.fixed32();
        } else if (field == 3 && wire == 0) {
          piece.type = static_cast<int>(p.varint());
        } else {
          p.skip(wire);
        }
      }
      m.pieces.push_back(std::move(piece));
    } else if (field == 2 && wire == 2) {  // TrainerSpec
      ProtoReader t(r.bytes(), file);
      while (!t.done()) {
        t.next(field, wire);
        if (field == 3 && wire == 0) {
          m.modelType = static_cast<int>(t.varint());
        } else if (field == 35 && wire == 0) {
          m.byteFallback = t.varint() != 0;
        } else if (field == 41 && wire == 0) {
          m.bosId = static_cast<int32_t>(static_cast<uint32_t>(t.varint()));
        } else {
          t.skip(wire);
        }
      }
    } else if (field == 3 && wire == 2) {  // NormalizerSpec
      ProtoReader n(r.bytes(), file);
      while (!n.done()) {
        n.next(field, wire);
        if (field == 1 && wire == 2) {
          m.normalizerName = std::string(n.bytes());
        } else if (field == 2 && wire == 2) {
          m.hasCharsmap = !n.bytes().empty();
        } else if (field == 3 && wire == 0) {
          m.addDummyPrefix = n.varint() != 0;
        } else if (field == 4 && wire == 0) {
          m.removeExtraSpaces = n.varint() != 0;
        } else if (field == 5 && wire == 0) {
          m.escapeSpaces = n.varint() != 0;
        } else {
          n.skip(wire);
        }
      }
    } else {
      r.skip(wire);
    }
  }
  return m;
}

std::size_t codePoints(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Byte offset of code point @p k of @p s.
std::size_t offsetOf(const std::string& s, std::size_t k) {
  std::size_t i = 0;
  while (k > 0 && i < s.size()) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    --k;
  }
  return i;
}

}  // namespace

std::unique_ptr<SentencePieceBpe> SentencePieceBpe::fromSentencePieceModel(
    const std::filesystem::path& path) {
  const std::string file = path.string();
  const SpModel m = parse(readFileBytes(path), file);
  if (m.pieces.empty()) throw Error(file + ": not a valid SentencePiece model (no pieces)");
  if (m.modelType != 2)
    throw Error(file + ": trainer_spec.model_type is " + std::to_string(m.modelType) +
                " (only BPE, 2, is supported; Unigram models need their tokenizer.json)");
  if (m.normalizerName != "identity" || m.hasCharsmap || m.removeExtraSpaces || !m.escapeSpaces)
    throw Error(file + ": normalizer_spec '" + m.normalizerName +
                "' is not supported (expected identity without extra-whitespace removal, as "
                "Llama's); use the model's tokenizer.json");

  nlohmann::json vocab = nlohmann::json::object(), added = nlohmann::json::array();
  std::unordered_map<std::string, int32_t> ids;
  std::string unk;
  for (std::size_t i = 0; i < m.pieces.size(); ++i) {
    const Piece& p = m.pieces[i];
    if (utf8::findInvalid(p.text) != utf8::kValid)
      throw Error(file + ": piece " + std::to_string(i) + " is not valid UTF-8");
    if (!ids.emplace(p.text, static_cast<int32_t>(i)).second)
      throw Error(file + ": piece '" + p.text + "' appears twice (ids " +
                  std::to_string(ids[p.text]) + " and " + std::to_string(i) + ")");
    vocab[p.text] = i;
    if (p.type == 2) unk = p.text;
    if (p.type == 2 || p.type == 3 || p.type == 4)
      added.push_back({{"id", i},
                       {"content", p.text},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", p.type != 4}});
  }
  // Merges as HF's SentencePieceExtractor makes them: every split of every piece into two pieces,
  // ordered by the score of the merged piece (highest first, stable), then by the ids of the parts.
  struct Merge {
    int32_t left, right;
    float score;
  };
  std::vector<Merge> merges;
  for (std::size_t i = 0; i < m.pieces.size(); ++i) {
    const std::string& s = m.pieces[i].text;
    std::vector<Merge> local;
    for (std::size_t k = 1, n = codePoints(s); k < n; ++k) {
      const std::size_t cut = offsetOf(s, k);
      const auto l = ids.find(s.substr(0, cut)), r = ids.find(s.substr(cut));
      if (l != ids.end() && r != ids.end())
        local.push_back({l->second, r->second, m.pieces[i].score});
    }
    std::sort(local.begin(), local.end(), [](const Merge& a, const Merge& b) {
      return a.left != b.left ? a.left < b.left : a.right < b.right;
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(),
                   [](const Merge& a, const Merge& b) { return a.score > b.score; });
  nlohmann::json mergeList = nlohmann::json::array();
  for (const Merge& g : merges)
    mergeList.push_back(nlohmann::json::array({m.pieces[g.left].text, m.pieces[g.right].text}));

  const std::string space = "\u2581";
  nlohmann::json normalizers = nlohmann::json::array();
  if (m.addDummyPrefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", space}});
  normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", space}});
  nlohmann::json decoders = nlohmann::json::array(
      {{{"type", "Replace"}, {"pattern", {{"String", space}}}, {"content", " "}},
       {{"type", "ByteFallback"}},
       {{"type", "Fuse"}}});
  if (m.addDummyPrefix)
    decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  nlohmann::json post = nullptr;
  if (m.bosId >= 0 && static_cast<std::size_t>(m.bosId) < m.pieces.size()) {
    const std::string bos = m.pieces[static_cast<std::size_t>(m.bosId)].text;
    post = {{"type", "TemplateProcessing"},
            {"single",
             {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"pair",
             {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
              {{"SpecialToken", {{"id", bos}, {"type_id", 1}}}},
              {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
            {"special_tokens", {{bos, {{"id", bos}, {"ids", {m.bosId}}, {"tokens", {bos}}}}}}};
  }
  const nlohmann::json root = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", {{"type", "Sequence"}, {"normalizers", normalizers}}},
      {"pre_tokenizer", nullptr},
      {"post_processor", post},
      {"decoder", {{"type", "Sequence"}, {"decoders", decoders}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", unk.empty() ? nlohmann::json() : nlohmann::json(unk)},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", true},
        {"byte_fallback", m.byteFallback},
        {"vocab", vocab},
        {"merges", mergeList}}}};
  return fromTokenizerJson(root, file);
}

}  // namespace nmar::core
