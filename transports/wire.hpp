// Every constant of crust's wire protocol, in one place. docs/PROTOCOL.md
// describes the same bytes for people.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crust::wire {

/// Bumped on any incompatible change. It is part of the Noise prologue, so
/// different versions fail the handshake instead of misreading each other.
constexpr uint8_t protocol_version = 9;

/// A record: u16 big-endian length, then a Noise handshake message or an
/// AEAD-sealed frame.
constexpr size_t record_length_size = 2;
constexpr uint32_t max_record_size = 65535;
/// The smallest limit a node may set: one full DATA chunk must always fit,
/// since senders do not know their peer's limit.
constexpr uint32_t min_record_size = 17 * 1024;

/// Records per direction between two Noise REKEYs (both sides count).
constexpr uint64_t rekey_interval = uint64_t{1} << 20;

/// The handshake payload of messages 2 and 3:
/// peer id [32] | session u64 | flags u8.
constexpr size_t hello_size = 32 + 8 + 1;

/// HELLO flags.
constexpr uint8_t hello_bootstrapping = 0x01; // the sender is bootstrapping
constexpr uint8_t known_hello_flags = hello_bootstrapping;

/// A frame (the plaintext of one record): type u8, then the body.
enum class frame_type : uint8_t {
  /// empty; the peer with the lower id picks the one connection that lives
  select = 0x02,
  /// flags u8 | chunk of a message
  data = 0x03,
  /// empty; keeps the connection provably alive
  ping = 0x04,
  /// reason u8 | UTF-8 text
  close = 0x05,
  /// empty; asks a peer for a sample of the peers it reached directly
  peers_request = 0x06,
  /// the sample, signed by its sender (docs/PROTOCOL.md, "Peer exchange")
  peers = 0x07,
  /// "IP:PORT" (ASCII): where the sender sees the receiver's end of this
  /// connection; sent once, when the connection is selected
  observed = 0x08,
  /// several DATA frames' bodies, each `length:u16 · flags u8 · chunk`:
  /// small messages queued together share one record (one AEAD seal)
  batch = 0x09,
  /// to peer_id[32] · payload: asks a kept peer to pass `payload` on to
  /// `to` (a mutual peer carrying hole-punching signals)
  forward = 0x0A,
  /// from peer_id[32] · payload: what `from` asked us to pass on
  forwarded = 0x0B,
  /// to peer_id[32] · reason u8 · the payload's first bytes: why a
  /// FORWARD to `to` was not passed on
  forward_failed = 0x0C,
  /// id u32 · to peer_id[32]: asks a relay for a circuit to `to`
  /// (docs/PROTOCOL.md, "Circuits"); the asker numbers it
  circuit_open = 0x0D,
  /// id u32 · credit u32 · limits[26]: the relay opened the asker's circuit
  circuit_opened = 0x0E,
  /// id u32 · from peer_id[32] · credit u32 · limits[26]: the relay
  /// opened a circuit from `from` to us, numbered `id` on this connection
  circuit_incoming = 0x0F,
  /// id u32 · bytes (1 to max_circuit_chunk): circuit bytes, within the
  /// credit the receiver granted
  circuit_data = 0x10,
  /// id u32 · bytes u32: the receiver grants that many more
  circuit_credit = 0x11,
  /// id u32 · reason u8: the circuit is over (or was never opened)
  circuit_close = 0x12,
  /// first_high u64 · first_normal u64: a connection moved to this path
  /// (docs/PROTOCOL.md, "Moving a connection"); the sender's messages
  /// here are numbered from these, per lane
  path_resume = 0x13,
  /// delivered_high u64 · delivered_normal u64: how many messages of each
  /// lane the sender delivered, on a connection that may move
  path_ack = 0x14,
  /// count u8 · count × (len u8 · endpoint text): where the sender
  /// listens now (its ports moved; docs/PROTOCOL.md, "Endpoints update")
  endpoints = 0x15,
};

/// PATH_RESUME and PATH_ACK bodies: two u64 counts.
constexpr size_t path_counts_size = 16;

/// Whether `t` is a frame type this version knows.
constexpr bool known_frame_type(uint8_t t) {
  return t >= static_cast<uint8_t>(frame_type::select)
         && t <= static_cast<uint8_t>(frame_type::endpoints);
}

/// Longest OBSERVED body ("[IPv6]:port" fits).
constexpr size_t max_observed_size = 64;

/// ENDPOINTS bounds: entries (a cache entry holds no more), each entry's
/// text, and how often one connection is heard (more are ignored: each
/// one may be a write of the bootstrap cache).
constexpr size_t max_endpoints_entries = 8;
constexpr size_t max_endpoint_text = 96;
constexpr int endpoints_min_interval_ms = 1000;

/// An ENDPOINTS body: the first max_endpoints_entries of `endpoints`
/// that are 1..max_endpoint_text bytes long.
std::vector<uint8_t> encode_endpoints(const std::vector<std::string>& endpoints);

/// An ENDPOINTS body's entries; none when it is malformed (no entry, too
/// many, one empty or too long, bytes missing or left over).
std::optional<std::vector<std::string>> decode_endpoints(const uint8_t* body,
                                                         size_t size);

/// Peer exchange bounds: entries per sample, and how often one connection
/// answers a request (more are ignored).
constexpr size_t max_exchange_entries = 16;
constexpr int exchange_min_interval_seconds = 10;

/// DATA flags.
constexpr uint8_t flag_last = 0x01;   // this chunk ends the message
constexpr uint8_t flag_normal = 0x02; // lane: set = normal, clear = high
constexpr uint8_t known_flags = flag_last | flag_normal;

/// Largest message chunk per DATA frame; small enough that a high-priority
/// message waits behind at most one chunk per write window.
constexpr uint32_t chunk_size = 16 * 1024;

static_assert(chunk_size + 2 + 16 <= min_record_size,
              "a DATA chunk (type, flags, tag) must fit every legal record");

/// A BATCH item's length prefix; items are at most chunk_size + 1 bytes
/// (flags and chunk), like a DATA body, and a BATCH body at most that too.
constexpr size_t batch_item_header = 2;
constexpr size_t max_batch_body = chunk_size + 1;

/// The bytes a chunk of `size` takes in a BATCH body: prefix, flags, chunk.
constexpr size_t batch_item_size(size_t size) {
  return batch_item_header + 1 + size;
}

/// Appends one BATCH item: the DATA body `flags`, then `size` bytes.
void append_batch_item(std::vector<char>& out, uint8_t flags,
                       const uint8_t* data, size_t size);

/// Walks a BATCH body item by item.
class batch_reader {
public:
  batch_reader(const uint8_t* body, size_t size) : p_(body), end_(body + size) {
    // nop
  }

  /// The next item's DATA body (flags, then chunk); false at the end of
  /// the body, or when the rest is not a whole non-empty item (then
  /// malformed() is true).
  bool next(const uint8_t*& body, size_t& size);

  bool malformed() const {
    return malformed_;
  }

private:
  const uint8_t* p_;
  const uint8_t* end_;
  bool malformed_ = false;
};

/// Longest CLOSE text we send or accept.
constexpr size_t max_close_text = 200;

/// Forwarding: the largest payload, how many FORWARDs one connection may
/// ask per second (and in a burst), how many refusals it hears per
/// second beyond that (more are dropped unanswered), and how much of a
/// payload a FORWARD_FAILED gives back (a signal's kind and attempt).
constexpr size_t max_forward_payload = 1024;
constexpr double forward_rate = 5;
constexpr double forward_burst = 20;
constexpr double forward_refusal_rate = 1;
constexpr double forward_refusal_burst = 5;
constexpr size_t forward_context_size = 17;

/// Circuits: the most bytes one CIRCUIT_DATA carries (a DATA chunk's
/// worth: the frame fits every legal record).
constexpr size_t max_circuit_chunk = 16 * 1024;
static_assert(1 + 4 + max_circuit_chunk + 16 <= min_record_size,
              "a CIRCUIT_DATA frame (type, id, bytes, tag) must fit every "
              "legal record");

/// Why a FORWARD was not passed on.
enum class forward_refusal : uint8_t {
  not_connected = 1, // the forwarder keeps no connection to `to`
  refused = 2,       // it does not forward (crust.introduce = false), or
                     // does not keep the asker or `to`
  busy = 3,          // over the rate
};

constexpr bool known_forward_refusal(uint8_t r) {
  return r >= static_cast<uint8_t>(forward_refusal::not_connected)
         && r <= static_cast<uint8_t>(forward_refusal::busy);
}

const char* to_string(forward_refusal r);

enum class close_reason : uint8_t {
  normal = 0,     // shutdown
  dropped = 1,    // the application dropped the peer
  duplicate = 2,  // another connection to the same peer was selected
  timeout = 3,    // no keep/drop decision, or heartbeat lost
  violation = 4,  // the peer broke the protocol
  self = 5,       // the node dialled itself
  superseded = 6, // the peer restarted; a newer connection replaces this one
  refused = 7,    // blacklisted
  moved = 8,      // a path left behind: the connection moved to another
};

const char* to_string(close_reason x);

} // namespace crust::wire
