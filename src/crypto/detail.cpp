#include "detail.hpp"

#include <certmgr/crypto.hpp>
#include <certmgr/util/error.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>

#include <climits>

namespace certmgr::crypto::detail {
namespace {

using EncodeCtxPtr = std::unique_ptr<EVP_ENCODE_CTX, util::FreeWith<EVP_ENCODE_CTX_free>>;

constexpr std::string_view k_begin = "-----BEGIN ";
constexpr std::string_view k_dashes = "-----";

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

} // namespace

std::string take_openssl_reason() {
  const unsigned long code = ERR_get_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  std::string text = reason != nullptr ? reason : (code != 0 ? "unknown OpenSSL error" : "");
  ERR_clear_error();
  return text;
}

void fail(std::string_view source, const std::string& message) {
  const std::string reason = take_openssl_reason();
  const std::string line = reason.empty() ? message : message + ": " + reason;
  if (source.empty()) throw util::Error(line);
  throw util::Error(util::Where{.file = std::string(source)}, line);
}

BioPtr read_bio(std::string_view data, std::string_view source) {
  if (data.size() > static_cast<std::size_t>(INT_MAX)) fail(source, "input too large");
  // An empty string_view may carry a null pointer, which BIO_new_mem_buf rejects.
  const char* bytes = data.empty() ? "" : data.data();
  BioPtr bio(BIO_new_mem_buf(bytes, static_cast<int>(data.size())));
  if (!bio) fail(source, "cannot create memory BIO");
  return bio;
}

BioPtr write_bio(bool secure) {
  BioPtr bio(BIO_new(secure ? BIO_s_secmem() : BIO_s_mem()));
  if (!bio) fail("", "cannot create memory BIO");
  return bio;
}

std::string_view bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return {};
  return {data, static_cast<std::size_t>(size)};
}

std::optional<PemBlock> next_pem_block(std::string_view text, std::size_t from) {
  for (std::size_t pos = text.find(k_begin, from); pos != std::string_view::npos;
       pos = text.find(k_begin, pos + 1)) {
    const std::size_t label_start = pos + k_begin.size();
    const std::size_t label_end = text.find(k_dashes, label_start);
    if (label_end == std::string_view::npos) return std::nullopt;
    const std::string_view label = text.substr(label_start, label_end - label_start);
    // A marker whose label spans lines is stray text, not a block.
    if (label.empty() || label.find_first_of("\r\n") != std::string_view::npos) continue;
    PemBlock block{.begin = pos, .label = label};
    const std::size_t body_start = label_end + k_dashes.size();
    const std::string end_marker = "-----END " + std::string(label) + "-----";
    const std::size_t end_pos = text.find(end_marker, body_start);
    block.terminated = end_pos != std::string_view::npos;
    block.end = block.terminated ? end_pos + end_marker.size() : text.size();
    block.body = text.substr(body_start, (block.terminated ? end_pos : text.size()) - body_start);
    return block;
  }
  return std::nullopt;
}

std::string block_text(std::string_view text, const PemBlock& block) {
  std::string out(text.substr(block.begin, block.end - block.begin));
  out += '\n';
  return out;
}

std::optional<std::string> decode_base64(std::string_view body) {
  // EVP_DecodeUpdate treats '-' as end of data and skips some junk; PEM headers such as
  // "Proc-Type:" must fail instead, so only base64 and whitespace are let through.
  for (const char c : body)
    if (!is_base64_char(c)) return std::nullopt;
  if (body.size() > static_cast<std::size_t>(INT_MAX) - 8) return std::nullopt;
  EncodeCtxPtr ctx(EVP_ENCODE_CTX_new());
  if (!ctx) fail("", "cannot create base64 decoder");
  EVP_DecodeInit(ctx.get());
  std::string out(body.size() + 8, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int size = 0;
  int tail = 0;
  const int rc =
      EVP_DecodeUpdate(ctx.get(), dst, &size, reinterpret_cast<const unsigned char*>(body.data()),
                       static_cast<int>(body.size()));
  if (rc < 0 || EVP_DecodeFinal(ctx.get(), dst + size, &tail) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(size + tail));
  return out;
}

} // namespace certmgr::crypto::detail
