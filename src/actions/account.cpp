#include "account.hpp"

#include <certmgr/log.hpp>
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace certmgr::actions {
namespace {
constexpr mode_t k_account_file_mode = 0600;

struct Registration {
  std::string uri{};
  std::string directory{};
};

std::optional<Registration> read_registration(const std::filesystem::path& path) {
  const auto text = util::read_file(path);
  if (!text) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text->data(), text->size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("uri") || !doc["uri"].IsString()) {
    log::warning("{}: not a registration file, registering again", path.string());
    return std::nullopt;
  }
  Registration r{.uri = doc["uri"].GetString()};
  if (doc.HasMember("directory") && doc["directory"].IsString())
    r.directory = doc["directory"].GetString();
  return r;
}

std::string registration_json(const std::string& body, const std::string& uri,
                              const std::string& directory) {
  rapidjson::Document doc(rapidjson::kObjectType);
  rapidjson::Document account;
  account.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
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

/// A run killed inside util::write_file_atomic leaves its hidden temporary file behind; the
/// real file is intact (old or new), so the leftover is only removed.
void remove_leftovers(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") && name.find(".tmp-") != std::string::npos)
      std::filesystem::remove(entry.path(), ec);
  }
}

crypto::Key load_or_create_key(const std::filesystem::path& path) {
  if (const auto pem = util::read_file(path)) return crypto::Key::from_pem(*pem, path.string());
  log::progress("[acme] generating account key {}", path.string());
  crypto::Key key = crypto::Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp256r1"});
  util::write_file_atomic(path, key.to_pem(), k_account_file_mode);
  return key;
}
} // namespace

http::Options http_options(const config::Config& config) {
  const std::string& url = config.settings.acme_directory_url;
  return {.ca_bundle = config.settings.ca_bundle,
          .user_agent = "certmgr/" CERTMGR_VERSION,
          .plain_http =
              url.starts_with("http://") ? http::PlainHttp::allow : http::PlainHttp::refuse};
}

acme::Client& Account::client() {
  if (!m_client) open();
  return *m_client;
}

void Account::open() {
  const auto dir = m_config.settings.data_dir / "account";
  // data_dir itself must stay traversable for the web and mail servers that read the tree.
  util::make_dirs(m_config.settings.data_dir, store::k_public_dir_mode);
  util::make_dirs(dir, store::k_private_dir_mode);
  remove_leftovers(dir);
  m_signer = std::make_unique<jose::Signer>(load_or_create_key(dir / "client.key"));
  const std::string& url = m_config.settings.acme_directory_url;
  auto client = std::make_unique<acme::Client>(http_options(m_config), url, *m_signer);
  const auto reg_path = dir / "registration.json";
  const auto reg = read_registration(reg_path);
  // [B47]: the registration belongs to the exact directory URL it was made with.
  if (reg &&
      (reg->directory == url || (reg->directory.empty() && origin(reg->uri) == origin(url)))) {
    client->set_account_url(reg->uri);
  } else {
    const auto& tos = client->directory().terms_of_service;
    if (!tos.empty())
      log::info("[acme] agreeing to the terms of service at {}", log::printable(tos));
    log::progress("[acme] registering account at {}", url);
    const std::string body = client->register_account(m_config.account.email);
    util::write_file_atomic(reg_path, registration_json(body, *client->account_url(), url),
                            k_account_file_mode);
  }
  m_client = std::move(client);
}

} // namespace certmgr::actions
