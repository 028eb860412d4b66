// tests/unit/template_test.cpp: util::split_words, check_template and expand. The values that
// must survive expansion untouched are the ones a shell would have acted on.

#include <certmgr/util/error.hpp>
#include <certmgr/util/template.hpp>

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace util = certmgr::util;
using Words = std::vector<std::string>;

struct Split {
  const char* text;
  std::optional<Words> words;
};

// clang-format off
const Split k_splits[] = {
  {"", Words{}},
  {" \t\n ", Words{}},
  {"a b  c", Words{"a", "b", "c"}},
  {"a\tb\nc\r\nd", Words{"a", "b", "c", "d"}},
  {"'a b' c", Words{"a b", "c"}},
  {"''", Words{""}},
  {"a '' b", Words{"a", "", "b"}},
  {R"(a'b'"c"d)", Words{"abcd"}},
  {R"('it''s')", Words{"its"}},
  {R"('a\b "c"')", Words{R"(a\b "c")"}},
  {R"("a \"b\" \\ \$ \` \x 'c'")", Words{R"(a "b" \ $ ` \x 'c')"}},
  {R"(a\ b \'c \\)", Words{"a b", "'c", "\\"}},
  {R"("$HOME" $(id) `id` ; |)", Words{"$HOME", "$(id)", "`id`", ";", "|"}},
  {"{file} '{certificate_name}'", Words{"{file}", "{certificate_name}"}},
  {"'multi\nline'", Words{"multi\nline"}},
  {"'abc", std::nullopt},
  {R"("abc)", std::nullopt},
  {R"("abc\")", std::nullopt},
  {R"(abc\)", std::nullopt},
  {R"(a 'b' "c)", std::nullopt},
};
// clang-format on

} // namespace

TEST_SUITE_BEGIN("util::split_words");

TEST_CASE("words split like a POSIX shell without expansion; unterminated quotes are nullopt") {
  for (const Split& split : k_splits) {
    CAPTURE(split.text);
    CHECK(util::split_words(split.text) == split.words);
  }
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("util::check_template");

TEST_CASE("fields are listed once in order of first use; doubled braces are literal") {
  CHECK(util::check_template("").fields.empty());
  CHECK(util::check_template("plain text").error.empty());
  CHECK(util::check_template("{file}").fields == Words{"file"});
  CHECK(util::check_template("x{b}{a_1}-{b}").fields == Words{"b", "a_1"});
  CHECK(util::check_template("{_x}").fields == Words{"_x"});
  const util::TemplateCheck braces = util::check_template("{{file}} }}{{");
  CHECK(braces.error.empty());
  CHECK(braces.fields.empty());
  CHECK(util::check_template("{{{file}}}").fields == Words{"file"});
}

TEST_CASE("any other use of a brace is malformed") {
  for (const char* bad : {"{", "}", "{a b}", "{1x}", "{}", "{A}", "{file", "file}", "{a:>10}",
                          "{a!r}", "{{a}", "{a}}", "{a{b}", "{file}.{key-type}"}) {
    CAPTURE(bad);
    const util::TemplateCheck check = util::check_template(bad);
    CHECK_FALSE(check.error.empty());
    CHECK(check.error.find('\n') == std::string::npos);
  }
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("util::expand");

TEST_CASE("values are inserted verbatim, never re-expanded") {
  const std::map<std::string, std::string> fields = {
      {"file", "/etc/certmgr/a b/cert.pem"},
      {"evil", "'; rm -rf / $(touch x) `id` \"q\"\n{file} {{"},
  };
  CHECK(util::expand("{file}.bak", fields) == "/etc/certmgr/a b/cert.pem.bak");
  CHECK(util::expand("{{{file}}}", fields) == "{/etc/certmgr/a b/cert.pem}");
  CHECK(util::expand("{evil}", fields) == fields.at("evil"));
  CHECK(util::expand("no fields", fields) == "no fields");
  CHECK(util::expand("", fields).empty());
}

TEST_CASE("a missing field or a malformed template is a util::Error naming it") {
  const std::map<std::string, std::string> fields = {{"file", "x"}};
  CHECK_THROWS_WITH_AS((void)util::expand("{file} {missing}", fields),
                       doctest::Contains("{missing}"), util::Error);
  CHECK_THROWS_AS((void)util::expand("{file", fields), util::Error);
}

TEST_SUITE_END();
