// The UDP probes of a hole-punching attempt (docs/PROTOCOL.md, "UDP
// probes"): PROBE opens the sender's NAT toward a candidate of the peer's
// and asks the receiver to answer; PROBE_ACK answers it to wherever it
// came from and says what address that was, so the prober learns its
// reflexive endpoint and both learn that the path carries datagrams both
// ways. Both are MACed with the attempt's key (transports/punch_hello
// attempt_mac): without it nobody can make us answer or start a
// handshake. Parse and encode only; the datagram channel acts on them.
//
// PROBE      0xC6 · attempt[16] · from_offerer u8 · nonce[8] · mac[16]
//            · zero padding to probe_size
// PROBE_ACK  0xC7 · attempt[16] · from_offerer u8 · nonce[8] (the probe's)
//            · family u8 · address[16] · port u16 · mac[16]
//
// A PROBE is never smaller than the PROBE_ACK it asks for, so a spoofed
// one cannot make us send more than it cost.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "transports/ip_endpoint.hpp"
#include "transports/punch_hello.hpp"

namespace crust::datagram {

constexpr uint8_t probe_type = 0xC6;
constexpr uint8_t probe_ack_type = 0xC7;

using probe_nonce = std::array<uint8_t, 8>;

constexpr size_t probe_ack_size = 1 + 16 + 1 + 8 + 1 + 16 + 2 + 16;
constexpr size_t probe_size = 64;
static_assert(probe_size >= probe_ack_size, "PROBE must not amplify");

struct probe {
  bool ack = false;
  attempt_id attempt{};
  /// Sent by the attempt's offerer (else its answerer): a node never
  /// answers its own probe reflected back to it.
  bool from_offerer = false;
  probe_nonce nonce{};
  /// An ack's: where the probe it answers came from.
  ip_endpoint observed;
};

/// Whether the datagram is a PROBE or PROBE_ACK by its first byte.
bool is_probe(const uint8_t* data, size_t size);

/// The attempt a PROBE or PROBE_ACK names, by size and type only (its MAC
/// not yet checked).
std::optional<attempt_id> probe_attempt(const uint8_t* data, size_t size);

/// The probe in `data` when its MAC under `key` is right and every field
/// is well formed; none otherwise.
std::optional<probe> open_probe(const uint8_t* data, size_t size,
                                const probe_key& key);

/// Writes the MAC of the PROBE or PROBE_ACK in `data` (of its type's
/// size) under `key`: the last step of encoding one.
void seal_probe(uint8_t* data, size_t size, const probe_key& key);

std::vector<uint8_t> encode_probe(const attempt_id& attempt,
                                  const probe_key& key, bool from_offerer,
                                  const probe_nonce& nonce);

/// Empty when `observed` is no address.
std::vector<uint8_t> encode_probe_ack(const attempt_id& attempt,
                                      const probe_key& key, bool from_offerer,
                                      const probe_nonce& nonce,
                                      const ip_endpoint& observed);

} // namespace crust::datagram
