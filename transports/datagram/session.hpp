// One session of the datagram channel (transports/datagram/channel): its
// side of the Noise XX handshake with retransmission, then sealed DATA in
// both directions with a replay window and a flood gate, carrying one
// SCTP association. Internal to the channel, which demultiplexes by
// session index and owns the clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transports/datagram/channel.hpp"
#include "transports/noise/cipher_state.hpp"
#include "transports/noise/handshake.hpp"
#include "transports/defence/replay_window.hpp"
#include "transports/datagram/sctp_link.hpp"

namespace crust {

class datagram_session {
public:
  using time_point = datagram_channel::time_point;
  using duration = std::chrono::steady_clock::duration;

  enum class state {
    initiating, // INIT sent, waiting for RESPONSE (or COOKIE)
    responding, // RESPONSE sent, waiting for FINAL
    linking,    // handshake done, SCTP association coming up
    up,         // announced to the caller
  };

  /// `ch` outlives the session; it sends through it and posts events.
  datagram_session(datagram_channel& ch, uint32_t index, ip_endpoint remote,
                   bool inbound, time_point now);
  ~datagram_session();

  // -- initiator --
  void start(std::optional<peer_id> expected, bool bootstrapping,
             time_point now);
  void on_cookie(const datagram::cookie_bytes& c, time_point now);
  /// False when the session failed (the channel then kills it).
  bool on_response(const datagram::packet& p, time_point now);

  // -- responder --
  /// False when message 1 does not verify.
  bool on_init(const datagram::packet& p, time_point now);
  /// A repeated INIT: the RESPONSE again (at most once per backoff step).
  void repeat_response(time_point now);
  bool on_final(const datagram::packet& p, time_point now);

  // -- both, once the handshake is done --
  void on_data(const ip_endpoint& from, const uint8_t* packet,
               const datagram::packet& p, time_point now);
  bool send(uint16_t stream, const uint8_t* data, size_t size);
  void tick(time_point now);
  void flush(time_point now);
  void close();
  void pause(bool on) {
    paused_ = on;
  }

  state current() const {
    return state_;
  }

  uint32_t remote_index() const {
    return remote_index_;
  }

  /// The session a hole punch's probes prepared (an inbound one from where
  /// they came).
  void mark_punched() {
    info_.punched = true;
  }

  const datagram_channel::session_info& info() const {
    return info_;
  }

  /// The session failed or its association ended: the channel removes it
  /// with this reason (and kind, when the peer misbehaved).
  bool broken() const {
    return broken_;
  }

  const std::string& why() const {
    return why_;
  }

  std::optional<misbehaviour> kind() const {
    return kind_;
  }

private:
  hello local_hello() const;
  bool accept_hello(const std::vector<uint8_t>& payload);
  bool key_session(time_point now);
  bool fail(std::string why,
            std::optional<misbehaviour> kind = misbehaviour::handshake_invalid);
  void resend(time_point now);
  void seal(std::vector<uint8_t> packet, time_point now);
  void after_link_work();

  datagram_channel& ch_;
  uint32_t index_;
  uint32_t remote_index_ = 0;
  state state_;
  datagram_channel::session_info info_;
  bool bootstrapping_ = false;
  std::optional<peer_id> expected_;
  std::optional<noise::handshake_state> hs_;
  std::vector<uint8_t> message1_;
  std::optional<datagram::cookie_bytes> cookie_;
  std::vector<uint8_t> last_; // the handshake packet we may resend
  time_point deadline_;
  time_point next_resend_;
  duration backoff_;
  bool confirmed_ = false; // initiator: the peer proved it has our FINAL
  noise::cipher_state tx_;
  noise::cipher_state rx_;
  uint64_t tx_counter_ = 0;
  replay_window window_;
  std::unique_ptr<sctp_link> link_;
  std::optional<flood_gate> gate_;
  std::optional<time_point> paused_until_;
  time_point last_sent_;
  std::vector<uint8_t> plain_;
  bool paused_ = false;
  bool broken_ = false;
  std::string why_;
  std::optional<misbehaviour> kind_;
};

} // namespace crust
