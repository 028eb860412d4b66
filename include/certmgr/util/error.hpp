// certmgr/util/error.hpp: the one exception type of certmgr. what() is the finished line that the
// user reads: "<where>: <what failed>: <why>", where <where> is a file with an optional JSON
// pointer, a URL, or nothing (the certificate prefix is added by whoever catches it).
#pragma once

#include <stdexcept>
#include <string>

namespace certmgr::util {

/// Where a failure was found. Every member is optional.
struct Where {
  std::string file{};         ///< a file path (config file, key file, ...)
  std::string json_pointer{}; ///< RFC 6901 pointer inside `file` ("/certificates/2/key_types/0")
  std::string url{};          ///< a URL of the ACME server, an OCSP responder, ...
};

/// Kind of failure, so callers can pick the exit status without parsing text.
enum class ErrorKind {
  general, ///< anything else: the certificate fails, exit 1
  config,  ///< bad configuration or command line: exit 2, nothing written
  lock,    ///< the lock is held by another run: exit 3
};

class Error : public std::runtime_error {
public:
  /// `message` is the part after the location; the location is prepended as
  /// "file: pointer: message" or "url: message".
  Error(const Where& where, const std::string& message, ErrorKind kind = ErrorKind::general);
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::general);

  [[nodiscard]] ErrorKind kind() const noexcept { return m_kind; }

private:
  ErrorKind m_kind;
};

/// Shorthand for a configuration error (exit 2).
[[nodiscard]] Error config_error(const std::string& file, const std::string& json_pointer,
                                 const std::string& message);

} // namespace certmgr::util
