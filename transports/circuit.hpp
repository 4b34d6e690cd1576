// What the two ends of a relayed circuit and the relay say about it
// (docs/PROTOCOL.md, "Circuits"): why a circuit was refused or closed,
// the limits a relay announces, and their bytes. The frames themselves
// are the link's (transports/link_circuits.cpp); the relay's book of
// circuits is node/relay_table.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

namespace crust {

/// Why a circuit was refused or closed; on the wire as one byte.
enum class circuit_reason : uint8_t {
  closed_by_peer = 0,     // the other end closed it
  refused = 1,            // this node does not relay (or not for you)
  not_connected = 2,      // the target is not a peer the relay keeps
  too_many_circuits = 3,  // the relay's total
  too_many_for_peer = 4,  // per peer (either end)
  rate_limited = 5,       // circuits opened too fast
  idle = 6,               // no byte either way for idle_timeout
  over_credit = 7,        // a sender sent more than it was granted
  end_lost = 8,           // the other end's connection to the relay ended
  relay_stopping = 9,     // the relay shuts down
  duplicate = 10,         // the circuit id is in use on that connection
};

/// The highest reason the wire knows.
constexpr uint8_t max_circuit_reason = 10;

const char* to_string(circuit_reason r);

/// What a relay allows, announced to both ends of every circuit.
struct relay_limits {
  uint32_t max_circuits = 16;
  uint32_t max_circuits_per_peer = 4;
  /// Circuits a peer may open: a burst, then one per interval.
  uint32_t open_burst = 4;
  std::chrono::milliseconds open_interval{10000};
  /// Bytes per second through one circuit (both ways together), and
  /// through the relay in all.
  uint64_t circuit_bytes_per_sec = 256 * 1024;
  uint64_t total_bytes_per_sec = 1024 * 1024;
  /// Bytes the relay holds per direction of a circuit (the credit it
  /// grants a sender at most).
  uint32_t window = 64 * 1024;
  /// A circuit that carried nothing either way this long is closed.
  std::chrono::milliseconds idle_timeout{120000};
};

/// The limits' bytes in CIRCUIT_OPENED and CIRCUIT_INCOMING:
/// max_circuits u16 · max_circuits_per_peer u16 · open_burst u16 ·
/// open_interval ms u32 · circuit_bytes_per_sec u32 · total_bytes_per_sec
/// u32 · window u32 · idle_timeout ms u32 (big-endian; larger values are
/// sent as the largest the field holds).
constexpr size_t relay_limits_size = 26;

std::array<uint8_t, relay_limits_size> encode(const relay_limits& l);

/// The limits in `data` (relay_limits_size bytes).
relay_limits decode_relay_limits(const uint8_t* data);

} // namespace crust
