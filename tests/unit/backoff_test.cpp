// Unit tests of the per-certificate back-off (src/actions/backoff.hpp): the schedule to the
// second, the state file round trip, a CA's Retry-After, reset, and damaged state files.
#include "../../src/actions/backoff.hpp"
#include "logcapture.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

namespace {
namespace actions = certmgr::actions;
namespace store = certmgr::store;
using certmgr::test::LogCapture;
using certmgr::test::TempDir;
using certmgr::test::write_text;
using std::chrono::hours;
using std::chrono::seconds;

const std::chrono::system_clock::time_point k_now{seconds{1795000000}};
} // namespace

TEST_CASE("back-off schedule: none after one failure, a day after two or more") {
  CHECK(actions::backoff_until(1, k_now) == k_now);
  CHECK(actions::backoff_until(2, k_now) == k_now + hours(24));
  CHECK(actions::backoff_until(3, k_now) == k_now + hours(24));
  CHECK(actions::backoff_until(1000, k_now) == k_now + hours(24));
}

TEST_CASE("back-off state: recorded, counted, read back, cleared") {
  const TempDir dir;
  const store::Paths paths{.data_dir = dir.path()};
  CHECK_FALSE(actions::read_backoff(paths, "a.test"));
  auto b = actions::record_failure(paths, "a.test", "a.test", k_now, "rsa: boom\n\x1b[31m",
                                   std::nullopt);
  CHECK(b.failures == 1);
  CHECK(b.until == k_now);
  b = actions::record_failure(paths, "a.test", "a.test", k_now + seconds(10), "rsa: boom",
                              std::nullopt);
  CHECK(b.failures == 2);
  CHECK(b.until == k_now + seconds(10) + hours(24));
  const auto read = actions::read_backoff(paths, "a.test");
  REQUIRE(read);
  CHECK(read->failures == 2);
  CHECK(read->last == k_now + seconds(10));
  CHECK(read->until == k_now + seconds(10) + hours(24));
  CHECK(read->reason == "rsa: boom");
  struct stat st {};
  REQUIRE(::stat((dir.path() / ".backoff/a.test.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  CHECK(read->names == "a.test");
  CHECK_FALSE(actions::read_backoff(paths, "b.test")); // per certificate
  CHECK(actions::backoff_names(paths) == std::vector<std::string>{"a.test"});
  actions::clear_backoff(paths, "a.test");
  CHECK_FALSE(actions::read_backoff(paths, "a.test"));
  actions::clear_backoff(paths, "a.test"); // nothing to clear: fine
}

TEST_CASE("back-off state: the CA's Retry-After moves the next order later, never earlier") {
  const TempDir dir;
  const store::Paths paths{.data_dir = dir.path()};
  auto b = actions::record_failure(paths, "a.test", "a.test", k_now, "x", k_now + hours(3));
  CHECK(b.failures == 1);
  CHECK(b.until == k_now + hours(3));
  b = actions::record_failure(paths, "a.test", "a.test", k_now, "x", k_now + seconds(5));
  CHECK(b.failures == 2);
  CHECK(b.until == k_now + hours(24));
  b = actions::record_failure(paths, "a.test", "a.test", k_now, "x", k_now + hours(30));
  CHECK(b.until == k_now + hours(30));
}

TEST_CASE("back-off state: a failure for another set of names starts over") {
  const TempDir dir;
  const store::Paths paths{.data_dir = dir.path()};
  (void)actions::record_failure(paths, "a.test", "a.test", k_now, "x", std::nullopt);
  CHECK(actions::record_failure(paths, "a.test", "a.test", k_now, "x", std::nullopt).failures == 2);
  const auto b =
      actions::record_failure(paths, "a.test", "a.test www.a.test", k_now, "x", std::nullopt);
  CHECK(b.failures == 1);
  CHECK(b.until == k_now);
  CHECK(b.names == "a.test www.a.test");
}

TEST_CASE("back-off state: a damaged file is ignored with a warning, then rewritten") {
  const TempDir dir;
  const store::Paths paths{.data_dir = dir.path()};
  const LogCapture log(dir.path());
  for (const std::string text : {"", "[]", "{\"failures\":\"2\"}", "{\"failures\":0}", "{x",
                                 R"({"failures":2,"last_failure":"never","not_before":"x"})"}) {
    CAPTURE(text);
    write_text(dir.path() / ".backoff/a.test.json", text);
    CHECK_FALSE(actions::read_backoff(paths, "a.test"));
  }
  CHECK(log.count("not a back-off state file") == 6);
  const auto b = actions::record_failure(paths, "a.test", "a.test", k_now, "x", std::nullopt);
  CHECK(b.failures == 1);
  CHECK(actions::read_backoff(paths, "a.test"));
}
