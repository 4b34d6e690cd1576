// One UDP socket's worth of crust's datagram protocol, sans-I/O: the
// Noise XX handshake over datagrams (retransmitted, indexed by session,
// cookies under load), sealed DATA with a replay window, and one SCTP
// association per session for reliability (transports/datagram/sctp_link).
// Datagrams in, datagrams out; SCTP messages in and out per session.
// The caller owns the socket and the clock (actors/rudp_engine).
//
// Strangers get silence: a datagram that does not parse, opens nothing or
// names no session is counted and dropped, never answered.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "crust/messages.hpp"
#include "crust/peer_id.hpp"
#include "transports/defence/cookie_jar.hpp"
#include "transports/datagram/packet.hpp"
#include "transports/datagram/probe.hpp"
#include "transports/datagram/stun_queries.hpp"
#include "transports/defence/flood_gate.hpp"
#include "transports/hello.hpp"
#include "transports/ip_endpoint.hpp"

namespace crust {

class datagram_session;

/// Where a datagram came from or goes: an IP address as text and a port.
class datagram_channel {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  struct settings {
    noise::keypair static_key;
    hello local;
    std::string network_name;
    /// Handshakes we answer at once; from `cookie_threshold` of them on,
    /// an INIT must bring a cookie.
    uint32_t max_half_open = 256;
    uint32_t cookie_threshold = 16;
    /// Sessions in all (handshaking or established).
    uint32_t max_sessions = 1024;
    std::chrono::milliseconds handshake_timeout{10000};
    /// Largest SCTP message a peer may send (one frame).
    size_t max_message = 64 * 1024 + 64;
    /// Defence before decryption, as on TCP: per session and per IP.
    flow_rates rates;
    std::shared_ptr<ip_meters> ips;
    std::chrono::milliseconds flood_timeout{30000};
    /// A hole punch's own socket (birthday mode): every session a peer
    /// starts on it is that punch's.
    bool punched = false;
  };

  /// What happened, for the caller to act on.
  struct event {
    enum kind_t {
      up,    // the handshake finished: info(session) says who
      frame, // one SCTP message arrived on `stream`
      down,  // the session ended (`reason`, `kind` when it misbehaved)
      probed, // a watched attempt's PROBE came from `remote` (answered)
      acked,  // our PROBE was answered from `remote`, which saw us at
              // `observed`
      stun_answered, // STUN query `session` ended: the server saw us at
                     // `observed`, or `reason` says why not
    } what = up;
    uint32_t session = 0;
    uint16_t stream = 0;
    std::vector<uint8_t> bytes;
    std::string reason;
    std::optional<misbehaviour> kind;
    ip_endpoint remote;         // down: where the session's peer was
    std::optional<peer_id> peer; // down: who, once the handshake proved it
    attempt_id attempt{};        // probed, acked
    ip_endpoint observed;        // acked

    static event make(kind_t what, uint32_t session) {
      event ev;
      ev.what = what;
      ev.session = session;
      return ev;
    }
  };

  struct session_info {
    ip_endpoint remote;
    bool inbound = false;
    hello peer;
    /// Inbound from an address a watched attempt's probes came from: the
    /// session is that hole punch's.
    bool punched = false;
  };

  struct counters {
    uint64_t garbage = 0;      // unparsable datagrams
    uint64_t unknown = 0;      // naming no session of ours
    uint64_t replayed = 0;     // counters seen before (or too old)
    uint64_t forged = 0;       // failed authentication
    uint64_t cookies_sent = 0; // INITs answered with a cookie
    uint64_t refused = 0;      // INITs over the limits, or bad handshakes
    uint64_t throttled = 0;    // DATA dropped by the flood gate
    uint64_t probes_refused = 0; // probes for no watched attempt, forged,
                                 // reflected, unasked-for or over budget
    uint64_t stun_ignored = 0;   // STUN-range datagrams answering nothing
                                 // we asked
  };

  struct outgoing {
    ip_endpoint to;
    std::vector<uint8_t> bytes;
  };

  datagram_channel(settings s, time_point now);
  ~datagram_channel();
  datagram_channel(const datagram_channel&) = delete;
  datagram_channel& operator=(const datagram_channel&) = delete;

  /// Starts a handshake with `to`; the session index, or 0 when the
  /// session table is full. `expected`: the peer id that must answer.
  uint32_t dial(const ip_endpoint& to, std::optional<peer_id> expected,
                bool bootstrapping, time_point now);

  /// A datagram from `from`.
  void receive(const ip_endpoint& from, const uint8_t* data, size_t size,
               time_point now);

  /// Queues an SCTP message; false when the session is not up or its send
  /// buffer is full (retry after datagrams flowed).
  bool send(uint32_t session, uint16_t stream, const uint8_t* data,
            size_t size);

  /// The receiver's own back-pressure: while paused, the session's DATA
  /// is dropped unread (SCTP resends it later, and its congestion control
  /// slows the peer down).
  void pause(uint32_t session, bool on);

  /// Ends a session (the peer hears an SCTP ABORT). No down event follows.
  void close(uint32_t session);

  // -- hole punching ---------------------------------------------------------

  /// Probes of attempt `a` are answered (and ours sent) from now on, with
  /// `key`; `offerer`: which side of the attempt we are. False when
  /// max_watched attempts are watched already.
  bool watch(const attempt_id& a, const probe_key& key, bool offerer);

  /// The attempt is over: its probes get silence again.
  void unwatch(const attempt_id& a);

  /// Queues a PROBE of watched attempt `a` to `to`; false when `a` is not
  /// watched or its budget of probes is spent.
  bool probe(const attempt_id& a, const ip_endpoint& to);

  /// Asks the STUN server `server` where it sees this socket; the
  /// query's number (stun_answered's `session`), or 0 when too many
  /// questions are open. docs/PROTOCOL.md, "STUN on the rudp socket".
  uint32_t ask_stun(const ip_endpoint& server, time_point now);

  /// Attempts watched at once, and what each may send and answer.
  static constexpr size_t max_watched = 16;
  static constexpr uint32_t max_probes_per_attempt = 4096;
  static constexpr uint32_t max_acks_per_attempt = 512;

  /// Retransmissions, timeouts and keepalives due by `now`; call often
  /// (every few ms while sessions exist), after ticking the SCTP stack.
  void tick(time_point now);

  /// Seals what the SCTP associations want sent; call after receive,
  /// send and the stack's tick.
  void flush(time_point now);

  std::vector<outgoing>& out() {
    return out_;
  }

  std::deque<event>& events() {
    return events_;
  }

  const session_info* info(uint32_t session) const;

  const counters& stats() const {
    return stats_;
  }

  size_t sessions() const {
    return sessions_.size();
  }

  /// True while tick() has work: sessions, or STUN questions open.
  bool busy() const {
    return !sessions_.empty() || stun_.open();
  }

  /// Sessions whose handshake we answered and that have not finished.
  size_t half_open() const {
    return half_open_;
  }

  /// Keepalive: a session silent this long sends an empty DATA, holding
  /// NAT bindings open (RFC 4787 lets them expire after 2 minutes; many
  /// NATs do after 30 s).
  static constexpr auto keepalive = std::chrono::seconds(15);

private:
  friend class datagram_session;

  uint32_t fresh_index();
  void on_init(const ip_endpoint& from, const datagram::packet& p,
               time_point now);
  void kill(uint32_t session, std::string reason,
            std::optional<misbehaviour> kind = std::nullopt);
  void send_raw(const ip_endpoint& to, std::vector<uint8_t> bytes);
  void on_probe(const ip_endpoint& from, const uint8_t* data, size_t size);
  void drain_stun();

  struct watched {
    probe_key key{};
    bool offerer = false;
    uint32_t probes = 0;
    uint32_t acks = 0;
    // Where acks came from (bounded): one event each.
    std::vector<ip_endpoint> acked;
    // Where the peer's probes came from (bounded): sessions from there
    // are the attempt's.
    std::vector<ip_endpoint> sources;
  };

  settings cfg_;
  cookie_jar cookies_;
  std::unordered_map<uint32_t, std::unique_ptr<datagram_session>> sessions_;
  // Responder side: (source, their index) -> our index, so a repeated
  // INIT gets the same RESPONSE instead of a second session.
  std::map<std::pair<std::string, uint32_t>, uint32_t> by_init_;
  size_t half_open_ = 0;
  std::map<attempt_id, watched> watched_;
  datagram::stun_queries stun_;
  std::vector<outgoing> out_;
  std::deque<event> events_;
  counters stats_;
};

} // namespace crust
