#include "account.hpp"

#include <certmgr/actions.hpp>
#include <certmgr/log.hpp>
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>
#include <certmgr/util/text.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace certmgr::actions {
namespace {
namespace fs = std::filesystem;
constexpr mode_t k_account_file_mode = store::k_private_file_mode;
constexpr std::string_view k_key_file = "client.key";
constexpr std::string_view k_next_key_file = "client.key.next";
constexpr std::string_view k_registration_file = "registration.json";

struct Registration {
  std::string uri{};
  std::string directory{};
  std::string body{}; ///< the account object as JSON text, "{}" when unknown
};

std::optional<Registration> read_registration(const fs::path& path) {
  const auto text = util::read_file(path);
  if (!text) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text->data(), text->size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("uri") || !doc["uri"].IsString()) {
    log::warning("{}: not a registration file, registering again", path.string());
    return std::nullopt;
  }
  Registration r{.uri = doc["uri"].GetString(), .body = "{}"};
  if (doc.HasMember("directory") && doc["directory"].IsString())
    r.directory = doc["directory"].GetString();
  if (doc.HasMember("body") && doc["body"].IsObject()) {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> writer(out);
    doc["body"].Accept(writer);
    r.body.assign(out.GetString(), out.GetSize());
  }
  return r;
}

std::string registration_json(const std::string& body, const std::string& uri,
                              const std::string& directory) {
  rapidjson::Document doc(rapidjson::kObjectType);
  rapidjson::Document account;
  account.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (account.HasParseError()) account.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("body", rapidjson::Value(account, a), a);
  doc.AddMember("uri", rapidjson::Value(uri.c_str(), a), a);
  doc.AddMember("directory", rapidjson::Value(directory.c_str(), a), a);
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> writer(out);
  doc.Accept(writer);
  return std::string(out.GetString(), out.GetSize()) + "\n";
}

/// The origin part of a URL ("https://host:port"), for registrations written without the
/// directory URL (the Python tool): same origin = same CA.
std::string origin(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  return url.substr(0, url.find('/', scheme_end + 3));
}

bool belongs_to(const Registration& reg, const std::string& url) {
  return reg.directory == url || (reg.directory.empty() && origin(reg.uri) == origin(url));
}

/// The "contact" array of an account object, in order; empty when absent.
std::vector<std::string> contacts(const std::string& body) {
  std::vector<std::string> out;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return out;
  const auto it = doc.FindMember("contact");
  if (it == doc.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& v : it->value.GetArray())
    if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
  return out;
}

/// A run killed inside util::write_file_atomic leaves its hidden temporary file behind; the
/// real file is intact (old or new), so the leftover is only removed.
void remove_leftovers(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") && name.find(".tmp-") != std::string::npos)
      fs::remove(entry.path(), ec);
  }
}

void rename_durably(const fs::path& from, const fs::path& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw util::Error({.file = from.string()},
                      fmt::format("cannot rename to {}: {}", to.string(), std::strerror(errno)));
  util::fsync_dir(to.parent_path());
  if (from.parent_path() != to.parent_path()) util::fsync_dir(from.parent_path());
}

/// account/client.key and account/registration.json of earlier versions (and of the Python
/// tool) move into the directory's own account/<label>/ when they belong to it. The key goes
/// first: a run killed between the two renames finds the registration still at the top and
/// completes the move.
void adopt_top_level(const fs::path& root, const fs::path& dir, const std::string& url) {
  const fs::path top_reg = root / k_registration_file;
  const auto reg = util::read_file(top_reg) ? read_registration(top_reg) : std::nullopt;
  if (!reg || !belongs_to(*reg, url)) return;
  const fs::path top_key = root / k_key_file;
  const bool have_key = ::access(top_key.c_str(), F_OK) == 0;
  // Never over an existing key: it may belong to an account whose registration a killed run
  // did not write yet.
  const bool taken = ::access((dir / k_registration_file).c_str(), F_OK) == 0 ||
                     (have_key && ::access((dir / k_key_file).c_str(), F_OK) == 0);
  if (taken) {
    log::warning("{}: not used, {} holds the account of {} (remove one of them)", top_reg.string(),
                 dir.string(), url);
    return;
  }
  if (have_key) rename_durably(top_key, dir / k_key_file);
  rename_durably(top_reg, dir / k_registration_file);
  log::info("[acme] moved the account of {} to {}", url, dir.string());
}
} // namespace

std::string account_label(const std::string& directory_url) {
  const auto scheme_end = directory_url.find("://");
  const std::size_t start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const std::string authority =
      directory_url.substr(start, directory_url.find_first_of("/?#", start) - start);
  std::string label;
  for (const char c : util::ascii_lower(authority)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    label += plain ? c : '_';
  }
  const std::string digest = crypto::sha256(directory_url);
  return fmt::format("{}-{:02x}{:02x}{:02x}{:02x}", label, static_cast<unsigned char>(digest[0]),
                     static_cast<unsigned char>(digest[1]), static_cast<unsigned char>(digest[2]),
                     static_cast<unsigned char>(digest[3]));
}

http::Options http_options(const config::Config& config) {
  const std::string& url = config.settings.acme_directory_url;
  const std::chrono::seconds timeout = config.settings.http_timeout;
  return {.ca_bundle = config.settings.ca_bundle,
          .connect_timeout = std::min(timeout, std::chrono::seconds(15)),
          .request_timeout = timeout,
          .user_agent = "certmgr/" CERTMGR_VERSION,
          .plain_http =
              url.starts_with("http://") ? http::PlainHttp::allow : http::PlainHttp::refuse};
}

fs::path Account::directory() const {
  return m_config.settings.data_dir / "account" /
         account_label(m_config.settings.acme_directory_url);
}

acme::Client& Account::client() {
  if (!m_client) open();
  return *m_client;
}

void Account::load_key(const fs::path& dir) {
  const fs::path path = dir / k_key_file;
  if (const auto pem = util::read_file(path)) {
    ReadKey read = read_key(*pem, path.string(), m_passphrase, m_secrets);
    if (read.rewrite) {
      log::info("[acme] {}: stored {} (account.passphrase changed)", path.string(),
                m_passphrase ? "encrypted" : "in clear");
      util::write_file_atomic(path, write_key(read.key, m_passphrase), k_account_file_mode);
    }
    m_signer = std::make_unique<jose::Signer>(std::move(read.key));
    return;
  }
  log::progress("[acme] generating account key {}", path.string());
  crypto::Key key = crypto::Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp256r1"});
  util::write_file_atomic(path, write_key(key, m_passphrase), k_account_file_mode);
  m_signer = std::make_unique<jose::Signer>(std::move(key));
}

/// A rollover killed after the request left (or with an unknown outcome): the CA knows either
/// the old key or the new one. A key is dropped only once the CA confirmed the other one.
std::string Account::finish_rollover(const fs::path& dir, const std::string& account_url) {
  const fs::path next = dir / k_next_key_file;
  const auto pem = util::read_file(next);
  if (!pem) return account_url;
  const std::string& url = m_config.settings.acme_directory_url;
  ReadKey read = read_key(*pem, next.string(), m_passphrase, m_secrets);
  auto signer = std::make_unique<jose::Signer>(std::move(read.key));
  acme::Client probe(http_options(m_config), url, *signer);
  if (const auto found = probe.find_account()) {
    rename_durably(next, dir / k_key_file);
    m_signer = std::move(signer);
    if (*found != account_url) {
      log::warning("[acme] the CA names the account {} now (was {})", log::printable(*found),
                   log::printable(account_url));
      util::write_file_atomic(dir / k_registration_file, registration_json(m_body, *found, url),
                              k_account_file_mode);
    }
    log::notice("[acme] completed the account key rollover of an interrupted run");
    return *found;
  }
  acme::Client old_probe(http_options(m_config), url, *m_signer);
  if (old_probe.find_account()) {
    std::error_code ec;
    fs::remove(next, ec);
    util::fsync_dir(dir);
    log::info("[acme] {}: removed, the CA kept the old key", next.string());
    return account_url;
  }
  throw util::Error({.file = next.string()},
                    "an interrupted key rollover: the CA knows neither this key nor client.key "
                    "(both are kept; check the account at the CA)");
}

void Account::sync_contact(const fs::path& dir, const std::string& body) {
  const auto& email = m_config.account.email;
  const std::vector<std::string> wanted =
      email ? std::vector<std::string>{"mailto:" + *email} : std::vector<std::string>{};
  m_body = body;
  if (contacts(body) == wanted) return;
  m_body = m_client->update_account(email);
  util::write_file_atomic(
      dir / k_registration_file,
      registration_json(m_body, *m_client->account_url(), m_config.settings.acme_directory_url),
      k_account_file_mode);
  log::notice("[acme] account contact set to {}", email ? "mailto:" + *email : "none");
}

void Account::open() {
  const fs::path root = m_config.settings.data_dir / "account";
  const fs::path dir = directory();
  // data_dir itself must stay traversable for the web and mail servers that read the tree.
  util::make_dirs(m_config.settings.data_dir, store::k_public_dir_mode);
  util::make_dirs(root, store::k_private_dir_mode);
  util::make_dirs(dir, store::k_private_dir_mode);
  remove_leftovers(dir);
  const std::string& url = m_config.settings.acme_directory_url;
  adopt_top_level(root, dir, url);
  m_passphrase = wanted_passphrase(m_config.account.passphrase, m_secrets, "account.passphrase");
  const fs::path reg_path = dir / k_registration_file;
  auto reg = read_registration(reg_path);
  if (reg && !belongs_to(*reg, url)) reg.reset();
  if (reg && ::access((dir / k_key_file).c_str(), F_OK) != 0 &&
      ::access((dir / k_next_key_file).c_str(), F_OK) != 0) {
    // A registration is useless without its key (a follower that copied only one file).
    log::warning("{}: no {} next to it, registering a new account", reg_path.string(), k_key_file);
    reg.reset();
  }
  if (reg) m_body = reg->body;
  load_key(dir);
  if (reg) reg->uri = finish_rollover(dir, reg->uri);
  m_client = std::make_unique<acme::Client>(http_options(m_config), url, *m_signer);
  try {
    if (reg) {
      m_client->set_account_url(reg->uri);
      if (reg->directory.empty()) // from an older version: record the directory now
        util::write_file_atomic(reg_path, registration_json(reg->body, reg->uri, url),
                                k_account_file_mode);
    } else {
      const auto& tos = m_client->directory().terms_of_service;
      if (!tos.empty())
        log::info("[acme] agreeing to the terms of service at {}", log::printable(tos));
      log::progress("[acme] registering account at {}", url);
      const std::string body = m_client->register_account(m_config.account.email);
      util::write_file_atomic(reg_path, registration_json(body, *m_client->account_url(), url),
                              k_account_file_mode);
      reg = Registration{.uri = *m_client->account_url(), .directory = url, .body = body};
    }
    sync_contact(dir, reg->body);
  } catch (...) {
    // A client that failed half-way (no kid yet, or a kid whose registration was never
    // stored) must not serve the next key type or certificate: client() opens again.
    m_client.reset();
    throw;
  }
}

void Account::rollover() {
  acme::Client& old_client = client();
  const fs::path dir = directory();
  const fs::path next = dir / k_next_key_file;
  crypto::Key key = crypto::Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp256r1"});
  util::write_file_atomic(next, write_key(key, m_passphrase), k_account_file_mode);
  auto signer = std::make_unique<jose::Signer>(std::move(key));
  try {
    old_client.change_key(*signer);
  } catch (const acme::Problem& e) {
    // A definite refusal keeps the old key. Anything else (5xx, a timeout after the CA
    // switched) keeps client.key.next for the next open() to settle with the CA.
    if (e.status() >= 400 && e.status() < 500) {
      std::error_code ec;
      fs::remove(next, ec);
    }
    throw;
  }
  rename_durably(next, dir / k_key_file);
  auto client = std::make_unique<acme::Client>(http_options(m_config),
                                               m_config.settings.acme_directory_url, *signer);
  client->set_account_url(*old_client.account_url());
  m_client = std::move(client);
  m_signer = std::move(signer);
}

std::string Account::summary() {
  acme::Client& c = client();
  const auto list = contacts(m_body);
  return fmt::format("account {} at {} (key {}, contact {})", log::printable(*c.account_url()),
                     m_config.settings.acme_directory_url, signer().alg(),
                     list.empty() ? std::string("none")
                                  : log::printable(fmt::format("{}", fmt::join(list, ", "))));
}

int account(const config::Config& config, bool rollover, const Secrets& secrets) {
  Account account(config, secrets);
  try {
    (void)account.client();
    if (rollover) {
      account.rollover();
      log::notice("[acme] account key replaced");
    }
    log::notice("{}", account.summary());
    return 0;
  } catch (const std::exception& e) {
    log::error("[acme] {}", e.what());
  }
  return 1;
}

} // namespace certmgr::actions
