// util/template.cpp: word splitting and {field} placeholders of hook command lines (behaviour
// §7.2, §7.3). Both are plain scanners over bytes: no locale, no recursion, no expansion.

#include <certmgr/util/error.hpp>
#include <certmgr/util/template.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace certmgr::util {
namespace {

/// A placeholder longer than this is quoted shortened in messages.
constexpr std::size_t k_max_quoted_bytes = 40;

bool is_word_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// POSIX XCU §2.2.3: inside double quotes a backslash escapes only these.
bool is_double_quote_escape(char c) { return c == '"' || c == '\\' || c == '$' || c == '`'; }

bool is_field_name(std::string_view name) {
  const auto lower = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return !name.empty() && lower(name.front()) &&
         std::ranges::all_of(name, [&](char c) { return lower(c) || digit(c); });
}

/// `text` for a message: control bytes as '?', long text shortened.
std::string visible(std::string_view text) {
  std::string out(text.substr(0, k_max_quoted_bytes));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text.size() > k_max_quoted_bytes ? out + "..." : out;
}

/// One run of literal text (braces unescaped) or one field name.
struct Piece {
  std::string text{};
  bool field{false};
};

struct Scan {
  std::vector<Piece> pieces{};
  std::string error{};
};

void add_literal(Scan& scan, char c) {
  if (scan.pieces.empty() || scan.pieces.back().field) scan.pieces.push_back({});
  scan.pieces.back().text += c;
}

Scan scan_template(std::string_view text) {
  Scan scan;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("{{") || rest.starts_with("}}")) {
      add_literal(scan, text[i++]);
    } else if (text[i] == '}') {
      scan.error = fmt::format("single \"}}\" at offset {} (write \"}}}}\" for a brace)", i);
      return scan;
    } else if (text[i] == '{') {
      const std::size_t close = rest.find('}');
      if (close == std::string_view::npos) {
        scan.error = fmt::format("unmatched \"{{\" at offset {} (write \"{{{{\" for a brace)", i);
        return scan;
      }
      const std::string_view name = rest.substr(1, close - 1);
      if (!is_field_name(name)) {
        scan.error = fmt::format("\"{{{}}}\" is not a placeholder (expected {{name}} with name "
                                 "in [a-z_][a-z0-9_]*)",
                                 visible(name));
        return scan;
      }
      scan.pieces.push_back({.text = std::string(name), .field = true});
      i += close;
    } else {
      add_literal(scan, text[i]);
    }
  }
  return scan;
}

/// State of split_words(): the word being built, and whether one has started ('' is a word).
struct Words {
  std::vector<std::string> done{};
  std::string word{};
  bool started{false};

  void add(char c) {
    word += c;
    started = true;
  }
  void finish() {
    if (started) done.push_back(std::move(word));
    word.clear();
    started = false;
  }
};

/// Consumes the quoted text after the opening quote at text[i]; the index of the closing quote,
/// or npos when unterminated.
std::size_t read_quoted(std::string_view text, std::size_t i, Words& words) {
  const char quote = text[i];
  words.started = true;
  for (++i; i < text.size(); ++i) {
    if (text[i] == quote) return i;
    if (quote == '"' && text[i] == '\\' && i + 1 < text.size() &&
        is_double_quote_escape(text[i + 1])) {
      ++i;
    }
    words.add(text[i]);
  }
  return std::string_view::npos;
}

} // namespace

std::optional<std::vector<std::string>> split_words(std::string_view text) {
  Words words;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_word_space(c)) {
      words.finish();
    } else if (c == '\'' || c == '"') {
      i = read_quoted(text, i, words);
      if (i == std::string_view::npos) return std::nullopt;
    } else if (c == '\\') {
      if (++i == text.size()) return std::nullopt;
      words.add(text[i]);
    } else {
      words.add(c);
    }
  }
  words.finish();
  return std::move(words.done);
}

TemplateCheck check_template(std::string_view text) {
  Scan scan = scan_template(text);
  TemplateCheck check{.fields = {}, .error = std::move(scan.error)};
  if (!check.error.empty()) return check;
  for (Piece& piece : scan.pieces) {
    if (piece.field && std::ranges::find(check.fields, piece.text) == check.fields.end()) {
      check.fields.push_back(std::move(piece.text));
    }
  }
  return check;
}

std::string expand(std::string_view text, const std::map<std::string, std::string>& fields) {
  const Scan scan = scan_template(text);
  if (!scan.error.empty()) throw Error("malformed template: " + scan.error);
  std::string out;
  for (const Piece& piece : scan.pieces) {
    if (!piece.field) {
      out += piece.text;
      continue;
    }
    const auto value = fields.find(piece.text);
    if (value == fields.end()) throw Error(fmt::format("unknown field \"{{{}}}\"", piece.text));
    out += value->second;
  }
  return out;
}

} // namespace certmgr::util
