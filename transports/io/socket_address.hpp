// An IP address as text plus a port, to and from the socket address the
// kernel wants: the one conversion every socket of crust's uses (the TCP
// dialer, the rudp socket, address discovery).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include "transports/ip_endpoint.hpp"

namespace crust {

/// `ip` (IPv4 or IPv6 text) and `port` as a socket address; false when
/// `ip` is not an address.
bool to_sockaddr(const std::string& ip, uint16_t port, sockaddr_storage& out,
                 socklen_t& len);

/// The IP as text and the port of `ss` (empty and 0 for other families).
ip_endpoint from_sockaddr(const sockaddr_storage& ss);

} // namespace crust
