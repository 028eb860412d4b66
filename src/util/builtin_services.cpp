// util/builtin_services.cpp: behaviour §2.5. Daemons that re-read certificates on reload are
// reloaded; those that only read them at start are restarted.

#include <certmgr/util/builtin_services.hpp>

namespace certmgr::util {

const std::map<std::string, std::optional<std::string>>& builtin_services() {
  static const std::map<std::string, std::optional<std::string>> table = {
      {"apache", "systemctl reload apache2"},
      {"coturn", "systemctl restart coturn"},
      {"dovecot", "systemctl restart dovecot"},
      {"etherpad", "systemctl restart etherpad"},
      {"mysql", "systemctl reload mysql"},
      {"nginx", "systemctl reload nginx"},
      {"postfix", "systemctl reload postfix"},
      {"postgresql", "systemctl reload postgresql"},
      {"prosody", "systemctl restart prosody"},
      {"slapd", "systemctl restart slapd"},
      {"synapse", "systemctl restart matrix-synapse"},
      {"znc", "systemctl restart znc"},
  };
  return table;
}

} // namespace certmgr::util
