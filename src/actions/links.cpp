#include "links.hpp"

#include <sys/stat.h>

namespace certmgr::actions {

WantedLinks wanted_links(const config::Config& config) {
  WantedLinks links;
  for (const auto& cert : config.certificates) {
    links.names.insert(cert.name);
    struct stat st {};
    const auto path = config.settings.data_dir / cert.name;
    if (::lstat(path.c_str(), &st) != 0) continue; // never issued
    for (const auto& alt : cert.link_names) links.wanted.emplace(alt, cert.name);
  }
  return links;
}

bool is_link_conflict(std::string_view line) {
  // store::sync_links words every refusal as "<alt> is ..., not replaced by/linked to <name>".
  return line.find(" not ") != std::string_view::npos;
}

} // namespace certmgr::actions
