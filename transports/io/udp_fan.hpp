// Birthday mode's sockets (../shared/PUNCH-NOTES.md 4.4): against a NAT
// that gives each new destination a random external port, the side behind
// it opens many UDP sockets, each of which sends to the peer and so opens
// one mapping; the peer sprays probes at random ports of our NAT, and one
// lands on a mapping with good odds (256 sockets x 1024 probes: >= 98 % in
// the lab). This is the socket half, blocking, for a thread of its own:
// open, send, wait for the one datagram that proves the path, keep that
// socket and close the rest. What the datagrams say is the caller's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "transports/ip_endpoint.hpp"

namespace crust {

/// What the caller makes of a datagram one of the sockets received: take
/// it (the socket is the winner; `answer`, when not empty, goes back to
/// the sender first) or not.
struct udp_fan_verdict {
  bool take = false;
  std::vector<uint8_t> answer;
};

using udp_fan_judge = std::function<udp_fan_verdict(
  const ip_endpoint& from, const uint8_t* data, size_t size)>;

struct udp_fan_result {
  int fd = -1; // the winner, or -1 (every socket closed)
  ip_endpoint from;
  size_t opened = 0; // sockets it managed to open (descriptors run out)
};

/// Opens up to `count` UDP sockets on `host` (any port each), sends
/// `hello(i)` from socket i to every target, again every `resend`, and
/// waits up to `limit` for a datagram `judge` takes. At most `count` x
/// targets x (limit / resend + 1) datagrams go out.
udp_fan_result udp_fan_out(const std::string& host, size_t count,
                           const std::vector<ip_endpoint>& targets,
                           const std::function<std::vector<uint8_t>(size_t)>& hello,
                           std::chrono::milliseconds resend,
                           std::chrono::milliseconds limit,
                           const udp_fan_judge& judge);

} // namespace crust
