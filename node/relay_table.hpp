// A relay's circuits (crust.relay=true), sans-I/O: which two connections
// each circuit joins, the bytes it holds for them, and every limit a
// volunteer relay sets (docs/PROTOCOL.md, "Circuits"; docs/THREATS.md).
// The service feeds it what its kept peers' links say (open, data,
// credit, close, a connection gone) and the time; it polls frames to send
// and the next deadline, as transports/link is polled.
//
// Flow control is per hop: the relay grants a sender credit for as many
// bytes as its buffer for that direction has room, and sends on to the
// receiver only as much as the receiver granted it. A reader that stops
// reading stops granting; the buffer fills to `window` and the sender
// gets no more credit: the relay's memory per circuit never exceeds two
// windows, whatever either end does. Bytes beyond the credit granted are
// a violation that closes the circuit.
//
// Bandwidth is a token bucket per circuit and one for the whole relay:
// bytes wait in the circuit's buffer until their tokens are there (the
// sender is throttled through its credit, nothing is dropped).
//
// A circuit's life (the only transitions; closing is final):
//   open    --open(): both ends told the limits (CIRCUIT_OPENED to the
//             asker, CIRCUIT_INCOMING to the target)--------> relaying
//   relaying --either end's CLOSE, its connection lost, a limit
//             (idle, over credit), stop()-------------------> closed:
//             the other end hears CIRCUIT_CLOSE with the reason
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crust/peer_id.hpp"
#include "node/conn_table.hpp"
#include "transports/circuit.hpp"
#include "transports/defence/token_bucket.hpp"

namespace crust {

/// A circuit's end at the relay: one connection and the circuit's id on
/// it (each connection numbers its own circuits).
struct circuit_end {
  conn_id conn = 0;
  uint32_t id = 0;
  friend bool operator<(const circuit_end& a, const circuit_end& b) {
    return a.conn != b.conn ? a.conn < b.conn : a.id < b.id;
  }
  friend bool operator==(const circuit_end& a, const circuit_end& b) {
    return a.conn == b.conn && a.id == b.id;
  }
};

/// Circuit ids on a connection: the asker numbers its circuits below
/// this, the relay numbers those it opens toward a target from it on, so
/// the two never collide on one connection.
constexpr uint32_t relay_ids = 0x80000000u;

class relay_table {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  // -- what to send (poll_output) --------------------------------------------

  /// To the asker: the circuit is open, with these limits and `credit`
  /// bytes it may send.
  struct opened {
    circuit_end to;
    relay_limits limits;
    uint32_t credit = 0;
  };
  /// To the target: `from` opened a circuit to it, numbered `to.id` on
  /// its connection.
  struct incoming {
    circuit_end to;
    peer_id from;
    relay_limits limits;
    uint32_t credit = 0;
  };
  /// Bytes for an end.
  struct data {
    circuit_end to;
    std::vector<uint8_t> bytes;
  };
  /// More credit for an end (the relay's buffer has room again).
  struct credit {
    circuit_end to;
    uint32_t bytes = 0;
  };
  /// The circuit is over, or was never opened.
  struct closed {
    circuit_end to;
    circuit_reason why = circuit_reason::closed_by_peer;
  };

  using output = std::variant<opened, incoming, data, credit, closed>;

  explicit relay_table(relay_limits limits) : limits_(limits) {
    // nop
  }

  const relay_limits& limits() const {
    return limits_;
  }

  // -- input -----------------------------------------------------------------

  /// `asker` (peer `from`, a kept connection) opens circuit `asker.id` to
  /// `target` (peer `to`'s kept connection; 0 when the relay keeps no such
  /// peer). Answers with `opened` and `incoming`, or `closed` to the asker
  /// with the reason. True when it opened.
  bool open(circuit_end asker, const peer_id& from, conn_id target,
            const peer_id& to, time_point now);

  /// Bytes from an end. False when the sender broke the rules (over its
  /// credit): the circuit closes, and the caller may report the peer.
  bool handle_data(circuit_end from, std::vector<uint8_t> bytes,
                   time_point now);

  /// The end grants the relay `bytes` more to send it.
  void handle_credit(circuit_end from, uint32_t bytes, time_point now);

  /// The end closed the circuit.
  void handle_close(circuit_end from);

  /// A connection is gone: its circuits close.
  void handle_conn_lost(conn_id conn);

  /// The relay stops: every circuit closes.
  void stop();

  /// Moves bytes whose tokens arrived, closes idle circuits.
  void handle_timeout(time_point now);

  // -- output ----------------------------------------------------------------

  std::optional<output> poll_output();

  /// When handle_timeout has work next (tokens for held bytes, idleness).
  std::optional<time_point> poll_timeout() const;

  // -- getters ---------------------------------------------------------------

  size_t circuits() const {
    return circuits_.size();
  }

  /// Bytes held for all circuits (bounded by two windows per circuit).
  size_t held() const;

  /// Circuits refused to a peer for its rate, since it last opened one:
  /// a peer that keeps asking is misbehaving.
  uint32_t rate_refusals(const peer_id& p) const;

private:
  struct direction {
    std::deque<std::vector<uint8_t>> queue; // bytes for the receiver
    size_t queued = 0;
    uint32_t granted = 0;     // what the sender may still send us
    uint64_t receiver_credit = 0; // what the receiver lets us send it
  };

  struct circuit {
    circuit_end a, b; // asker, target
    peer_id peer_a, peer_b;
    direction to_b, to_a;
    token_bucket bucket;
    time_point last_activity;
  };

  struct peer_rate {
    token_bucket opens;
    uint32_t refusals = 0;
  };

  using circuit_map = std::map<uint32_t, circuit>;

  circuit* find(circuit_end e, bool& is_a);
  void close(circuit_map::iterator i, circuit_reason why_a,
             circuit_reason why_b);
  void close_one(circuit_map::iterator i, const circuit_end& from,
                 circuit_reason why);
  void move(circuit& c, time_point now);
  void move_dir(circuit& c, direction& d, const circuit_end& to,
                const circuit_end& sender, time_point now);
  void grant(direction& d, const circuit_end& sender);
  uint32_t per_peer(const peer_id& p) const;

  relay_limits limits_;
  std::optional<token_bucket> total_;
  circuit_map circuits_;
  std::map<circuit_end, uint32_t> by_end_;
  std::map<conn_id, uint32_t> next_id_; // ids the relay gives targets
  std::map<peer_id, peer_rate> rates_;
  uint32_t next_ = 1;
  std::deque<output> out_;
  // Earliest time held bytes may move (their tokens).
  std::optional<time_point> waiting_until_;
};

} // namespace crust
