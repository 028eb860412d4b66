// src/verify/starttls.cpp: the plain-text dialogs that switch a connection to TLS (SMTP RFC 3207,
// IMAP RFC 3501 §6.2.1, POP3 RFC 2595 §4, FTP RFC 4217, XMPP RFC 6120 §5, ManageSieve RFC 5804).
// Every reply is checked; a byte after the final reply (before the TLS handshake) is refused,
// since it would be read as plain text injected ahead of TLS.
#include "verify/detail.hpp"
#include <certmgr/log.hpp>
#include <certmgr/util/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace certmgr::verify::detail {
namespace {
constexpr std::string_view k_doing = "STARTTLS";

[[noreturn]] void fail(std::string_view what) { throw Failure(fmt::format("STARTTLS: {}", what)); }
[[noreturn]] void not_offered() { fail("server did not offer STARTTLS"); }
[[noreturn]] void unexpected(std::string_view after, std::string_view line) {
  fail(fmt::format("unexpected reply to {}: {}", after, log::printable(line, 120)));
}

std::string upper(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

/// First word of `text`, upper-cased.
std::string first_word(std::string_view text) {
  text = trim(text);
  return upper(text.substr(0, text.find_first_of(" \t")));
}

bool starts_with_word(std::string_view line, std::string_view word) {
  return upper(line.substr(0, word.size())) == word &&
         (line.size() == word.size() || line[word.size()] == ' ');
}

/// A reply of SMTP or FTP: a three-digit code, continued while the line has '-' after the code.
struct CodedReply {
  int code{0};
  std::string first{};              ///< the first line as sent
  std::vector<std::string> texts{}; ///< each line after "NNN-"/"NNN " (continuation lines whole)
};

CodedReply read_coded(Connection& conn, std::string_view after) {
  CodedReply reply;
  reply.first = conn.read_line(k_doing);
  const std::string& line = reply.first;
  const bool digits = line.size() >= 3 && std::all_of(line.begin(), line.begin() + 3,
                                                      [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) unexpected(after, line);
  reply.code = std::stoi(line.substr(0, 3));
  reply.texts.push_back(line.size() > 4 ? line.substr(4) : std::string());
  if (line.size() <= 3 || line[3] == ' ') return reply;
  const std::string code = line.substr(0, 3);
  for (;;) {
    if (reply.texts.size() >= k_max_reply_lines)
      fail(fmt::format("reply to {} longer than {} lines", after, k_max_reply_lines));
    std::string next = conn.read_line(k_doing);
    const bool coded =
        next.starts_with(code) && (next.size() == 3 || next[3] == ' ' || next[3] == '-');
    reply.texts.push_back(coded ? (next.size() > 4 ? next.substr(4) : std::string()) : next);
    if (coded && (next.size() == 3 || next[3] == ' ')) return reply;
  }
}

void smtp(Connection& conn) {
  const CodedReply greeting = read_coded(conn, "the connection (greeting)");
  if (greeting.code != 220) unexpected("the connection (greeting)", greeting.first);
  conn.write_all("EHLO localhost\r\n", k_doing);
  const CodedReply ehlo = read_coded(conn, "EHLO");
  if (ehlo.code != 250) unexpected("EHLO", ehlo.first);
  const bool offered =
      std::ranges::any_of(ehlo.texts.begin() + 1, ehlo.texts.end(),
                          [](const std::string& text) { return first_word(text) == "STARTTLS"; });
  if (!offered) not_offered();
  conn.write_all("STARTTLS\r\n", k_doing);
  const CodedReply go = read_coded(conn, "STARTTLS");
  if (go.code != 220) unexpected("STARTTLS", go.first);
}

/// Capability words of an IMAP "CAPABILITY ..." text (after the word CAPABILITY), upper-cased.
bool imap_lists_starttls(std::string_view caps) {
  std::size_t pos = 0;
  while (pos < caps.size()) {
    const auto end = std::min(caps.find_first_of(" ]", pos), caps.size());
    if (upper(caps.substr(pos, end - pos)) == "STARTTLS") return true;
    if (end < caps.size() && caps[end] == ']') break;
    pos = end + 1;
  }
  return false;
}

/// Reads lines up to the tagged reply of `tag`; returns its status text ("OK ...").
/// `untagged` sees each untagged line.
template <class F>
std::string imap_tagged(Connection& conn, std::string_view tag, std::string_view after,
                        F&& untagged) {
  for (std::size_t i = 0; i < k_max_reply_lines; ++i) {
    std::string line = conn.read_line(k_doing);
    if (line.starts_with(std::string(tag) + " ")) {
      if (!starts_with_word(std::string_view(line).substr(tag.size() + 1), "OK"))
        unexpected(after, line);
      return line;
    }
    if (!line.starts_with("* ")) unexpected(after, line);
    untagged(std::string_view(line).substr(2));
  }
  fail(fmt::format("reply to {} longer than {} lines", after, k_max_reply_lines));
}

void imap(Connection& conn) {
  const std::string greeting = conn.read_line(k_doing);
  if (!greeting.starts_with("* ") || !starts_with_word(std::string_view(greeting).substr(2), "OK"))
    unexpected("the connection (greeting)", greeting);
  bool offered = false;
  const auto code = upper(greeting).find("[CAPABILITY ");
  if (code != std::string::npos) {
    offered = imap_lists_starttls(std::string_view(greeting).substr(code + 12));
  } else {
    conn.write_all("a000 CAPABILITY\r\n", k_doing);
    (void)imap_tagged(conn, "a000", "CAPABILITY", [&](std::string_view line) {
      if (starts_with_word(line, "CAPABILITY"))
        offered =
            offered || imap_lists_starttls(line.substr(std::min<std::size_t>(11, line.size())));
    });
  }
  if (!offered) not_offered();
  conn.write_all("a001 STARTTLS\r\n", k_doing);
  (void)imap_tagged(conn, "a001", "STARTTLS", [](std::string_view) {});
}

void pop3(Connection& conn) {
  const std::string greeting = conn.read_line(k_doing);
  if (!starts_with_word(greeting, "+OK")) unexpected("the connection (greeting)", greeting);
  conn.write_all("CAPA\r\n", k_doing);
  const std::string capa = conn.read_line(k_doing);
  if (starts_with_word(capa, "+OK")) {
    bool offered = false;
    for (std::size_t i = 0;; ++i) {
      if (i >= k_max_reply_lines)
        fail(fmt::format("reply to CAPA longer than {} lines", k_max_reply_lines));
      const std::string line = conn.read_line(k_doing);
      if (line == ".") break;
      offered = offered || first_word(line) == "STLS";
    }
    if (!offered) not_offered();
  } else if (!starts_with_word(capa, "-ERR")) {
    unexpected("CAPA", capa);
  } // -ERR: a server without CAPA; STLS decides
  conn.write_all("STLS\r\n", k_doing);
  const std::string go = conn.read_line(k_doing);
  if (!starts_with_word(go, "+OK")) unexpected("STLS", go);
}

void ftp(Connection& conn) {
  const CodedReply greeting = read_coded(conn, "the connection (greeting)");
  if (greeting.code != 220) unexpected("the connection (greeting)", greeting.first);
  conn.write_all("FEAT\r\n", k_doing);
  const CodedReply feat = read_coded(conn, "FEAT");
  if (feat.code == 211) {
    const bool offered =
        std::ranges::any_of(feat.texts.begin() + 1, feat.texts.end(), [](const std::string& text) {
          const std::string line = upper(trim(text));
          if (!line.starts_with("AUTH ")) return false;
          std::string_view rest = std::string_view(line).substr(5);
          while (!rest.empty()) {
            const auto end = std::min(rest.find_first_of("; "), rest.size());
            if (rest.substr(0, end) == "TLS") return true;
            rest.remove_prefix(std::min(end + 1, rest.size()));
          }
          return false;
        });
    if (!offered) not_offered();
  } else if (feat.code < 500) {
    unexpected("FEAT", feat.first);
  } // 5xx: a server without FEAT; AUTH TLS decides
  conn.write_all("AUTH TLS\r\n", k_doing);
  const CodedReply go = read_coded(conn, "AUTH TLS");
  if (go.code != 234) unexpected("AUTH TLS", go.first);
}

/// Reads until `end` is in the buffer; returns the text up to and including it, and leaves the
/// rest buffered. `error` marks a reply that ends the dialog ("<stream:error", "<failure").
std::string xml_until(Connection& conn, std::initializer_list<std::string_view> ends,
                      std::initializer_list<std::string_view> errors, std::string_view after) {
  for (;;) {
    std::string& buf = conn.buffer();
    for (const auto e : errors) {
      const auto at = buf.find(e);
      if (at != std::string::npos) unexpected(after, std::string_view(buf).substr(at));
    }
    for (const auto e : ends) {
      const auto at = buf.find(e);
      if (at != std::string::npos) {
        std::string text = buf.substr(0, at + e.size());
        buf.erase(0, at + e.size());
        return text;
      }
    }
    if (buf.size() > k_max_xml_bytes)
      fail(fmt::format("reply to {} longer than {} bytes", after, k_max_xml_bytes));
    conn.fill(k_doing);
  }
}

void xmpp(Connection& conn, const std::string& host) {
  const bool safe = !host.empty() && std::ranges::all_of(host, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
  if (!safe) fail(fmt::format("\"{}\" is not a domain for an XMPP stream", log::printable(host)));
  conn.write_all(fmt::format("<?xml version='1.0'?><stream:stream to='{}' xmlns='jabber:client' "
                             "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
                             host),
                 k_doing);
  const std::string features = xml_until(conn, {"</stream:features>", "<stream:features/>"},
                                         {"<stream:error"}, "the stream header");
  const auto at = features.find("<stream:features");
  if (at == std::string::npos) not_offered();
  const std::string_view list = std::string_view(features).substr(at);
  const auto tls = list.find("<starttls");
  if (tls == std::string_view::npos ||
      list.substr(tls).find("urn:ietf:params:xml:ns:xmpp-tls") == std::string_view::npos)
    not_offered();
  // whitespace between stanzas is allowed (keep-alives)
  if (!trim(conn.buffer()).empty()) fail("server sent data after its stream features");
  conn.buffer().clear();
  conn.write_all("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", k_doing);
  const std::string reply =
      xml_until(conn, {"<proceed"}, {"<failure", "<stream:error"}, "<starttls/>");
  if (!trim(std::string_view(reply).substr(0, reply.size() - 8)).empty())
    unexpected("<starttls/>", reply);
  const std::string tag = xml_until(conn, {">"}, {}, "<starttls/>");
  if (!tag.ends_with("/>")) (void)xml_until(conn, {"</proceed>"}, {}, "<starttls/>");
}

void sieve(Connection& conn) {
  bool offered = false;
  for (std::size_t i = 0;; ++i) {
    if (i >= k_max_reply_lines)
      fail(fmt::format("greeting longer than {} lines", k_max_reply_lines));
    const std::string line = conn.read_line(k_doing);
    if (starts_with_word(line, "OK")) break;
    if (starts_with_word(line, "NO") || starts_with_word(line, "BYE") || !line.starts_with('"'))
      unexpected("the connection (greeting)", line);
    offered = offered || upper(line) == "\"STARTTLS\"" || upper(line).starts_with("\"STARTTLS\" ");
  }
  if (!offered) not_offered();
  conn.write_all("STARTTLS\r\n", k_doing);
  const std::string go = conn.read_line(k_doing);
  if (!starts_with_word(go, "OK")) unexpected("STARTTLS", go);
}
} // namespace

void starttls(Connection& conn, std::string_view protocol, const std::string& host) {
  if (protocol == "smtp") {
    smtp(conn);
  } else if (protocol == "imap") {
    imap(conn);
  } else if (protocol == "pop3") {
    pop3(conn);
  } else if (protocol == "ftp") {
    ftp(conn);
  } else if (protocol == "xmpp") {
    xmpp(conn, host);
  } else if (protocol == "sieve") {
    sieve(conn);
  } else {
    fail(fmt::format("unknown protocol \"{}\"", log::printable(protocol)));
  }
  if (!conn.buffer().empty()) fail("server sent data before the TLS handshake");
}

} // namespace certmgr::verify::detail
