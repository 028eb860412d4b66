// config/certificates.cpp: the `certificates` section (behaviour §2.8, §2.9): names, alt names,
// key types, inheritance from settings, and the alt-name links of the data tree [B28].

#include "config/detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace certmgr::config::detail {
namespace {

/// Let's Encrypt's limit of names per certificate; a longer list cannot be issued.
constexpr std::size_t k_max_alt_names = 100;

/// Entries of the data directory that a certificate directory must not shadow (§3.1).
constexpr std::string_view k_reserved_names[] = {"account", "archives"};

/// A certificate as read, before inheritance is resolved.
struct CertificateDraft {
  Layer layer{};
  std::optional<std::string> name{};
  std::optional<Node> name_origin{}; ///< where the name was first given
  std::string name_source{};         ///< how that place is called in a conflict message
  std::optional<Node> alt_names{};
  std::optional<Node> key_types{};
  std::optional<Node> services{};
};

/// A name from `name`, `common_name` or the key of the object form; all must agree [B5][B6].
void accept_name(const Node& node, std::string_view raw, std::string_view source,
                 CertificateDraft& draft) {
  std::string name = checked_dns_name(node, raw, "certificate name");
  if (std::ranges::find(k_reserved_names, name) != std::end(k_reserved_names)) {
    node.fail(
        fmt::format("reserved certificate name {} (an entry of the data directory)", quote(name)));
  }
  agree(draft.name, std::move(name), node, draft.name_source);
  if (!draft.name_origin) {
    draft.name_origin = node;
    draft.name_source = source;
  }
}

void read_name(const Node& node, CertificateDraft& draft) {
  accept_name(node, read_string(node), node.key(), draft);
}

// clang-format off
constexpr Key<CertificateDraft> k_certificate_keys[] = {
  {"name", read_name},
  {"common_name", read_name},
  {"alt_names", [](const Node& n, CertificateDraft& d) { d.alt_names = n; }},
  {"key_types", [](const Node& n, CertificateDraft& d) { d.key_types = n; }},
  {"services", [](const Node& n, CertificateDraft& d) { d.services = n; }},
};
// clang-format on

/// B7: in the zone form, host "@" is the zone itself and host "h" is "h.<zone>".
std::string zone_host(std::string_view host, std::string_view zone) {
  const std::string normal_host = normalize_name(host);
  const std::string normal_zone = normalize_name(zone);
  return normal_host == "@" ? normal_zone : normal_host + "." + normal_zone;
}

/// [name], then each configured name once, lower-cased [B59]; "@" in the list form is the name.
std::vector<std::string> read_alt_names(const Node& node, const std::string& name) {
  std::vector<std::string> names{name};
  const auto add = [&names](const Node& at, std::string_view raw) {
    std::string alt = checked_dns_name(at, raw, "alt name");
    if (std::ranges::find(names, alt) == names.end()) names.push_back(std::move(alt));
  };
  if (node.json().IsObject()) {
    for (const Node& zone : node.members()) {
      for (const Node& host : read_string_list(zone, "a host name or an array of host names")) {
        add(host, zone_host(read_string(host), zone.key()));
      }
    }
  } else if (!node.json().IsNull()) {
    for (const Node& alt : read_string_list(node, "a string, an array of strings or an object")) {
      const std::string raw = read_string(alt);
      add(alt, raw == "@" ? name : raw);
    }
  }
  if (names.size() > k_max_alt_names) {
    node.fail(fmt::format("{} alt names (at most {} fit in one certificate)", names.size(),
                          k_max_alt_names));
  }
  return names;
}

/// Why `type` cannot be used, or "" when its key is configured.
std::string disabled_reason(KeyType type, const Certificate& certificate) {
  if (type == KeyType::rsa && certificate.key_size == 0) {
    return "key type \"rsa\" needs a key_size (key_size is 0)";
  }
  if (type == KeyType::ecdsa && certificate.key_curve.empty()) {
    return "key type \"ecdsa\" needs a key_curve (key_curve is null)";
  }
  return {};
}

std::vector<KeyType> enabled_key_types(const Node& node, const Certificate& certificate) {
  std::vector<KeyType> types;
  for (const KeyType type : {KeyType::rsa, KeyType::ecdsa}) {
    if (disabled_reason(type, certificate).empty()) types.push_back(type);
  }
  if (types.empty()) node.fail("no key type enabled: key_size is 0 and key_curve is null");
  return types;
}

/// B13: a string is one key type, never a list of characters.
std::vector<KeyType> read_key_types(const Node& node, const Certificate& certificate) {
  std::vector<KeyType> types;
  for (const Node& entry : read_string_list(node, "\"rsa\", \"ecdsa\" or an array of them")) {
    const std::string text = read_string(entry);
    const std::optional<KeyType> type = util::parse_key_type(text);
    if (!type) {
      entry.fail(fmt::format("unknown key type {} (expected \"rsa\" or \"ecdsa\")", quote(text)));
    }
    if (std::ranges::find(types, *type) != types.end()) {
      entry.fail("duplicate key type " + quote(text));
    }
    if (const std::string reason = disabled_reason(*type, certificate); !reason.empty()) {
      entry.fail(reason);
    }
    types.push_back(*type);
  }
  if (types.empty()) node.fail("no key types (expected \"rsa\", \"ecdsa\" or both)");
  return types;
}

struct ReadCertificate {
  Certificate certificate;
  Node name_origin;
};

ReadCertificate read_certificate(const Node& node, bool keyed, const Inherited& inherited) {
  if (!node.json().IsObject()) node.fail_type("an object");
  CertificateDraft draft;
  if (keyed) accept_name(node, node.key(), "its key in certificates", draft);
  read_members<CertificateDraft>(node, k_certificate_keys, draft, [&draft](const Node& member) {
    return read_layer_key(member, draft.layer);
  });
  if (!draft.name) node.fail("missing name (expected \"name\" or \"common_name\")");
  Certificate certificate = resolve_layers(draft.layer, inherited.layer);
  certificate.name = *draft.name;
  // §2.10: "auth": null is noop for this certificate; an absent auth inherits the global one.
  certificate.auth = finish_auth(draft.layer.auth ? merge_auth(inherited.auth, *draft.layer.auth)
                                                  : inherited.auth);
  certificate.alt_names = draft.alt_names ? read_alt_names(*draft.alt_names, certificate.name)
                                          : std::vector<std::string>{certificate.name};
  const bool types_given = draft.key_types && !draft.key_types->json().IsNull();
  certificate.key_types = types_given ? read_key_types(*draft.key_types, certificate)
                                      : enabled_key_types(node, certificate);
  if (draft.services) {
    certificate.services = read_certificate_services(*draft.services, inherited.services);
  }
  if (const auto& logs =
          draft.layer.ct_submit_logs ? draft.layer.ct_submit_logs : inherited.layer.ct_submit_logs)
    certificate.ct_submit_logs = read_ct_submit_logs(*logs, inherited.ct_logs);
  if (draft.layer.verify) {
    certificate.verify =
        read_verify(*draft.layer.verify, certificate, true, inherited.verify_defaults);
  } else if (inherited.layer.verify) { // [B11]: the whole settings definition is inherited
    certificate.verify =
        read_verify(*inherited.layer.verify, certificate, false, inherited.verify_defaults);
  }
  return {std::move(certificate), *draft.name_origin};
}

/// B28: an alt name gets a link to its certificate only when nothing else claims that path:
/// no certificate is named so (earlier or later), and no other certificate lists it.
void assign_link_names(std::vector<Certificate>& certificates) {
  std::set<std::string> names;
  std::multiset<std::string> listed;
  for (const Certificate& certificate : certificates) {
    names.insert(certificate.name);
    listed.insert(certificate.alt_names.begin(), certificate.alt_names.end());
  }
  for (Certificate& certificate : certificates) {
    for (const std::string& alt : certificate.alt_names) {
      if (alt != certificate.name && !names.contains(alt) && listed.count(alt) == 1) {
        certificate.link_names.push_back(alt);
      }
    }
  }
}

} // namespace

std::vector<Certificate> read_certificates(const Node& node, const Inherited& inherited) {
  // B5: an array of objects, or an object keyed by name.
  const bool keyed = node.json().IsObject();
  if (!keyed && !node.json().IsArray()) node.fail_type("an array or an object of certificates");
  const std::vector<Node> entries = keyed ? node.members() : node.elements();
  if (entries.empty()) node.fail("no certificates configured");
  std::vector<Certificate> certificates;
  std::map<std::string, std::string> first_pointer;
  for (const Node& entry : entries) {
    ReadCertificate read = read_certificate(entry, keyed, inherited);
    const auto [first, added] = first_pointer.emplace(read.certificate.name, entry.pointer());
    if (!added) {
      read.name_origin.fail(fmt::format("duplicate certificate name {} (first used at {})",
                                        quote(read.certificate.name), first->second));
    }
    certificates.push_back(std::move(read.certificate));
  }
  assign_link_names(certificates);
  return certificates;
}

} // namespace certmgr::config::detail
