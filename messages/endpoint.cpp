#include "crust/endpoint.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "crust/errors.hpp"

namespace crust {

std::string to_string(transport x) {
  switch (x) {
    case transport::tcp:
      return "tcp";
    case transport::rudp:
      return "rudp";
    case transport::relay:
      return "relay";
  }
  return "unknown";
}

namespace {

caf::error bad(std::string_view text, const char* why) {
  return make_error(errc::invalid_config,
                    "endpoint \"" + std::string{text} + "\": " + why);
}

// The address in canonical form ("::1", not "0::0001"); empty when `host`
// is not an address of family `af` (an embedded NUL included).
std::string canonical(int af, const std::string& host) {
  if (host.find('\0') != std::string::npos)
    return {};
  unsigned char bytes[sizeof(in6_addr)];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(af, host.c_str(), bytes) != 1
      || inet_ntop(af, bytes, text, sizeof(text)) == nullptr)
    return {};
  return text;
}

} // namespace

caf::expected<endpoint> endpoint::parse(std::string_view text) {
  endpoint result;
  auto rest = text;
  if (rest.substr(0, 6) == "tcp://") {
    result.proto = transport::tcp;
    rest.remove_prefix(6);
  } else if (rest.substr(0, 6) == "udp://") {
    result.proto = transport::rudp;
    rest.remove_prefix(6);
  } else {
    return bad(text, "expected tcp://IP:PORT or udp://IP:PORT");
  }
  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    auto id = peer_id::from_hex(rest.substr(hash + 1));
    if (!id)
      return bad(text, "the part after '#' is not a 64-digit hex peer id");
    result.pinned = *id;
    rest = rest.substr(0, hash);
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size()
        || rest[close + 1] != ':')
      return bad(text, "IPv6 addresses are written [ADDR]:PORT");
    result.host = canonical(AF_INET6, std::string{rest.substr(1, close - 1)});
    if (result.host.empty())
      return bad(text, "not an IPv6 address");
    port_text = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos)
      return bad(text, "missing :PORT");
    result.host = canonical(AF_INET, std::string{rest.substr(0, colon)});
    if (result.host.empty())
      return bad(text, "not an IPv4 address (names are not resolved)");
    port_text = rest.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(),
                                   port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size()
      || port == 0 || port > 65535)
    return bad(text, "the port must be a number from 1 to 65535");
  result.port = static_cast<uint16_t>(port);
  return result;
}

std::string to_string(const endpoint& x) {
  // (relay://: through the relay at HOST:PORT, to the pinned peer)
  std::string result = x.proto == transport::tcp    ? "tcp://"
                       : x.proto == transport::rudp ? "udp://"
                                                    : "relay://";
  if (x.host.find(':') != std::string::npos)
    result += "[" + x.host + "]";
  else
    result += x.host;
  result += ":" + std::to_string(x.port);
  if (x.pinned)
    result += "#" + x.pinned->to_hex();
  return result;
}

} // namespace crust
