// The rudp UDP socket: bind, read a batch at once (recvmmsg), send a batch
// (sendmmsg). IPv4 and IPv6; addresses as text (transports/datagram_channel's
// udp_address). Non-blocking; a full send buffer drops the datagram, as
// the network would (SCTP resends).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "transports/datagram_channel.hpp"

namespace crust {

struct udp_datagram {
  udp_address from;
  std::vector<uint8_t> bytes;
};

/// Binds `host:port` (port 0: any free one); the fd, or why not.
caf::expected<int> udp_bind(const std::string& host, uint16_t port);

/// The port `fd` is bound to.
uint16_t udp_local_port(int fd);

/// Appends up to `max` waiting datagrams to `out`; how many it read.
size_t udp_read_batch(int fd, std::vector<udp_datagram>& out, size_t max);

/// Sends them all in few system calls (sendmmsg, and runs for one
/// destination as one segmented buffer while `gso` holds; a kernel that
/// cannot segment turns `gso` off). What the kernel refuses is dropped,
/// as the network would.
void udp_send_all(int fd, const std::vector<datagram_channel::outgoing>& out,
                  bool& gso);

} // namespace crust
