// Every constant of crust's framing, in one place. docs/PROTOCOL.md
// describes the same bytes for people.
#pragma once

#include <cstddef>
#include <cstdint>

namespace crust::wire {

/// Bumped on any incompatible change of the frames below.
constexpr uint8_t protocol_version = 1;

/// A frame: u32 big-endian length (of type + body), u8 type, body.
constexpr size_t length_size = 4;
constexpr size_t header_size = length_size + 1;

/// Bounds for crust.max-frame-size.
constexpr uint32_t min_frame_size = 1024;
constexpr uint32_t max_frame_size_limit = 16 * 1024 * 1024;

enum class frame_type : uint8_t {
  /// version u8 | peer id [32] | session u64 (random per service start)
  hello = 0x01,
  /// empty; the peer with the lower id picks the one connection that lives
  select = 0x02,
  /// flags u8 | chunk of a message
  data = 0x03,
  /// empty; keeps the connection provably alive
  ping = 0x04,
  /// reason u8 | UTF-8 text
  close = 0x05,
};

constexpr size_t hello_size = 1 + 32 + 8;

/// DATA flags.
constexpr uint8_t flag_last = 0x01;      // this chunk ends the message
constexpr uint8_t flag_normal = 0x02;    // lane: set = normal, clear = high
constexpr uint8_t known_flags = flag_last | flag_normal;

/// Largest message chunk per DATA frame; small enough that a high-priority
/// message waits behind at most one chunk per write window.
constexpr uint32_t chunk_size = 16 * 1024;

/// Longest CLOSE text we send or accept.
constexpr size_t max_close_text = 200;

enum class close_reason : uint8_t {
  normal = 0,      // shutdown
  dropped = 1,     // the application dropped the peer
  duplicate = 2,   // another connection to the same peer was selected
  timeout = 3,     // no keep/drop decision, or heartbeat lost
  violation = 4,   // the peer broke the protocol
  self = 5,        // the node dialled itself
  superseded = 6,  // the peer restarted; a newer connection replaces this one
};

const char* to_string(close_reason x);

} // namespace crust::wire
