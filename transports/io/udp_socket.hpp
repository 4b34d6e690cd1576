// The rudp UDP socket: bind, read a batch at once (recvmmsg; runs from one
// source come as one buffer, GRO), send a batch (sendmmsg; runs for one
// destination go as one buffer, GSO). IPv4 and IPv6; addresses as text
// (transports/datagram/channel's ip_endpoint). Non-blocking; a full send
// buffer drops the datagram, as the network would (SCTP resends).
#pragma once

#include <cstdint>
#include <functional>

#include <sys/socket.h>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "transports/datagram/channel.hpp"

namespace crust {

/// What udp_read hands each datagram to: its source and bytes (valid
/// only during the call).
using udp_each
  = std::function<void(const ip_endpoint&, const uint8_t*, size_t)>;

/// The size the kernel cut a received run of datagrams at (UDP GRO), or
/// `len` when `h` holds one datagram.
size_t udp_segment_size(const msghdr& h, size_t len);

/// Binds `host:port` (port 0: any free one); the fd, or why not.
caf::expected<int> udp_bind(const std::string& host, uint16_t port);

/// Closes a socket udp_bind opened (-1: nothing to close).
void udp_close(int fd);

/// Waits up to `ms` milliseconds for `fd` to have a datagram to read.
bool udp_wait_readable(int fd, int ms);

/// Sends one datagram; false when the kernel refused it (or `to` is not
/// an address of the socket's family).
bool udp_send_to(int fd, const ip_endpoint& to, const uint8_t* bytes,
                 size_t size);

/// The port `fd` is bound to.
uint16_t udp_local_port(int fd);

/// Reads up to `max` waiting datagrams without blocking, oldest first,
/// handing each to `each`; how many it read.
size_t udp_read(int fd, size_t max, const udp_each& each);

/// Sends them all in few system calls (sendmmsg, and runs for one
/// destination as one segmented buffer while `gso` holds; a kernel that
/// cannot segment turns `gso` off). What the kernel refuses is dropped,
/// as the network would.
void udp_send_all(int fd, const std::vector<datagram_channel::outgoing>& out,
                  bool& gso);

} // namespace crust
