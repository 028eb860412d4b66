// tests/fuzz/sct_fuzz.cpp: Certificate Transparency code of src/sct on arbitrary bytes, each input
// three ways: sct::parse() of an RFC 6962 §3.2 serialization, sct::verify() of it against the
// fixture log (fixtures/ct_log_key.der, an EC P-256 key) and leaf (fixtures/leaf.pem), and the
// input as the log's add-chain answer to sct::submit() (through fake_http.cpp, status 200).
//
// Oracles: parse() is the inverse of serialize(): a parsed SCT has a 32-byte log id, re-serializes
// (when serialize accepts its signature) to exactly the input, and parses back to the same fields;
// verify() never throws and is true only for an SCT that parses and names the log; submit()
// throws only util::Error, as one line, and what it returns is an SCT of the log that verify()
// accepts for the leaf.
#include "fake_http.hpp"
#include "fuzz_common.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/sct.hpp>
#include <certmgr/util/error.hpp>

#include <chrono>

namespace {
namespace crypto = certmgr::crypto;
namespace sct = certmgr::sct;
using certmgr::fuzz::require;

struct Fixture : certmgr::fuzz::LeafFixture {
  sct::Log log;
};

const Fixture& fixture() {
  static const Fixture* instance = [] {
    const std::string key = certmgr::fuzz::fixture("ct_log_key.der");
    require(sct::is_log_key(key), "fixtures/ct_log_key.der is not a log key");
    return new Fixture{certmgr::fuzz::leaf_fixture(),
                       {.name = "fuzzlog",
                        .url = "https://ct.test/fuzz/",
                        .log_id = sct::log_id_of(key),
                        .public_key_der = key}};
  }();
  return *instance;
}

void fuzz_parse(std::string_view input) {
  const std::optional<sct::Timestamp> t = sct::parse(input);
  const bool verified = sct::verify(input, fixture().log, fixture().leaf, fixture().now);
  if (!t) {
    require(!verified, "verify() accepted what parse() refuses");
    return;
  }
  require(t->log_id.size() == 32, "parsed log id not 32 bytes");
  if (verified) require(t->log_id == fixture().log.log_id, "verified an SCT of another log");
  std::string serialized;
  try {
    serialized = sct::serialize(*t);
  } catch (const certmgr::util::Error& e) {
    certmgr::fuzz::require_one_line(e.what());
    require(!verified, "verify() accepted an SCT that serialize() refuses");
    return;
  }
  require(serialized == input, "serialize(parse(x)) != x");
  const auto again = sct::parse(serialized);
  require(again && *again == *t, "parse(serialize(t)) != t");
}

void fuzz_submit(std::string_view input) {
  const Fixture& f = fixture();
  certmgr::fuzz::set_http_handler([&](const certmgr::fuzz::Request& request) {
    require(request.method == "POST" && request.url == "https://ct.test/fuzz/ct/v1/add-chain",
            "add-chain request to an unexpected URL", request.url);
    return certmgr::http::Response{.status = 200,
                                   .headers = {{"content-type", "application/json"}},
                                   .body = std::string(input)};
  });
  try {
    const std::string serialized = sct::submit({}, f.log, f.leaf, {f.issuer});
    const auto t = sct::parse(serialized);
    require(t && t->log_id == f.log.log_id, "submit() returned an SCT of another log");
    require(sct::verify(serialized, f.log, f.leaf, std::chrono::system_clock::now()),
            "submit() returned an SCT that verify() refuses");
  } catch (const certmgr::util::Error& e) {
    certmgr::fuzz::require_one_line(e.what());
  }
  certmgr::fuzz::set_http_handler({});
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = certmgr::fuzz::as_text(data, size);
  fuzz_parse(input);
  fuzz_submit(input);
  return 0;
}
