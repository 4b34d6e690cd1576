// What each side of a handshake proves and tells, over TCP and over
// datagrams alike: the HELLO payload of Noise messages 2 and 3, and the
// prologue both sides must agree on. docs/PROTOCOL.md, "Handshake".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crust/peer_id.hpp"
#include "transports/noise/primitives.hpp"

namespace crust {

struct hello {
  peer_id id;
  /// Random per service start: tells a restarted peer from a duplicate.
  uint64_t session = 0;
  /// The sender dials to find its network again (bootstrap): the
  /// receiver reports the connection with origin bootstrap_in.
  bool bootstrapping = false;
};

/// HELLO as it travels (wire::hello_size bytes).
std::vector<uint8_t> encode_hello(const hello& h);

/// HELLO from a handshake payload, or nothing with `why` (a wrong size,
/// unknown flags). The caller still checks that the id owns the static
/// key the handshake authenticated.
std::optional<hello> decode_hello(const std::vector<uint8_t>& payload,
                                  std::string& why);

/// The peer's HELLO from a handshake payload, checked: well formed, its
/// id owns `remote_static` (the static key the handshake authenticated)
/// and, when a peer is pinned, it is `expected`. Nothing, with `why`,
/// otherwise.
std::optional<hello> verify_hello(const std::vector<uint8_t>& payload,
                                  const noise::key& remote_static,
                                  const std::optional<peer_id>& expected,
                                  std::string& why);

/// The prologue both sides must agree on: "crust", the protocol version
/// and the network name.
std::vector<uint8_t> prologue(const std::string& network_name);

} // namespace crust
