// What the frames of one connection mean, whatever carries them: TCP
// records (secure_channel), SCTP messages over reliable UDP, and later a
// punched path or a stream relayed inside another connection. Sans-I/O, in
// quinn-proto's discipline: the carrier feeds it decoded frames and the
// time (handle_*), the node feeds it decisions and sends (mutators), and
// the carrier polls it, in this order, for control frames, data records,
// the next deadline and events (poll_*). docs/PROTOCOL.md has the frames.
//
// It owns SELECT ordering, heartbeats, the undecided hold, BATCH building
// and validation, the PEERS rate, OBSERVED once, the FORWARD frames'
// bounds and rate, the per-sender `sent`
// accounting and the reasons a connection closes. It knows no socket, no
// actor and no cipher: identities are proven by the carrier before
// handle_established().
//
// Phases (the only transitions; `closed` is final):
//
//   waiting      --admit()---------------------> handshaking
//   handshaking  --handle_established(hello)---> negotiating
//   negotiating  --select() (we lead)
//                  or SELECT (the peer leads)--> undecided
//   undecided    --keep()----------------------> kept
//   any          --close(), CLOSE, a violation, a timeout,
//                  handle_misbehaviour(), handle_transport_closed()
//                                              --> closed (event `closed`)
//
// Timers (poll_timeout gives the earliest):
//   handshake   handshake_timeout after start, while not yet undecided
//   heartbeat   every heartbeat_interval: PING when we sent nothing, and
//               closed after heartbeat_timeout of silence (not counted
//               while reading is halted or paused, or before admission)
//   close twin  with unordered lanes, how long a CLOSE on one lane waits
//               for its twin on the other
#pragma once

#include <caf/optional.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crust/errors.hpp"
#include "crust/messages.hpp"
#include "crust/peer_id.hpp"
#include "transports/circuit.hpp"
#include "transports/defence/token_bucket.hpp"
#include "transports/hello.hpp"
#include "transports/inbox.hpp"
#include "transports/outbox.hpp"
#include "transports/path_ledger.hpp"
#include "transports/secure_channel.hpp"
#include "transports/wire.hpp"

namespace crust {

class link {
public:
  using time_point = std::chrono::steady_clock::time_point;

  enum class phase { waiting, handshaking, negotiating, undecided, kept, closed };

  enum class path_role { sole, current, joining, parked };

  struct settings {
    peer_id local_id;
    /// The peer's end of the connection as text (misbehaving reports, and
    /// what OBSERVED tells the peer).
    std::string address;
    uint32_t max_message_size = 0;
    uint32_t send_queue_size = 0;
    uint32_t undecided_buffer_size = 0;
    caf::timespan handshake_timeout{0};
    caf::timespan heartbeat_interval{0};
    caf::timespan heartbeat_timeout{0};
    /// Small messages queued together leave as one BATCH.
    bool batching = true;
    /// Frames on lane 0 and lane 1 may overtake each other (rudp's two
    /// SCTP streams): DATA that arrives before SELECT is then held, and
    /// CLOSE travels, and is awaited, on both lanes.
    bool lanes_unordered = false;
    /// A path of a connection that may move (a relayed one): numbered
    /// and confirmed from the start, current.
    bool resumable = false;
  };

  /// A frame for the carrier to send: lane 0 carries control frames and
  /// the high lane's data, lane 1 the normal lane's data.
  struct control_frame {
    uint8_t lane = 0;
    wire::frame_type type = wire::frame_type::ping;
    std::vector<uint8_t> body;
  };

  // -- events (poll_event) ---------------------------------------------------

  /// The handshake is done: the peer is proven to be `remote.id`.
  struct identified {
    hello remote;
  };
  /// We follow, and the peer chose this connection.
  struct selected_by_peer {};
  /// A whole message from a kept peer.
  struct delivered {
    std::vector<uint8_t> bytes;
  };
  /// `bytes` of plain sender `slot`'s messages left since its last `sent`.
  struct sent {
    uint32_t slot = 0;
    uint64_t bytes = 0;
  };
  /// A kept peer asks for our sample (at most once per interval).
  struct peers_requested {};
  /// The sample we asked for.
  struct peers_received {
    std::vector<uint8_t> sample;
  };
  /// Where the peer sees us (once per connection; it may lie).
  struct observed {
    std::string address;
  };
  /// A kept peer listens somewhere else now (its ports moved): each
  /// entry an endpoint's text, unchecked (at most one a second).
  struct endpoints_heard {
    std::vector<std::string> endpoints;
  };
  /// A kept peer asks us to pass `payload` on to `to` (within the rate).
  struct forward_requested {
    peer_id to;
    std::vector<uint8_t> payload;
  };
  /// A kept peer passes on what `from` asked it to.
  struct forwarded {
    peer_id from;
    std::vector<uint8_t> payload;
  };
  /// A kept peer did not pass on our FORWARD to `to`; `context` is the
  /// payload's first bytes.
  struct forward_failed {
    peer_id to;
    wire::forward_refusal why = wire::forward_refusal::refused;
    std::vector<uint8_t> context;
  };
  // Circuits (docs/PROTOCOL.md, "Circuits"), heard from a kept peer only.
  /// The peer asks us, a relay, for circuit `id` to `to`.
  struct circuit_open_requested {
    uint32_t id = 0;
    peer_id to;
  };
  /// The relay opened our circuit `id`.
  struct circuit_opened {
    uint32_t id = 0;
    uint32_t credit = 0;
    relay_limits limits;
  };
  /// The relay opened circuit `id` from `from` to us.
  struct circuit_incoming {
    uint32_t id = 0;
    peer_id from;
    uint32_t credit = 0;
    relay_limits limits;
  };
  struct circuit_data {
    uint32_t id = 0;
    std::vector<uint8_t> bytes;
  };
  struct circuit_credit {
    uint32_t id = 0;
    uint32_t bytes = 0;
  };
  struct circuit_closed {
    uint32_t id = 0;
    circuit_reason why = circuit_reason::closed_by_peer;
  };
  /// Parked: the peer moved its connection back to this path.
  struct resume_heard {};
  /// A PATH_ACK let go of enough that data may move again (the carrier
  /// pumps: nothing else would, once the application stopped sending).
  struct unblocked {};
  /// The peer broke a rule; the link closes.
  struct abused {
    misbehaving report;
  };
  /// The end; nothing follows. `duplicate`: the peer closed it because
  /// another connection between us lives.
  struct closed {
    std::string reason;
    bool duplicate = false;
    /// The carrier was lost (it closed, or fell silent past the
    /// heartbeat timeout), or the peer left this path for another
    /// (CLOSE moved): neither side chose to end the connection, so
    /// another path of it may carry on.
    bool carrier_lost = false;
    /// The peer said CLOSE (with any reason).
    bool by_peer = false;
  };

  using event = std::variant<identified, selected_by_peer, delivered, sent,
                             peers_requested, peers_received, observed,
                             endpoints_heard,
                             forward_requested, forwarded, forward_failed,
                             circuit_open_requested, circuit_opened,
                             circuit_incoming, circuit_data, circuit_credit,
                             circuit_closed, resume_heard, unblocked, abused,
                             closed>;

  link(settings s, time_point now);

  // -- getters ---------------------------------------------------------------

  phase state() const {
    return phase_;
  }

  bool is_closed() const {
    return phase_ == phase::closed;
  }

  /// The proven peer, once identified.
  const std::optional<peer_id>& peer() const {
    return peer_;
  }

  /// Reading should stop: an undecided peer used up its allowance.
  bool input_halted() const {
    return halted_ && phase_ != phase::closed;
  }

  /// Admitted and not closed: the carrier reads and handshakes.
  bool admitted() const {
    return phase_ != phase::waiting && phase_ != phase::closed;
  }

  /// Reading may go on (admitted, not halted, not closed).
  bool wants_input() const {
    return admitted() && !halted_;
  }

  path_role role() const {
    return role_;
  }

  /// Plain sender `slot` has nothing queued and nothing left to report.
  bool slot_idle(uint32_t slot) const;

  // -- input from the carrier -------------------------------------------------

  /// The carrier proved the peer's identity.
  void handle_established(const hello& remote);

  /// One decoded frame, on `lane` (0 where the carrier has one stream).
  void handle_frame(uint8_t lane, const frame_view& f, time_point now);

  /// A whole record or message arrived: proof of life for the heartbeat.
  void handle_activity() {
    heard_ = true;
  }

  /// The carrier sent bytes of its own (handshake): no PING needed.
  void handle_transmitted() {
    sent_since_tick_ = true;
  }

  /// The carrier paused reading on purpose (defence before decryption):
  /// silence then proves nothing.
  void handle_reading_paused(bool on) {
    paused_ = on;
  }

  /// The carrier caught the peer misbehaving (decryption, flood, garbage).
  void handle_misbehaviour(misbehaviour kind, std::string detail);

  /// The carrier lost the connection (`reason` unless the peer said why).
  void handle_transport_closed(std::string reason);

  void handle_timeout(time_point now);

  // -- input from the node ------------------------------------------------------

  /// The node admits the connection: the carrier may read and handshake.
  /// False when it was not waiting.
  bool admit();

  /// We lead: this connection lives (sends SELECT).
  void select();

  /// The application keeps the peer: held messages are delivered. False
  /// when it was not undecided.
  bool keep();

  void close(wire::close_reason r);
  /// The same, reporting `reason` locally (the peer hears `r`).
  void close(wire::close_reason r, std::string reason);

  /// Asks the peer for its sample, once per answer.
  void ask_peers();

  /// Answers the peer's request with our sample.
  void send_peers(const std::vector<uint8_t>& sample);

  /// Tells a kept peer where we listen now (ENDPOINTS): at most
  /// wire::max_endpoints_entries, each at most wire::max_endpoint_text
  /// long (the rest are left out).
  void send_endpoints(const std::vector<std::string>& endpoints);

  /// Forwarding (docs/PROTOCOL.md, "Forwarding"), all once kept and
  /// within wire::max_forward_payload: asks the peer to pass `payload` on
  /// to `to`; passes on what `from` asked us to; tells the peer why its
  /// FORWARD to `to` was not passed on (`context`: the payload's first
  /// bytes, cut to wire::forward_context_size).
  void forward(const peer_id& to, const std::vector<uint8_t>& payload);
  void pass_on(const peer_id& from, const std::vector<uint8_t>& payload);
  void refuse_forward(const peer_id& to, wire::forward_refusal why,
                      const std::vector<uint8_t>& context);

  /// Circuits (docs/PROTOCOL.md, "Circuits"), all once kept (else
  /// nothing is sent); data within wire::max_circuit_chunk, in order with
  /// the other circuit frames (all are control frames on lane 0: their
  /// volume is bounded by the credit each hop grants).
  void open_circuit(uint32_t id, const peer_id& to);
  void circuit_opened_frame(uint32_t id, uint32_t credit,
                            const relay_limits& limits);
  void circuit_incoming_frame(uint32_t id, const peer_id& from,
                              uint32_t credit, const relay_limits& limits);
  void send_circuit_data(uint32_t id, const uint8_t* data, size_t size);
  void grant_circuit_credit(uint32_t id, uint32_t bytes);
  void close_circuit(uint32_t id, circuit_reason why);

  /// Moving a connection (docs/PROTOCOL.md, "Moving a connection").
  /// leave(): this path stops (current or joining, open or closed):
  /// what the next path needs, and what it had queued counts as sent
  /// for its senders; nothing when it never was a numbered path.
  /// join(h): this path carries the connection from now on (undecided,
  /// or parked): `h`'s messages are queued first, PATH_RESUME says where
  /// they start. False when it cannot (closed, or in use); `h` is then
  /// as it was (its messages go back to whoever sent it).
  std::optional<path_ledger::handover> leave();
  bool join(path_ledger::handover& h);

  /// Queues a message; `slot` (0: none) names its plain sender. errc::none,
  /// or why not (`bytes` then stays as it was).
  errc send(priority prio, std::vector<uint8_t>&& bytes, uint32_t slot);

  // -- output, polled in this order ---------------------------------------------

  /// The next control frame to send.
  bool poll_control(control_frame& out);

  /// Moves the next record's worth of queued data out: a BATCH through
  /// `batch(fill)`, where `fill(std::vector<char>&)` appends the body, or
  /// one DATA frame through `data(flags, bytes, size)`. False when nothing
  /// is queued (or the link is closed).
  template <class Batch, class Data>
  bool poll_data(Batch&& batch, Data&& data);

  /// The earliest deadline; call handle_timeout() then.
  std::optional<time_point> poll_timeout() const;

  /// The next event; `sent` for what left since the last poll comes once
  /// the others are out.
  std::optional<event> poll_event();

private:
  bool on_frame(uint8_t lane, const frame_view& f, time_point now);
  bool on_data(const frame_view& f);
  bool on_close(uint8_t lane, const frame_view& f, time_point now);
  bool on_forwarding(const frame_view& f, time_point now);
  bool on_circuit(const frame_view& f);
  bool on_path_frame(const frame_view& f);
  bool on_endpoints(const frame_view& f, time_point now);
  bool take_message(priority lane, std::vector<uint8_t>&& msg);
  bool hold(priority lane, std::vector<uint8_t>&& msg);
  void enter_kept();
  void release_held();
  bool become_current();
  bool resume_in_place(const path_ledger::counts& x);
  void pop_chunk();
  void queue_ack();
  void queue_refusal(const peer_id& to, wire::forward_refusal why,
                     const std::vector<uint8_t>& context);
  void on_selected();
  void on_tick();
  bool violation(std::string detail);
  void abuse(misbehaviour kind, std::string detail);
  void close_with(wire::close_reason r, const std::string& text,
                  std::string reason);
  void finish(std::string reason, bool duplicate = false,
              bool carrier_lost = false);
  void queue(uint8_t lane, wire::frame_type t, std::vector<uint8_t> body = {});
  void took(const chunk_view& c);

  settings cfg_;
  phase phase_ = phase::waiting;
  std::optional<peer_id> peer_;
  inbox in_;
  outbox out_;
  // Output waiting to be polled, oldest first from the index on (vectors:
  // an idle connection holds no memory for them, where a deque would).
  std::vector<control_frame> control_;
  size_t control_head_ = 0;
  std::vector<event> events_;
  size_t events_head_ = 0;

  // The undecided hold (and a joining path's), and (unordered lanes)
  // DATA that overtook SELECT.
  std::vector<std::pair<priority, std::vector<uint8_t>>> held_;
  size_t held_bytes_ = 0;
  bool halted_ = false;
  std::vector<std::vector<uint8_t>> early_;
  size_t early_bytes_ = 0;

  // Heartbeat.
  std::optional<time_point> hs_deadline_;
  time_point next_tick_;
  caf::timespan silent_{0};
  bool heard_ = false;
  bool paused_ = false;
  bool sent_since_tick_ = false;

  // Peer exchange and OBSERVED.
  bool asked_peers_ = false;
  bool sample_wanted_ = false;
  bool heard_observed_ = false;
  std::optional<time_point> last_endpoints_;
  time_point last_sample_{};

  // The peer's FORWARDs, and our refusals beyond them: made on the first
  // FORWARD (an idle connection carries none).
  struct forward_meter {
    token_bucket asks;
    token_bucket refusals;
  };
  std::unique_ptr<forward_meter> forwards_;

  // CLOSE over unordered lanes: the lanes it came on, and its body, which
  // the twin's deadline finishes with.
  uint8_t closes_seen_ = 0;
  std::optional<time_point> twin_deadline_;
  std::vector<uint8_t> twin_body_;

  // Per plain sender: bytes queued in out_, and sealed since its `sent`.
  struct slot_count {
    uint64_t queued = 0;
    uint64_t left = 0;
  };
  std::vector<slot_count> slots_;

  // Moving between paths: the ledger while numbered (current, joining),
  // the peer's PATH_RESUME until it is applied, and whether what comes
  // before it is the old path's (dropped) or a new path's (held).
  path_role role_ = path_role::sole;
  std::unique_ptr<path_ledger> ledger_;
  std::optional<path_ledger::counts> peer_first_;
  bool drop_until_resume_ = false;
  // A PATH_RESUME on the current path since the last heartbeat tick.
  bool resumed_in_place_ = false;
};

template <class Batch, class Data>
bool link::poll_data(Batch&& batch, Data&& data) {
  chunk_view c;
  if (phase_ == phase::closed || role_ == path_role::parked
      || (ledger_ && !ledger_->may_send()) || !out_.peek(c))
    return false;
  auto fits = [](size_t used, const chunk_view& x) {
    return used + wire::batch_item_size(x.size) <= wire::max_batch_body;
  };
  if (cfg_.batching && out_.messages() > 1 && fits(0, c)) {
    batch([&](std::vector<char>& b) {
      size_t used = 0;
      while (out_.peek(c) && fits(used, c)) {
        wire::append_batch_item(b, c.flags, c.data, c.size);
        used += wire::batch_item_size(c.size);
        took(c);
        pop_chunk();
      }
    });
  } else {
    data(c.flags, c.data, c.size);
    took(c);
    pop_chunk();
  }
  sent_since_tick_ = true;
  return true;
}

} // namespace crust
