// tests/fuzz/hook_template_fuzz.cpp: hook command lines (src/util/template.cpp) as config and
// hooks use them: util::split_words() once at load, then util::check_template() and
// util::expand() per word.
//
// Input: the command text, then NUL-separated field values given in turn to every field name of
// util::hook_fields() (all hooks together).
//
// Oracles, against independent reference implementations written from the header's rules: the
// words equal the reference split; check_template agrees on validity and on the fields in order
// of first use; expand() of a valid word equals the reference expansion, in which every value
// appears verbatim, so a value can never add, split or join an argument (hooks.hpp, B52): the
// argv is exactly one element per word; a malformed template or unknown field throws util::Error
// (one line). Quoting each word (single or double quotes) and splitting again gives the words
// back.
#include "fuzz_common.hpp"
#include <certmgr/util/error.hpp>
#include <certmgr/util/hook_fields.hpp>
#include <certmgr/util/template.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {
namespace util = certmgr::util;
using certmgr::fuzz::require;
using Words = std::vector<std::string>;

// ---- reference implementations (from the comments of util/template.hpp) ----------------------

std::optional<Words> reference_split(std::string_view text) {
  enum class State { between, word, single, dquote };
  Words words;
  std::string word;
  State state = State::between;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (state) {
    case State::between:
    case State::word:
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        if (state == State::word) words.push_back(std::exchange(word, {}));
        state = State::between;
      } else if (c == '\'') {
        state = State::single;
      } else if (c == '"') {
        state = State::dquote;
      } else if (c == '\\') {
        if (i + 1 == text.size()) return std::nullopt;
        word += text[++i];
        state = State::word;
      } else {
        word += c;
        state = State::word;
      }
      break;
    case State::single:
      if (c == '\'')
        state = State::word;
      else
        word += c;
      break;
    case State::dquote:
      if (c == '"') {
        state = State::word;
      } else if (c == '\\' && i + 1 < text.size() &&
                 std::string_view("\"\\$`").find(text[i + 1]) != std::string_view::npos) {
        word += text[++i];
      } else {
        word += c;
      }
      break;
    }
  }
  if (state == State::single || state == State::dquote) return std::nullopt;
  if (state == State::word) words.push_back(word);
  return words;
}

struct Reference {
  bool valid{true};
  std::vector<std::string> fields_in_order{}; ///< every use, in order
  std::vector<std::string> pieces{};          ///< literal text / field names, alternating roles
  std::vector<bool> is_field{};
};

bool field_name(std::string_view name) {
  if (name.empty() || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  return std::ranges::all_of(
      name, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

Reference reference_scan(std::string_view text) {
  Reference ref;
  std::size_t i = 0;
  const auto literal = [&](char c) {
    if (ref.pieces.empty() || ref.is_field.back()) {
      ref.pieces.emplace_back();
      ref.is_field.push_back(false);
    }
    ref.pieces.back() += c;
  };
  while (i < text.size()) {
    if (text.substr(i, 2) == "{{" || text.substr(i, 2) == "}}") {
      literal(text[i]);
      i += 2;
    } else if (text[i] == '}') {
      ref.valid = false;
      return ref;
    } else if (text[i] == '{') {
      const std::size_t close = text.find('}', i);
      if (close == std::string_view::npos || !field_name(text.substr(i + 1, close - i - 1))) {
        ref.valid = false;
        return ref;
      }
      ref.pieces.emplace_back(text.substr(i + 1, close - i - 1));
      ref.is_field.push_back(true);
      ref.fields_in_order.push_back(ref.pieces.back());
      i = close + 1;
    } else {
      literal(text[i]);
      ++i;
    }
  }
  return ref;
}

std::vector<std::string> distinct_in_order(const std::vector<std::string>& all) {
  std::vector<std::string> out;
  for (const std::string& f : all)
    if (std::ranges::find(out, f) == out.end()) out.push_back(f);
  return out;
}

std::string single_quoted(const std::string& word) {
  std::string out = "'";
  for (const char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string double_quoted(const std::string& word) {
  std::string out = "\"";
  for (const char c : word) {
    if (c == '"' || c == '\\' || c == '$' || c == '`') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::vector<std::string> all_field_names() {
  std::set<std::string> names;
  for (const auto& [hook, fields] : util::hook_fields()) names.insert(fields.begin(), fields.end());
  return {names.begin(), names.end()};
}

void check_word(const std::string& word, const std::map<std::string, std::string>& fields) {
  const Reference ref = reference_scan(word);
  const util::TemplateCheck check = util::check_template(word);
  require(check.error.empty() == ref.valid, "check_template validity differs from the reference",
          word);
  if (!ref.valid) {
    certmgr::fuzz::require_one_line(check.error);
    try {
      (void)util::expand(word, fields);
      require(false, "expand() accepted a malformed template", word);
    } catch (const util::Error& e) {
      certmgr::fuzz::require_one_line(e.what());
    }
    return;
  }
  require(check.fields == distinct_in_order(ref.fields_in_order),
          "check_template fields differ from the reference", word);
  std::optional<std::string> expected = std::string();
  for (std::size_t i = 0; i < ref.pieces.size() && expected; ++i) {
    if (!ref.is_field[i]) {
      *expected += ref.pieces[i];
    } else if (const auto value = fields.find(ref.pieces[i]); value != fields.end()) {
      *expected += value->second;
    } else {
      expected.reset();
    }
  }
  try {
    const std::string expanded = util::expand(word, fields);
    require(expected.has_value(), "expand() filled a field it was not given", word);
    require(expanded == *expected, "expansion differs from the verbatim substitution", word);
  } catch (const util::Error& e) {
    certmgr::fuzz::require_one_line(e.what());
    require(!expected, "expand() refused a valid template with every field given", e.what());
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> k_names = all_field_names();
  const std::string_view input = certmgr::fuzz::as_text(data, size);
  const std::size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  std::vector<std::string> values;
  for (std::string_view rest = nul == std::string_view::npos ? "" : input.substr(nul + 1);;) {
    const std::size_t next = rest.find('\0');
    values.emplace_back(rest.substr(0, next));
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  std::map<std::string, std::string> fields;
  // The last name stays unset when there are more names than values, so the unknown-field
  // path is reached too.
  for (std::size_t i = 0; i < k_names.size() && (i + 1 < k_names.size() || values.size() > 1); ++i)
    fields[k_names[i]] = values[i % values.size()];

  const std::optional<Words> words = util::split_words(text);
  require(words == reference_split(text), "split_words differs from the reference", text);
  if (!words) return 0;
  std::string single_line;
  std::string double_line;
  for (const std::string& word : *words) {
    check_word(word, fields);
    single_line += single_quoted(word) + " ";
    double_line += double_quoted(word) + "\t";
  }
  require(util::split_words(single_line) == words, "single-quoted words do not split back",
          single_line);
  require(util::split_words(double_line) == words, "double-quoted words do not split back",
          double_line);
  return 0;
}
