#include "json.hpp"

#include <certmgr/log.hpp>
#include <certmgr/util/error.hpp>

#include <rapidjson/error/en.h>

namespace certmgr::acme::detail {

rapidjson::Document parse_object(std::string_view body, const std::string& url) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(body.data(),
                                                                                body.size());
  if (doc.HasParseError())
    throw util::Error({.url = url}, fmt::format("invalid JSON from the CA: {}",
                                                rapidjson::GetParseError_En(doc.GetParseError())));
  if (!doc.IsObject()) throw util::Error({.url = url}, "the CA sent JSON that is not an object");
  return doc;
}

std::optional<std::string> optional_string(const rapidjson::Value& object, const char* name,
                                           const std::string& url) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) return std::nullopt;
  if (!it->value.IsString())
    throw util::Error({.url = url}, fmt::format("the CA sent a non-string \"{}\"", name));
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string required_string(const rapidjson::Value& object, const char* name,
                            const std::string& url) {
  auto value = optional_string(object, name, url);
  if (!value) throw util::Error({.url = url}, fmt::format("the CA's answer lacks \"{}\"", name));
  return std::move(*value);
}

std::vector<std::string> string_array(const rapidjson::Value& object, const char* name,
                                      const std::string& url) {
  std::vector<std::string> out;
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd()) return out;
  if (!it->value.IsArray())
    throw util::Error({.url = url}, fmt::format("the CA sent a non-array \"{}\"", name));
  for (const auto& item : it->value.GetArray()) {
    if (!item.IsString())
      throw util::Error({.url = url}, fmt::format("the CA sent a non-string in \"{}\"", name));
    out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

std::string problem_text(const rapidjson::Value& value) {
  if (!value.IsObject()) return "";
  std::string type;
  std::string detail;
  if (const auto t = value.FindMember("type"); t != value.MemberEnd() && t->value.IsString())
    type = t->value.GetString();
  if (const auto d = value.FindMember("detail"); d != value.MemberEnd() && d->value.IsString())
    detail = d->value.GetString();
  if (type.empty() && detail.empty()) return "";
  constexpr std::string_view k_prefix = "urn:ietf:params:acme:error:";
  if (type.starts_with(k_prefix)) type.erase(0, k_prefix.size());
  return log::printable(detail.empty() ? type : fmt::format("{}: {}", type, detail));
}

} // namespace certmgr::acme::detail
