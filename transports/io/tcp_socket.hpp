// TCP sockets crust opens itself, for CAF to take over: the dialer's
// connect (CAF's own connects block its I/O loop), and the one call a
// connection makes on its socket behind CAF's back. IPv4 and IPv6;
// addresses as text.
#pragma once

#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include <cstdint>

#include <string>

#include "transports/ip_endpoint.hpp"

namespace crust {

/// What a dial came to: a connected socket (`fd` >= 0, TCP_NODELAY on)
/// and its local end, or `error` saying why not.
struct tcp_dial_result {
  int fd = -1;
  ip_endpoint local;
  std::string error;
};

/// Connects to `to`, blocking up to `timeout`.
tcp_dial_result tcp_dial(const ip_endpoint& to, caf::timespan timeout);

/// The port `fd` is bound to (0: none).
uint16_t tcp_local_port(int fd);

/// Closes a socket of these functions (-1: nothing to close).
void tcp_close(int fd);

/// Ends both directions of `fd` at once, unread input and all (close()
/// alone keeps the connection while another reference to it lives).
void tcp_shutdown(int fd);

} // namespace crust
