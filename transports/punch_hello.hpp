// PUNCH_HELLO, the first record each end sends on a TCP path a hole punch
// opened (docs/PROTOCOL.md, "Punched TCP paths"): it names the attempt and
// proves knowledge of the attempt's key, so that a socket the listener
// accepted can be told from an ordinary dial and joined to its attempt,
// and so that both ends, whichever connected, take their Noise roles from
// the peer ids. It authenticates nothing else: the Noise handshake that
// follows proves the peer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace crust {

/// An attempt's id: 16 random bytes, fresh per attempt.
using attempt_id = std::array<uint8_t, 16>;

/// The key that MACs an attempt's on-path bytes (chosen by the offerer).
using probe_key = std::array<uint8_t, 32>;

/// BLAKE2b-128 keyed with an attempt's key over a context string and
/// `data`: what PUNCH_HELLO and the UDP probes (transports/datagram/probe)
/// carry to prove knowledge of the key.
std::array<uint8_t, 16> attempt_mac(const probe_key& key, const char* label,
                                    const uint8_t* data, size_t size);

/// magic[8] · attempt[16] · mac[16]: a record of this length is never a
/// Noise message 1 (32 bytes).
constexpr size_t punch_hello_size = 40;

/// The record body of a PUNCH_HELLO for `attempt`.
std::vector<uint8_t> encode_punch_hello(const attempt_id& attempt,
                                        const probe_key& key);

/// The attempt a record body names, when it has a PUNCH_HELLO's size and
/// magic (its MAC not yet checked).
std::optional<attempt_id> punch_hello_attempt(const uint8_t* body,
                                              size_t size);

/// Whether the body is a PUNCH_HELLO for `attempt` under `key`.
bool punch_hello_valid(const uint8_t* body, size_t size,
                       const attempt_id& attempt, const probe_key& key);

} // namespace crust
