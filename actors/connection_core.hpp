// The state and logic of one connection's broker (actors/connection):
// connection.cpp holds its life (start, heartbeat, writing, closing),
// connection_read.cpp what arrives (flood gate, decryption, frames).
// Internal to crust's actors.
#pragma once

#include <caf/io/broker.hpp>

#include <optional>
#include <string>
#include <vector>

#include "actors/connection.hpp"
#include "actors/scribe_control.hpp"
#include "transports/flood_gate.hpp"
#include "transports/inbox.hpp"
#include "transports/outbox.hpp"
#include "transports/secure_channel.hpp"
#include "transports/wire.hpp"

namespace crust {

class connection_core {
public:
  using broker = caf::io::broker;
  using connection_handle = caf::io::connection_handle;
  using behavior = caf::behavior;
  using timespan = caf::timespan;

  enum class phase { handshaking, negotiating, undecided, kept, closing };

  /// Where a connection over reliable UDP lives: its session in the
  /// engine (actors/rudp_engine), which ran the handshake already.
  struct rudp_route {
    caf::actor engine;
    uint32_t ep = 0;
    uint32_t session = 0;
  };

  connection_core(broker* self, connection_handle hdl, connection_setup s,
                  std::optional<rudp_route> rudp = std::nullopt);
  behavior start();

private:
  void on_bytes(const std::vector<char>& buf);
  void answer_sample();
  void throttle(flood_gate::verdict v);
  void update_reading();
  void decode();
  bool on_frame(const frame_view& f);
  void selected();
  bool on_data(const frame_view& f);
  void on_tick();
  void pump();
  uint32_t plain_tag();
  void took(const chunk_view& c);
  void report_sent();
  void release_if_idle(uint32_t tag);
  void send_frame(wire::frame_type t, const void* body, size_t len);
  void flushed(size_t n);
  bool violation(std::string detail);
  void abuse(misbehaviour kind, std::string detail);
  void close_with(wire::close_reason r, const std::string& text,
                  std::string reason);
  void finish(std::string reason);
  bool established() const;

  // Over reliable UDP (connection_rudp.cpp): frames are SCTP messages,
  // stream 0 for control and the high lane, stream 1 for the normal lane.
  void rudp_attach();
  void rudp_frames(std::vector<std::vector<uint8_t>>& frames);
  void rudp_frame(uint16_t stream, wire::frame_type t, const void* body,
                  size_t len);
  void rudp_pump();
  bool rudp_early(const frame_view& f);
  bool rudp_closed(uint16_t stream, const frame_view& f);
  void rudp_finish();
  void rudp_pause(bool on);

  template <class F>
  void write_raw(F fill) {
    auto& buf = self_->wr_buf(hdl_);
    auto before = buf.size();
    fill(buf);
    if (buf.size() > before)
      flushed(buf.size() - before);
  }

  broker* self_;
  connection_handle hdl_;
  scribe_control sock_;
  connection_setup setup_;
  std::string address_;
  secure_channel channel_;
  inbox in_;
  outbox out_;
  flood_gate gate_;
  phase phase_ = phase::handshaking;
  bool heard_observed_ = false;
  peer_id peer_;
  std::vector<std::vector<uint8_t>> held_;
  size_t held_bytes_ = 0;
  bool halted_ = false;
  bool throttled_ = false;
  bool asked_peers_ = false;
  bool sample_wanted_ = false;
  caf::actor_clock::time_point last_sample_{};
  size_t in_flight_ = 0;
  bool heard_ = false;
  bool sent_since_tick_ = false;
  timespan silent_{0};
  std::string closed_by_peer_;
  bool duplicate_ = false;
  bool admitted_ = false;
  bool pump_pending_ = false;
  // Senders of plain (unanswered) sends, so that each hears `sent` as its
  // bytes leave: slot k is outbox tag k + 1 (tag 0: a request, or
  // anonymous). A slot is freed once all its bytes are reported.
  struct plain_sender {
    caf::strong_actor_ptr who;
    uint64_t queued = 0; // its bytes in out_
    uint64_t left = 0;   // sealed since its last `sent`
  };
  std::vector<plain_sender> plain_;
  std::optional<rudp_route> rudp_;
  bool rudp_up_ = false;
  uint16_t rudp_stream_ = 0; // of the frame on_frame is looking at
  bool rudp_paused_ = false;
  uint8_t rudp_closes_ = 0;  // streams the peer's CLOSE arrived on
  std::vector<std::vector<uint8_t>> early_; // DATA that overtook SELECT
  size_t early_bytes_ = 0;
};

} // namespace crust
