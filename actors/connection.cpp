// A connection's life: start-up and admission, heartbeat, writing (the
// outbox paced by a write window) and closing. What arrives is handled in
// connection_read.cpp.
#include "actors/connection_core.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <memory>

#include "actors/atoms.hpp"
#include "actors/respond.hpp"
#include "actors/rudp_engine.hpp"
#include "actors/scribe_control.hpp"
#include "actors/timer.hpp"
#include "crust/errors.hpp"
#include "transports/inbox.hpp"
#include "transports/outbox.hpp"
#include "transports/secure_channel.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

using namespace caf;
using namespace caf::io;

// Bytes handed to CAF but not yet written to the socket. Above this we stop
// moving frames out of the outbox, so CAF's buffer stays small and a
// high-priority message is never stuck behind megabytes of bulk.
constexpr size_t write_window = 256 * 1024;

// Reads start small (an idle connection's buffer in CAF stays this size)
// and grow once a read fills them.
constexpr size_t first_read_size = 4 * 1024;
constexpr size_t read_size = 64 * 1024;

secure_channel::settings channel_settings(const connection_setup& s) {
  secure_channel::settings cs;
  cs.initiator = !s.info.inbound;
  cs.static_key = s.static_key;
  cs.local = hello{s.local_id, s.session,
                   s.info.from == origin::bootstrap_out};
  cs.network_name = s.opts.network_name;
  if (s.target)
    cs.expected = s.target->pinned;
  cs.max_record = s.opts.max_frame_size;
  return cs;
}

} // namespace

connection_core::connection_core(broker* self, connection_handle hdl,
                                 connection_setup s,
                                 std::optional<rudp_route> rudp)
  : self_(self),
    hdl_(hdl),
    sock_(self, hdl),
    setup_(std::move(s)),
    channel_(channel_settings(setup_)),
    in_(setup_.opts.max_message_size),
    out_(setup_.opts.send_queue_size, setup_.opts.max_message_size),
    gate_(flow_rates{double(setup_.opts.max_bytes_per_sec),
                     double(setup_.opts.max_records_per_sec)},
          // Over rudp the datagram channel meters before decrypting.
          setup_.ips && !rudp ? setup_.ips->acquire(self_->remote_addr(hdl_),
                                                    self_->clock().now())
                              : nullptr,
          setup_.opts.flood_timeout, self_->clock().now()),
    rudp_(std::move(rudp)) {
  if (rudp_)
    address_ = udp_address{setup_.info.remote.host, setup_.info.remote.port}
                 .text();
  else
    address_ = self_->remote_addr(hdl_) + ":"
               + std::to_string(self_->remote_port(hdl_));
}

bool connection_core::established() const {
  return rudp_ ? rudp_up_ : channel_.established();
}

behavior connection_core::start() {
  self_->set_error_handler([](error&) {}); // strays must not kill us
  if (!rudp_)
    self_->ack_writes(hdl_, true);
  // Not a byte is read (nor a handshake computed) before the service
  // admits this connection: a scribe reads nothing until configure_read.
  self_->send(setup_.service, conn_up_atom::value, setup_.info);
  set_timer(self_, setup_.opts.handshake_timeout, hs_timeout_atom::value);
  set_timer(self_, setup_.opts.heartbeat_interval, tick_atom::value);
  // The busiest handlers first: CAF tries them in order.
  return {
    [=](const new_data_msg& msg) { on_bytes(msg.buf); },
    [=](const connection_passivated_msg&) {
      // Out of read tokens: reading waits for update_reading().
    },
    [=](const data_transferred_msg& msg) {
      in_flight_ -= std::min<size_t>(in_flight_, msg.written);
      if (phase_ == phase::closing && in_flight_ == 0)
        sock_.release();
      else
        pump();
    },
    [=](send& cmd) {
      if (phase_ != phase::kept)
        return refuse_send(self_, setup_.handler, cmd, errc::not_kept);
      auto tag = plain_tag();
      auto size = cmd.bytes.size();
      if (auto err = out_.push(cmd.prio, std::move(cmd.bytes), tag);
          err != errc::none) {
        release_if_idle(tag);
        return refuse_send(self_, setup_.handler, cmd, err);
      }
      if (tag != 0)
        plain_[tag - 1].queued += size;
      // Sealed once the sends queued behind this one are in as well: small
      // messages sent together then share records (see pump).
      if (!pump_pending_) {
        pump_pending_ = true;
        self_->send(self_, pump_atom::value);
      }
      respond(self_, none);
    },
    [=](pump_atom) {
      pump_pending_ = false;
      pump();
    },
    [=](admit_atom) {
      if (phase_ != phase::handshaking || admitted_)
        return;
      admitted_ = true;
      if (rudp_)
        return rudp_attach();
      sock_.configure(first_read_size, read_size);
      update_reading();
      write_raw([&](std::vector<char>& buf) { channel_.start(buf); });
    },
    [=](rudp_frames_atom, std::vector<std::vector<uint8_t>>& fs) {
      rudp_frames(fs);
    },
    [=](rudp_sent_atom, uint64_t n) {
      in_flight_ -= std::min<size_t>(in_flight_, n);
      pump();
    },
    [=](rudp_down_atom, const std::string& reason, uint8_t kind) {
      if (kind == no_misbehaviour)
        finish(closed_by_peer_.empty() ? reason : closed_by_peer_);
      else
        abuse(static_cast<misbehaviour>(kind), reason);
    },
    [=](const connection_closed_msg&) {
      finish(closed_by_peer_.empty() ? "connection closed by the peer"
                                     : closed_by_peer_);
    },
    [=](exchange_atom) {
      if (phase_ != phase::kept || asked_peers_)
        return;
      asked_peers_ = true;
      send_frame(wire::frame_type::peers_request, nullptr, 0);
    },
    [=](peers_atom, const std::vector<uint8_t>& sample) {
      if (phase_ == phase::kept
          && sample.size() <= secure_channel::max_body(wire::min_record_size))
        send_frame(wire::frame_type::peers, sample.data(), sample.size());
    },
    [=](select_atom) {
      if (phase_ != phase::negotiating)
        return;
      send_frame(wire::frame_type::select, nullptr, 0);
      selected();
    },
    [=](kept_atom) {
      if (phase_ != phase::undecided)
        return;
      phase_ = phase::kept;
      for (auto& bytes : held_)
        self_->send(setup_.handler, message{peer_, std::move(bytes)});
      held_.clear();
      held_bytes_ = 0;
      halted_ = false;
      set_timer(self_, scribe_control::settle, rearm_atom::value);
      answer_sample();
    },
    [=](rearm_atom) { update_reading(); },
    [=](resume_atom) {
      if (!throttled_ || phase_ == phase::closing)
        return;
      throttle(gate_.on_resume(self_->clock().now()));
      update_reading();
    },
    [=](close_atom, uint8_t reason) {
      auto r = static_cast<wire::close_reason>(reason);
      close_with(r, wire::to_string(r), wire::to_string(r));
    },
    [=](hs_timeout_atom) {
      if (phase_ == phase::handshaking || phase_ == phase::negotiating)
        abuse(misbehaviour::handshake_timeout,
              "not identified within "
                + to_text(setup_.opts.handshake_timeout));
    },
    [=](tick_atom) { on_tick(); },
    [=](finish_atom) {
      if (rudp_)
        rudp_finish();
      else
        sock_.release();
    },
  };
}

void connection_core::on_tick() {
  if (phase_ == phase::closing)
    return;
  if (heard_ || halted_ || throttled_ || !admitted_) {
    silent_ = timespan{0};
  } else {
    silent_ += setup_.opts.heartbeat_interval;
    if (silent_ >= setup_.opts.heartbeat_timeout) {
      close_with(wire::close_reason::timeout, "heartbeat timeout",
                 "no heartbeat for " + to_text(silent_));
      return;
    }
  }
  heard_ = false;
  if (!sent_since_tick_ && established())
    send_frame(wire::frame_type::ping, nullptr, 0);
  sent_since_tick_ = false;
  set_timer(self_, setup_.opts.heartbeat_interval, tick_atom::value);
}

// Moves chunks from the outbox to CAF while the write window has room.
// Small chunks queued together leave as one BATCH record: one seal and
// one record for many small messages.
void connection_core::pump() {
  if (phase_ == phase::closing)
    return;
  if (rudp_)
    return rudp_pump();
  size_t moved = 0;
  chunk_view c;
  auto& buf = self_->wr_buf(hdl_);
  auto fits = [](size_t used, const chunk_view& x) {
    return used + wire::batch_item_size(x.size) <= wire::max_batch_body;
  };
  while (in_flight_ + moved < write_window && out_.peek(c)) {
    auto before = buf.size();
    if (out_.messages() > 1 && fits(0, c)) {
      channel_.seal_with(wire::frame_type::batch, buf, [&](std::vector<char>& b) {
        size_t used = 0;
        while (out_.peek(c) && fits(used, c)) {
          wire::append_batch_item(b, c.flags, c.data, c.size);
          used += wire::batch_item_size(c.size);
          took(c);
          out_.pop();
        }
      });
    } else {
      channel_.seal(wire::frame_type::data, &c.flags, 1, c.data, c.size, buf);
      took(c);
      out_.pop();
    }
    moved += buf.size() - before;
  }
  if (moved > 0)
    flushed(moved);
  report_sent();
}

// The slot of the current send's sender if it is a plain send (see
// plain_sender), or 0.
uint32_t connection_core::plain_tag() {
  auto elem = self_->current_mailbox_element();
  if (elem == nullptr || elem->mid.is_request() || elem->sender == nullptr)
    return 0;
  auto free = plain_.size();
  for (size_t i = 0; i < plain_.size(); ++i) {
    if (plain_[i].who == elem->sender)
      return static_cast<uint32_t>(i + 1);
    if (!plain_[i].who)
      free = i;
  }
  if (free == plain_.size())
    plain_.emplace_back();
  plain_[free].who = elem->sender;
  return static_cast<uint32_t>(free + 1);
}

// Chunk `c` leaves the outbox: its bytes count for its plain sender.
void connection_core::took(const chunk_view& c) {
  if (c.tag == 0)
    return;
  auto& p = plain_[c.tag - 1];
  p.queued -= c.size;
  p.left += c.size;
}

// One `sent` per plain sender whose bytes left in this write.
void connection_core::report_sent() {
  for (auto& p : plain_) {
    if (p.left == 0)
      continue;
    self_->send(caf::actor_cast<caf::actor>(p.who), sent{peer_, p.left});
    p.left = 0;
    release_if_idle(static_cast<uint32_t>(&p - plain_.data() + 1));
  }
}

// A slot with nothing queued and nothing to report lets its sender go (the
// handle is strong: held, it would keep that actor alive).
void connection_core::release_if_idle(uint32_t tag) {
  if (tag == 0)
    return;
  auto& p = plain_[tag - 1];
  if (p.queued == 0 && p.left == 0)
    p.who = nullptr;
}

void connection_core::send_frame(wire::frame_type t, const void* body, size_t len) {
  if (rudp_)
    return rudp_frame(0, t, body, len);
  write_raw([&](std::vector<char>& out) {
    channel_.seal(t, static_cast<const uint8_t*>(body), len, nullptr, 0, out);
  });
}

void connection_core::flushed(size_t n) {
  in_flight_ += n;
  sent_since_tick_ = true;
  self_->flush(hdl_);
}

bool connection_core::violation(std::string detail) {
  abuse(misbehaviour::protocol_violation, std::move(detail));
  return false;
}

void connection_core::abuse(misbehaviour kind, std::string detail) {
  misbehaving ev{address_, {}, kind, detail};
  if (phase_ != phase::handshaking)
    ev.peer = peer_;
  self_->send(setup_.handler, std::move(ev));
  auto r = kind == misbehaviour::handshake_timeout
             ? wire::close_reason::timeout
             : wire::close_reason::violation;
  close_with(r, wire::to_string(r), to_string(kind) + ": " + detail);
}

// Tells an authenticated peer why, closes, and reports `reason` locally.
// Peers that never authenticated hear nothing (silence to strangers).
void connection_core::close_with(wire::close_reason r, const std::string& text,
                                 std::string reason) {
  if (phase_ == phase::closing)
    return;
  if (established()) {
    std::string body(1, static_cast<char>(r));
    body += text.substr(0, wire::max_close_text);
    send_frame(wire::frame_type::close, body.data(), body.size());
    // Over rudp the CLOSE also follows the normal lane's data.
    if (rudp_)
      rudp_frame(1, wire::frame_type::close, body.data(), body.size());
  }
  finish(std::move(reason));
}

void connection_core::finish(std::string reason) {
  if (phase_ == phase::closing)
    return;
  phase_ = phase::closing;
  self_->send(setup_.service, closed_atom::value, std::move(reason),
              duplicate_);
  if (rudp_)
    return rudp_finish();
  // Our last words (CLOSE) get a moment to reach the socket.
  sock_.close_later(in_flight_ > 0, finish_atom::value);
}

caf::behavior connection(caf::io::broker* self, caf::io::connection_handle hdl,
                         connection_setup setup) {
  auto core = std::make_shared<connection_core>(self, hdl, std::move(setup));
  auto bhvr = core->start();
  // The behavior's handlers capture `this` of core; keep core alive with them.
  self->attach_functor([core] {});
  return bhvr;
}

caf::behavior connection_from_socket(caf::io::broker* self,
                                     caf::io::network::native_socket fd,
                                     connection_setup setup) {
  auto hdl = self->add_scribe(fd);
  return connection(self, hdl, std::move(setup));
}

} // namespace crust
