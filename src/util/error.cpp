#include <certmgr/util/error.hpp>

namespace certmgr::util {
namespace {
std::string locate(const Where& where, const std::string& message) {
  // append() rather than operator+: g++ 12 -O2 raises a false -Wrestrict on the latter.
  std::string line;
  for (const std::string* part : {&where.file, &where.json_pointer, &where.url}) {
    if (part->empty()) continue;
    line.append(*part).append(": ");
  }
  return line.append(message);
}
} // namespace

Error::Error(const Where& where, const std::string& message, ErrorKind kind)
    : std::runtime_error(locate(where, message)), m_kind(kind) {}

Error::Error(const std::string& message, ErrorKind kind)
    : std::runtime_error(message), m_kind(kind) {}

Error config_error(const std::string& file, const std::string& json_pointer,
                   const std::string& message) {
  return Error({.file = file, .json_pointer = json_pointer.empty() ? "/" : json_pointer}, message,
               ErrorKind::config);
}

} // namespace certmgr::util
