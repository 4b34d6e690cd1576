// The packets of crust's datagram channel (reliable UDP): the three Noise
// XX handshake messages, the cookie reply of a node under load, and
// sealed data. Parse and encode only; what they mean is the datagram
// channel's business. docs/PROTOCOL.md, "Datagrams", is the same for
// people.
//
// Type bytes 0xC1..0xC5 sit outside every range RFC 7983 demultiplexes
// (STUN 0-3, DTLS 20-63, TURN channels 64-79, RTP 128-191), so one UDP
// socket can also speak STUN for hole punching.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transports/noise/primitives.hpp"
#include "transports/wire.hpp"

namespace crust::datagram {

enum class kind : uint8_t {
  init = 0xC1,     // sender u32 · Noise message 1 · cookie flag · cookie · padding
  response = 0xC2, // sender u32 · receiver u32 · Noise message 2
  final = 0xC3,    // receiver u32 · Noise message 3
  cookie = 0xC4,   // receiver u32 · cookie
  data = 0xC5,     // receiver u32 · counter u64 BE · AEAD ciphertext
};

using cookie_bytes = std::array<uint8_t, 16>;

/// Noise XX message sizes with crust's HELLO as payload of 2 and 3.
constexpr size_t message1_size = noise::dh_len;
constexpr size_t message2_size = noise::dh_len + (noise::dh_len + noise::tag_len)
                                 + (wire::hello_size + noise::tag_len);
constexpr size_t message3_size = (noise::dh_len + noise::tag_len)
                                 + (wire::hello_size + noise::tag_len);

/// INIT is padded to this size: never smaller than the RESPONSE it asks
/// for, so a spoofed INIT cannot make us send more bytes than it cost.
constexpr size_t init_size = 1 + 4 + message1_size + 1 + 16 + 98;
static_assert(init_size >= 1 + 8 + message2_size, "INIT must not amplify");

/// Largest datagram we send or accept: an SCTP packet (1200) plus our
/// header (13) and tag (16), under a 1280-byte IPv6 path.
constexpr size_t max_size = 1280;

/// A parsed packet; `body` points into the datagram it came from.
struct packet {
  kind what = kind::data;
  uint32_t sender = 0;
  uint32_t receiver = 0;
  uint64_t counter = 0;
  std::optional<cookie_bytes> cookie;
  const uint8_t* body = nullptr; // Noise message or ciphertext
  size_t body_size = 0;
};

/// The packet in `data`, or why it is not one (a reason for counting
/// drops, never sent back).
std::optional<packet> parse(const uint8_t* data, size_t size,
                            std::string* why = nullptr);

std::vector<uint8_t> encode_init(uint32_t sender, const uint8_t* message1,
                                 const cookie_bytes* cookie);
std::vector<uint8_t> encode_response(uint32_t sender, uint32_t receiver,
                                     const uint8_t* message2);
std::vector<uint8_t> encode_final(uint32_t receiver, const uint8_t* message3);
std::vector<uint8_t> encode_cookie(uint32_t receiver, const cookie_bytes& c);
/// The header of a data packet; the caller appends the ciphertext.
std::vector<uint8_t> encode_data_header(uint32_t receiver, uint64_t counter);

/// The same, written over the data_header_size bytes at `out`.
void write_data_header(uint8_t* out, uint32_t receiver, uint64_t counter);

constexpr size_t data_header_size = 1 + 4 + 8;

} // namespace crust::datagram
