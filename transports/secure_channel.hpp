// The secure channel of one connection: a Noise XX handshake that proves
// both peer ids, then AEAD-sealed records. Sans-I/O: bytes from the peer go
// in, frames and bytes to send come out. docs/PROTOCOL.md has the bytes.
//
// On a path a hole punch opened, both ends first send a PUNCH_HELLO
// (transports/punch_hello) and then take their Noise roles from the peer
// ids, the lower one initiating: in a TCP simultaneous open both ends
// connected, and a SYN the listener took makes one end an acceptor
// without it having dialled. An accepted connection whose first record
// is a PUNCH_HELLO of a live attempt (find_punch) joins that attempt.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/optional.hpp>

#include "crust/messages.hpp"
#include "crust/peer_id.hpp"
#include "transports/hello.hpp"
#include "transports/noise/handshake.hpp"
#include "transports/punch_hello.hpp"
#include "transports/wire.hpp"

namespace crust {

struct frame_view {
  wire::frame_type type;
  const uint8_t* body;
  size_t size;
};

class secure_channel {
public:
  /// What a punched path's ends share: the attempt, its key, and the
  /// peer that must answer.
  struct punch_path {
    attempt_id attempt{};
    probe_key key{};
    peer_id peer;
  };

  struct settings {
    bool initiator = false;
    noise::keypair static_key; // derived from the node's identity
    hello local;
    std::string network_name;
    /// The peer id that must answer (a pinned endpoint), if any.
    caf::optional<peer_id> expected;
    /// Largest record (length prefix excluded) a peer may send.
    uint32_t max_record = wire::max_record_size;
    /// Records per direction between two rekeys.
    uint64_t rekey_interval = wire::rekey_interval;
    /// A punched path: set on the socket a punch connected.
    std::optional<punch_path> punch;
    /// For an accepted connection: the live attempt a PUNCH_HELLO names
    /// (unset, or none found: such a hello is a failed handshake).
    std::function<std::optional<punch_path>(const attempt_id&)>
      find_punch;
  };


  enum class event {
    need_more,   // feed more bytes
    established, // the handshake is done: remote() is the proven peer
    frame,       // a decrypted frame is in the view
    failed,      // kind() and detail() say why; close the connection
  };

  explicit secure_channel(settings s);

  /// Initiator: appends the first handshake record to `out`.
  void start(std::vector<char>& out);

  /// Appends bytes read from the peer.
  void feed(const void* data, size_t size);

  /// Processes buffered bytes up to the next event. Handshake replies are
  /// appended to `out`. A frame view is valid until the next call (records
  /// are opened where they lie in the buffer).
  event next(std::vector<char>& out, frame_view& f);

  /// Seals one frame (type, then `head` and `body` concatenated) into a
  /// record appended to `out`. Only once established.
  bool seal(wire::frame_type type, const uint8_t* head, size_t head_len,
            const uint8_t* body, size_t body_len, std::vector<char>& out);

  /// Seals one frame whose body `fill(out)` appends to `out`, into a record
  /// appended to `out`: the plaintext is written once, where it is then
  /// encrypted. False (and `out` as before) when not established or the
  /// body is longer than max_body(wire::max_record_size).
  template <class Fill>
  bool seal_with(wire::frame_type type, std::vector<char>& out, Fill&& fill) {
    if (!established_ || broken_)
      return false;
    auto start = out.size();
    out.insert(out.end(), {char{0}, char{0}, static_cast<char>(type)});
    fill(out);
    return close_record(out, start);
  }

  bool established() const {
    return established_;
  }

  const hello& remote() const {
    return remote_;
  }

  /// The attempt this connection belongs to, once its PUNCH_HELLO is in
  /// (an accepted connection learns it from the peer's).
  const std::optional<punch_path>& punch() const {
    return cfg_.punch;
  }

  misbehaviour kind() const {
    return kind_;
  }

  const std::string& detail() const {
    return detail_;
  }

  /// Records taken off the buffer so far, handshake ones included.
  uint64_t records_read() const {
    return records_read_;
  }

  /// Bytes buffered and not yet processed.
  size_t buffered() const {
    return buf_.size() - pos_;
  }

  /// Largest frame body `seal` takes (one record, minus type and tag).
  static constexpr size_t max_body(uint32_t max_record) {
    return max_record - noise::tag_len - 1;
  }

private:
  event fail(misbehaviour kind, std::string detail);
  bool failed(misbehaviour kind, std::string detail); // fail, then false
  bool write_handshake(std::vector<char>& out);
  // The peer's PUNCH_HELLO, or an accepted connection's first record: false
  // when the handshake failed; `consumed` when the record was a hello.
  bool on_punch_record(const uint8_t* rec, size_t len, std::vector<char>& out,
                       bool& consumed);
  void begin_noise(std::vector<char>& out);
  void make_handshake();
  // False when the handshake failed.
  bool on_handshake_record(const uint8_t* rec, size_t len,
                           std::vector<char>& out);
  event on_transport_record(uint8_t* rec, size_t len, frame_view& f);
  // Seals the frame from out[start + 2] on and writes the record length.
  bool close_record(std::vector<char>& out, size_t start);

  settings cfg_;
  std::optional<noise::handshake_state> hs_;
  noise::cipher_state tx_;
  noise::cipher_state rx_;
  uint64_t tx_count_ = 0;
  uint64_t rx_count_ = 0;
  uint64_t records_read_ = 0;
  bool established_ = false;
  bool hello_sent_ = false;
  bool hello_heard_ = false;
  bool reported_ = false;
  bool broken_ = false;
  hello remote_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  misbehaviour kind_ = misbehaviour::protocol_violation;
  std::string detail_;
};

} // namespace crust
