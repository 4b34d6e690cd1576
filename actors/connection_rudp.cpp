// A connection over reliable UDP: the engine (actors/rudp_engine) ran the
// Noise handshake and keeps the SCTP association; this broker gets the
// peer's HELLO from it, then frames as SCTP messages. Stream 0 carries
// control frames and the high lane, stream 1 the normal lane; ordering
// holds per stream only, so DATA that overtakes SELECT waits for it, and
// CLOSE travels on both streams behind the data sent before it.
#include "actors/connection_core.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "actors/rudp_engine.hpp"
#include "actors/timer.hpp"

namespace crust {

namespace {

// Bytes handed to the engine and not yet taken by SCTP.
constexpr size_t rudp_window = 256 * 1024;

// How long a CLOSE on one stream waits for its twin on the other.
constexpr auto close_grace = std::chrono::seconds(1);

} // namespace

void connection_core::rudp_attach() {
  auto& r = *rudp_;
  self_->request(r.engine, std::chrono::seconds(10), rudp_attach_atom::value,
                 r.ep, r.session)
    .then(
      [=](const peer_id& id, uint64_t session, bool bootstrapping,
          std::vector<std::vector<uint8_t>>& held) {
        if (phase_ != phase::handshaking)
          return;
        rudp_up_ = true;
        peer_ = id;
        phase_ = phase::negotiating;
        self_->send(setup_.service, hello_atom::value, peer_, session,
                    bootstrapping);
        rudp_frames(held);
      },
      [=](caf::error&) { finish("the rudp session ended"); });
}

void connection_core::rudp_frames(std::vector<std::vector<uint8_t>>& fs) {
  // Frames only follow the attach reply (which carries the earlier ones);
  // none can come before it.
  if (!rudp_up_)
    return;
  for (auto& f : fs) {
    if (phase_ == phase::closing)
      return;
    heard_ = true;
    if (f.size() < 2 || !wire::known_frame_type(f[1])) {
      violation(f.size() < 2 ? "empty frame"
                             : "unknown frame type " + std::to_string(f[1]));
      return;
    }
    rudp_stream_ = f[0];
    if (!on_frame(frame_view{static_cast<wire::frame_type>(f[1]), f.data() + 2,
                             f.size() - 2}))
      return;
  }
  update_reading();
}

void connection_core::rudp_frame(uint16_t stream, wire::frame_type t,
                                 const void* body, size_t len) {
  std::vector<uint8_t> f;
  f.reserve(2 + len);
  f.push_back(static_cast<uint8_t>(stream));
  f.push_back(static_cast<uint8_t>(t));
  auto p = static_cast<const uint8_t*>(body);
  f.insert(f.end(), p, p + len);
  in_flight_ += f.size() - 1;
  sent_since_tick_ = true;
  std::vector<std::vector<uint8_t>> fs;
  fs.push_back(std::move(f));
  self_->send(rudp_->engine, rudp_send_atom::value, rudp_->ep, rudp_->session,
              std::move(fs));
}

void connection_core::rudp_pump() {
  std::vector<std::vector<uint8_t>> fs;
  chunk_view c;
  while (in_flight_ < rudp_window && out_.peek(c)) {
    std::vector<uint8_t> f;
    f.reserve(3 + c.size);
    f.push_back((c.flags & wire::flag_normal) ? 1 : 0);
    f.push_back(static_cast<uint8_t>(wire::frame_type::data));
    f.push_back(c.flags);
    f.insert(f.end(), c.data, c.data + c.size);
    in_flight_ += f.size() - 1;
    fs.push_back(std::move(f));
    took(c);
    out_.pop();
  }
  if (fs.empty())
    return;
  sent_since_tick_ = true;
  self_->send(rudp_->engine, rudp_send_atom::value, rudp_->ep, rudp_->session,
              std::move(fs));
  report_sent();
}

// DATA before SELECT: the leader selected already (it only sends once it
// has), so SELECT is on its way on stream 0. Held, within the undecided
// allowance.
bool connection_core::rudp_early(const frame_view& f) {
  early_bytes_ += f.size;
  if (early_bytes_ > setup_.opts.undecided_buffer_size)
    return violation("DATA before the connection was selected");
  early_.emplace_back(f.body, f.body + f.size);
  return true;
}

// True once the CLOSE is final: it came on both streams, or on one and
// the grace for the other passed.
bool connection_core::rudp_closed(uint16_t stream, const frame_view& f) {
  rudp_closes_ |= static_cast<uint8_t>(1u << (stream & 1));
  if (rudp_closes_ == 3)
    return true;
  std::vector<uint8_t> body(f.body, f.body + f.size);
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self_), close_grace,
                         rudp_frames_atom::value,
                         std::vector<std::vector<uint8_t>>{[&] {
                           std::vector<uint8_t> again{
                             static_cast<uint8_t>(stream ^ 1),
                             static_cast<uint8_t>(wire::frame_type::close)};
                           again.insert(again.end(), body.begin(), body.end());
                           return again;
                         }()});
  return false;
}

void connection_core::rudp_pause(bool on) {
  if (on == rudp_paused_ || !rudp_up_)
    return;
  rudp_paused_ = on;
  self_->send(rudp_->engine, rudp_pause_atom::value, rudp_->ep, rudp_->session,
              on);
}

void connection_core::rudp_finish() {
  // The engine lets the association go a moment later, so our CLOSE
  // still reaches the peer.
  self_->send(rudp_->engine, rudp_end_atom::value, rudp_->ep, rudp_->session);
  self_->quit();
}

caf::behavior connection_over_rudp(caf::io::broker* self, caf::actor engine,
                                   uint32_t ep, uint32_t session,
                                   connection_setup setup) {
  auto core = std::make_shared<connection_core>(
    self, caf::io::connection_handle{}, std::move(setup),
    connection_core::rudp_route{std::move(engine), ep, session});
  auto bhvr = core->start();
  self->attach_functor([core] {});
  return bhvr;
}

} // namespace crust
