// An IP address (IPv4 or IPv6, as text) and a port: the one address type
// crust's internals pass around (a datagram's peer, a STUN server and what
// it saw, a socket's address, a connection's far end). One to_string,
// which brackets IPv6 ("[::1]:5483") as URLs and the OBSERVED frame do, so
// the same peer reads the same in every report whatever carried it.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

namespace crust {

struct ip_endpoint {
  std::string ip;
  uint16_t port = 0;

  bool v6() const {
    return ip.find(':') != std::string::npos;
  }

  friend bool operator==(const ip_endpoint& a, const ip_endpoint& b) {
    return a.port == b.port && a.ip == b.ip;
  }
  friend bool operator!=(const ip_endpoint& a, const ip_endpoint& b) {
    return !(a == b);
  }
  friend bool operator<(const ip_endpoint& a, const ip_endpoint& b) {
    return std::tie(a.ip, a.port) < std::tie(b.ip, b.port);
  }
};

/// "IP:PORT", or "[IPv6]:PORT".
std::string to_string(const ip_endpoint& x);

} // namespace crust
