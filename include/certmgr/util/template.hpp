// certmgr/util/template.hpp: hook command lines. Splitting turns a configured string into argv
// words once, at load; expansion fills {field} placeholders into each word afterwards. A value
// is never re-split, re-quoted or re-expanded, so no field can add or change an argument [B52].
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certmgr::util {

/// POSIX-shell-like word splitting without any expansion: space, tab, CR and LF separate words;
/// '...' is literal; inside "..." a backslash escapes only " \ $ and ` (else it stays); outside
/// quotes a backslash makes the next character literal. Quotes join with adjacent text into one
/// word; '' is an empty word. nullopt on an unterminated quote or a trailing backslash.
[[nodiscard]] std::optional<std::vector<std::string>> split_words(std::string_view text);

/// What check_template() found: the field names in order of first use (each once), or a
/// non-empty `error` (one line, the offending text quoted) when the template is malformed.
struct TemplateCheck {
  std::vector<std::string> fields{};
  std::string error{};
};

/// Placeholder syntax: {field} with field = [a-z_][a-z0-9_]*; "{{" and "}}" are literal braces;
/// any other brace is malformed. No format specs or conversions.
[[nodiscard]] TemplateCheck check_template(std::string_view text);

/// `text` with every {field} replaced by fields.at(field), verbatim, and "{{"/"}}" unescaped.
/// Throws util::Error for a malformed template or a field missing from `fields` (naming it).
[[nodiscard]] std::string expand(std::string_view text,
                                 const std::map<std::string, std::string>& fields);

} // namespace certmgr::util
