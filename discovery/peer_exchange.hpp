// Peer exchange: a sample of the peers a node reached directly, signed by
// that node, so a peer two hops away can learn them. Sans-I/O: encode and
// decode the PEERS frame body (docs/PROTOCOL.md, "Peer exchange").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "crust/endpoint.hpp"
#include "crust/peer_id.hpp"
#include "transports/identity.hpp"

namespace crust {

/// One entry: a peer, and an endpoint where it accepted a connection.
struct exchange_entry {
  peer_id peer;
  endpoint at;
};

/// The PEERS body for `entries` (at most wire::max_exchange_entries are
/// taken), signed by `me` and bound to the network and the time.
std::vector<uint8_t> encode_peers(const identity& me, const std::string& network,
                                  uint64_t unix_time,
                                  const std::vector<exchange_entry>& entries);

/// Checks a PEERS body from `sender`: its signature, network and size.
/// Entries that do not parse are left out, not fatal.
caf::expected<std::vector<exchange_entry>>
decode_peers(const peer_id& sender, const std::string& network,
             const uint8_t* body, size_t size);

} // namespace crust
