// config/detail.hpp: helpers private to the config module (its .cpp files and unit tests only).
// A Node is a JSON value plus the place it came from, so every reader can throw the one-line
// "<file>: <JSON pointer>: <problem>" error where the problem is found.
#pragma once

#include <certmgr/config.hpp>

#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace certmgr::config::detail {

/// The file being read: `file` is quoted in errors, `dir` (absolute) anchors relative paths.
struct Source {
  std::string file{};
  std::filesystem::path dir{};
};

/// A JSON value and its RFC 6901 pointer. A view: the document and the Source must outlive it.
class Node {
public:
  Node(const Source& source, const rapidjson::Value& json, std::string pointer = {},
       std::string key = {});

  [[nodiscard]] const rapidjson::Value& json() const noexcept { return *m_json; }
  [[nodiscard]] const Source& source() const noexcept { return *m_source; }
  [[nodiscard]] const std::string& pointer() const noexcept { return m_pointer; }
  /// The member name (or array index) under which this value sits in its parent.
  [[nodiscard]] const std::string& key() const noexcept { return m_key; }

  /// The members of an object in file order; anything else fails "expected an object".
  [[nodiscard]] std::vector<Node> members() const;
  /// The elements of an array; anything else fails "expected an array".
  [[nodiscard]] std::vector<Node> elements() const;

  /// Throws the config error "<file>: <pointer>: <message>".
  [[noreturn]] void fail(std::string_view message) const;
  /// Throws "expected <expected>, got <this value>".
  [[noreturn]] void fail_type(std::string_view expected) const;

private:
  const Source* m_source;
  const rapidjson::Value* m_json;
  std::string m_pointer;
  std::string m_key;
};

// ---- json.cpp: text to document, and values to message text ----

/// Parses strict JSON (iteratively, UTF-8 validated) and rejects duplicate object keys.
/// Syntax errors read "<file>: line L column C: <reason>".
[[nodiscard]] rapidjson::Document parse_document(const Source& source, std::string_view text);

/// `text` as a one-line JSON string literal: control characters escaped, long text shortened.
[[nodiscard]] std::string quote(std::string_view text);

/// A value for a message: scalars as JSON ("30", 3.5, null), containers as "an object"/"an array".
[[nodiscard]] std::string describe(const rapidjson::Value& value);

// ---- values.cpp: one reader per value type ----

/// Inclusive bounds of an integer key; `zero` also allows 0 (a size that disables a feature).
struct Range {
  std::int64_t min{0};
  std::int64_t max{0};
  bool zero{false};
};

[[nodiscard]] bool read_bool(const Node& node);
/// A JSON integer within `range` (strings and fractions are refused, never converted).
[[nodiscard]] int read_int(const Node& node, Range range);
/// read_int() where null means 0 [B10].
[[nodiscard]] int read_size(const Node& node, Range range);
[[nodiscard]] std::chrono::seconds read_seconds(const Node& node, Range range);
/// A string without NUL characters.
[[nodiscard]] std::string read_string(const Node& node);
/// A non-empty string.
[[nodiscard]] std::string read_nonempty_string(const Node& node);
/// null or "" → nullopt, else a string.
[[nodiscard]] std::optional<std::string> read_optional_string(const Node& node);
/// A non-empty path; a relative one is anchored at the config directory.
[[nodiscard]] std::filesystem::path read_path(const Node& node);
/// null or "" → nullopt, else read_path().
[[nodiscard]] std::optional<std::filesystem::path> read_optional_path(const Node& node);
/// A string, or an array of strings: the nodes of the strings.
[[nodiscard]] std::vector<Node> read_string_list(const Node& node, std::string_view expected);

/// What a not-yet-built feature accepts as "off" besides null.
enum class Off { null, null_or_false, empty_array, empty_object };
/// Refuses anything but the "off" values: "<key> is not supported by this version of certmgr".
void require_off(const Node& node, Off off);

/// A value for a message, as the user would write it in JSON.
[[nodiscard]] inline std::string show(bool value) { return value ? "true" : "false"; }
[[nodiscard]] inline std::string show(int value) { return std::to_string(value); }
[[nodiscard]] inline std::string show(std::chrono::seconds value) {
  return std::to_string(value.count());
}
[[nodiscard]] inline std::string show(const std::string& value) { return quote(value); }

/// Stores a key given twice under different names (an alias, name and common_name, ...): a
/// second, different value fails at `node`, naming `other`, where the first one came from.
template <class T>
void agree(std::optional<T>& slot, T value, const Node& node, std::string_view other) {
  if (slot && *slot != value) {
    node.fail(show(value) + " conflicts with " + show(*slot) + " given by " + std::string(other));
  }
  slot = std::move(value);
}

// ---- names.cpp: DNS names, curves, templates, users ----

/// Trimmed and lower-cased (ASCII), as every certificate and alt name is compared.
[[nodiscard]] std::string normalize_name(std::string_view name);
/// Labels of [a-z0-9-] (1..63, no leading or trailing '-'), an optional leading "*." label,
/// at most 253 characters.
[[nodiscard]] bool is_dns_name(std::string_view name);
/// normalize_name(`raw`), failing at `node` "invalid <what> ..." when not a DNS name.
[[nodiscard]] std::string checked_dns_name(const Node& node, std::string_view raw,
                                           std::string_view what);
/// The canonical curve of a string (aliases accepted); null or "" → "".
[[nodiscard]] std::string read_curve(const Node& node);
/// A template in which only {fqdn}, {{ and }} may appear [B16].
[[nodiscard]] std::string read_template(const Node& node);
/// Expands {fqdn}, {{ and }}; nullopt when `text` holds any other use of braces.
[[nodiscard]] std::optional<std::string> expand_template(std::string_view text,
                                                         std::string_view fqdn);
/// null or "" → nullopt; a name from the user/group database, or a numeric id.
[[nodiscard]] std::optional<uid_t> read_user(const Node& node);
[[nodiscard]] std::optional<gid_t> read_group(const Node& node);

// ---- tables: one reader per key ----

template <class Draft> struct Key {
  std::string_view name;
  void (*read)(const Node& member, Draft& draft);
};

/// The entry of `table` for key `name`; nullptr when there is none.
template <class Draft>
[[nodiscard]] const Key<Draft>* find_key(std::span<const Key<Draft>> table, std::string_view name) {
  for (const Key<Draft>& key : table) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

/// Offers each member of `object` to the reader of its key in `table`, in file order; a key not
/// in the table goes to `other` (which returns false if it does not know it either) and then
/// fails as an unknown key.
template <class Draft>
void read_members(const Node& object, std::span<const Key<Draft>> table, Draft& draft,
                  const std::function<bool(const Node&)>& other = {}) {
  for (const Node& member : object.members()) {
    if (const Key<Draft>* key = find_key(table, member.key())) {
      key->read(member, draft);
    } else if (!other || !other(member)) {
      member.fail("unknown key " + quote(member.key()));
    }
  }
}

/// Table reader for a key of a feature this version does not have (require_off()).
template <class Draft, Off off> void unsupported(const Node& member, Draft& /*draft*/) {
  require_off(member, off);
}

/// null/false → none, a non-empty string → literal, true → runtime. The value is never quoted
/// in an error (it may be a secret).
[[nodiscard]] Passphrase read_passphrase(const Node& node);

// ---- auth.cpp ----

/// An auth definition as written: unset members are inherited or defaulted later.
struct AuthSpec {
  Auth::Type type{Auth::Type::noop};
  std::map<std::string, std::string> per_domain{};
  std::optional<std::string> default_template{};
  std::optional<std::chrono::seconds> delay{};
  std::optional<int> retry{};
};

inline constexpr Range k_auth_delay_seconds{1, 3600};
inline constexpr Range k_auth_retry{1, 1000};

/// null, {} → noop; {type: "http", challenge_dir, delay, retry}; dns/hook are refused.
[[nodiscard]] AuthSpec read_auth(const Node& node);
/// {fqdn: directory, ...} merged into `auth.per_domain`; `other` names the earlier source.
void read_per_domain_dirs(const Node& node, AuthSpec& auth, std::string_view other);
/// The certificate's definition over the global one (behaviour §2.10, with the fix of B46).
[[nodiscard]] AuthSpec merge_auth(const AuthSpec& global, const AuthSpec& own);
/// Defaults filled in.
[[nodiscard]] Auth finish_auth(const AuthSpec& spec);

// ---- layer.cpp: keys given in settings and/or per certificate ----

/// The inheritable keys of one object; nullopt = not given there.
struct Layer {
  std::optional<int> key_size{};
  std::optional<std::string> key_curve{};
  std::optional<int> dhparam_size{};
  std::optional<bool> fast_dhparam{};
  std::optional<std::string> ecparam_curve{};
  std::optional<bool> ocsp_must_staple{};
  std::optional<std::optional<uid_t>> file_uid{};
  std::optional<std::optional<gid_t>> file_gid{};
  std::optional<AuthSpec> auth{};
  std::optional<Passphrase> key_passphrase{};
  std::optional<std::vector<std::string>> ocsp_responder_urls{};
  std::optional<Node> ct_submit_logs{}; ///< checked against ct_logs by the certificate reader
  std::optional<Node> verify{};         ///< read per certificate (hosts are its alt names)
};

/// Reads `member` into `layer` if it is an inheritable key; false if it is not one.
bool read_layer_key(const Node& member, Layer& layer);
/// A certificate with the layer values resolved: own, else global, else the defaults. Names,
/// key types and auth are left for the caller.
[[nodiscard]] Certificate resolve_layers(const Layer& own, const Layer& global);

// ---- sections.cpp ----

/// ASCII control characters and space.
[[nodiscard]] bool is_control_or_space(char c);
/// The host of the authority after "scheme://" (with brackets for IPv6); nullopt when the
/// authority holds credentials or a bad port.
[[nodiscard]] std::optional<std::string_view> url_host(std::string_view rest);

// ---- features.cpp: OCSP responders, CT logs, verify targets ----

/// A list of http(s) URLs.
[[nodiscard]] std::vector<std::string> read_url_list(const Node& node);
/// The `ct_logs` section.
[[nodiscard]] CtLogTable read_ct_logs(const Node& node);
/// Names that must all be in `logs`.
[[nodiscard]] std::vector<std::string> read_ct_submit_logs(const Node& node,
                                                           const CtLogTable& logs);
/// A verify definition for `certificate` (its alt names and key types known). `own` = false for
/// the settings definition inherited by a certificate: hosts that are not its names are skipped
/// instead of failing.
/// `defaults` gives ocsp_max_attempts and ocsp_retry_delay when the definition does not.
[[nodiscard]] Verify read_verify(const Node& node, const Certificate& certificate, bool own,
                                 const Verify& defaults);
inline constexpr Range k_verify_ocsp_attempts{1, 100};
inline constexpr Range k_verify_ocsp_retry_seconds{0, 300};

/// What settings give to every certificate.
struct Inherited {
  Layer layer{};
  AuthSpec auth{};          ///< the global auth, http_challenges and aliases included
  ServiceTable services{};  ///< the names a certificate's `services` may use
  CtLogTable ct_logs{};     ///< the names `ct_submit_logs` may use
  Verify verify_defaults{}; ///< settings.max_ocsp_verify_attempts, ocsp_verify_retry_delay [B9]
};

[[nodiscard]] Account read_account(const Node& node);
/// `settings` may be null (absent section); `http_challenges` too.
[[nodiscard]] Settings read_settings(const Node* settings, const Node* http_challenges,
                                     Inherited& inherited);

// ---- hooks.cpp: the hooks and services sections (behaviour §2.5, §2.6, §7.2) ----

/// Hook name → null, a command string, a command object, or an array of strings and objects.
/// Every template is checked against the fields of its hook (util::hook_fields()).
[[nodiscard]] HookTable read_hooks(const Node& node);
/// util::builtin_services() with `node` (may be null: absent section) merged over it.
[[nodiscard]] ServiceTable read_services(const Node* node);
/// A certificate's `services`: null, a name, or an array of names, each in `table` [B12].
[[nodiscard]] std::vector<std::string> read_certificate_services(const Node& node,
                                                                 const ServiceTable& table);

// ---- certificates.cpp ----

[[nodiscard]] std::vector<Certificate> read_certificates(const Node& node,
                                                         const Inherited& inherited);

} // namespace certmgr::config::detail
