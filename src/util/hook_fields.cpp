// util/hook_fields.cpp: behaviour §7.1 with the fix of B51: every file hook offers the Python
// field `file` and the documented `<kind>_file`, and `key_name` (= certificate_name).

#include <certmgr/util/hook_fields.hpp>

namespace certmgr::util {
namespace {

std::vector<std::string> file_hook(const char* file_field) {
  return {"certificate_name", "key_name", "key_type", "file", file_field};
}

std::map<std::string, std::vector<std::string>> make_table() {
  const std::vector<std::string> challenge = {"domain", "file", "challenge_file"};
  return {
      {"set_http_challenge", challenge},
      {"clear_http_challenge", challenge},
      {"private_key_installed", file_hook("private_key_file")},
      {"certificate_installed", file_hook("certificate_file")},
      {"full_certificate_installed", file_hook("full_certificate_file")},
      {"chain_installed", file_hook("chain_file")},
      {"full_key_installed", file_hook("full_key_file")},
      {"ocsp_installed", file_hook("ocsp_file")},
      {"sct_installed",
       {"certificate_name", "key_name", "key_type", "file", "sct_file", "ct_log_name"}},
      // params.pem serves every key type of the certificate: no key_type.
      {"params_installed", {"certificate_name", "key_name", "file", "params_file"}},
      {"certificates_updated", {"certificates"}},
      // update --verify: a changed certificate that is not being served after the reloads.
      {"rollback", {"certificate_name", "key_name"}},
  };
}

} // namespace

const std::map<std::string, std::vector<std::string>>& hook_fields() {
  static const std::map<std::string, std::vector<std::string>> table = make_table();
  return table;
}

} // namespace certmgr::util
