// TCP sockets crust opens itself, for CAF to take over: the dialer's
// connect (CAF's own connects block its I/O loop), and the one call a
// connection makes on its socket behind CAF's back. IPv4 and IPv6;
// addresses as text.
#pragma once

#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include <cstdint>

#include <string>
#include <vector>

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

/// A listening socket on `host:port` (port 0: any free one) with
/// SO_REUSEADDR and SO_REUSEPORT, so that a hole punch's sockets can bind
/// the same port (both options on every socket, before bind: Linux wants
/// it so; ../shared/PUNCH-NOTES.md 3.1). A port some other socket listens
/// on is refused, as without SO_REUSEPORT: two nodes must not share one
/// port and split its connections. Non-blocking; the fd, or why not.
caf::expected<int> tcp_listen(const std::string& host, uint16_t port);

/// A socket bound to `host:port` beside tcp_listen's (SO_REUSEADDR and
/// SO_REUSEPORT), not connected yet: what a hole punch connects from, so
/// that the NAT maps the listen port. Non-blocking; the fd, or why not.
caf::expected<int> tcp_bind_shared(const std::string& host, uint16_t port);

/// One round of a TCP hole punch: from sockets bound to `local` beside
/// the listener (tcp_bind_shared), connects to every one of `targets` at
/// once, again after a refusal (a NAT or host that answered our early SYN
/// with RST), until one connects or `deadline`. A connect that fails with
/// EADDRNOTAVAIL means the listener holds that 4-tuple already (the
/// peer's SYN came first and was accepted): that target is left alone.
/// Blocking: for a detached actor. The connected fd (TCP_NODELAY on) and
/// the target it reached, or every target's last error.
struct tcp_punch_result {
  int fd = -1;
  ip_endpoint to;
  std::string error;
};
tcp_punch_result tcp_punch(const ip_endpoint& local,
                           const std::vector<ip_endpoint>& targets,
                           caf::timespan deadline_after);

/// The port `fd` is bound to (0: none).
uint16_t tcp_local_port(int fd);

/// Closes a socket of these functions (-1: nothing to close).
void tcp_close(int fd);

/// Ends both directions of `fd` at once, unread input and all (close()
/// alone keeps the connection while another reference to it lives).
void tcp_shutdown(int fd);

} // namespace crust
