#include "actors/connection.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <memory>


#include "actors/atoms.hpp"
#include "actors/respond.hpp"
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

class connection_core {
public:
  enum class phase { handshaking, negotiating, undecided, kept, closing };

  connection_core(broker* self, connection_handle hdl, connection_setup s)
    : self_(self),
      hdl_(hdl),
      sock_(self, hdl),
      setup_(std::move(s)),
      channel_(channel_settings(setup_)),
      in_(setup_.opts.max_message_size),
      out_(setup_.opts.send_queue_size, setup_.opts.max_message_size),
      gate_(flow_rates{double(setup_.opts.max_bytes_per_sec),
                       double(setup_.opts.max_records_per_sec)},
            setup_.ips ? setup_.ips->acquire(self_->remote_addr(hdl_),
                                             self_->clock().now())
                       : nullptr,
            setup_.opts.flood_timeout, self_->clock().now()) {
    address_ = self_->remote_addr(hdl_) + ":"
               + std::to_string(self_->remote_port(hdl_));
  }

  behavior start() {
    self_->set_error_handler([](error&) {}); // strays must not kill us
    self_->ack_writes(hdl_, true);
    // Not a byte is read (nor a handshake computed) before the service
    // admits this connection: a scribe reads nothing until configure_read.
    self_->send(setup_.service, conn_up_atom::value, setup_.info);
    set_timer(self_, setup_.opts.handshake_timeout, hs_timeout_atom::value);
    set_timer(self_, setup_.opts.heartbeat_interval, tick_atom::value);
    return {
      [=](admit_atom) {
        if (phase_ != phase::handshaking || admitted_)
          return;
        admitted_ = true;
        sock_.configure(read_size);
        update_reading();
        write_raw([&](std::vector<char>& buf) { channel_.start(buf); });
      },
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
      [=](send& cmd) {
        if (phase_ != phase::kept)
          return respond(self_, make_error(errc::not_kept));
        if (auto err = out_.push(cmd.prio, std::move(cmd.bytes));
            err != errc::none)
          return respond(self_, make_error(err));
        pump();
        respond(self_, none);
      },
      [=](hs_timeout_atom) {
        if (phase_ == phase::handshaking || phase_ == phase::negotiating)
          abuse(misbehaviour::handshake_timeout,
                "not identified within "
                  + to_text(setup_.opts.handshake_timeout));
      },
      [=](tick_atom) { on_tick(); },
      [=](finish_atom) { sock_.release(); },
    };
  }

private:
  void on_bytes(const std::vector<char>& buf) {
    sock_.consumed();
    if (phase_ == phase::closing)
      return;
    auto records = channel_.records_read();
    channel_.feed(buf.data(), buf.size());
    decode();
    auto complete = channel_.records_read() - records;
    // Only whole records prove life: a peer dribbling the bytes of a record
    // it never finishes (slowloris) is lost at the heartbeat timeout.
    if (complete > 0)
      heard_ = true;
    if (phase_ != phase::closing)
      throttle(gate_.on_read(buf.size(), complete, self_->clock().now()));
    update_reading();
  }

  void answer_sample() {
    if (sample_wanted_ && phase_ == phase::kept) {
      sample_wanted_ = false;
      self_->send(setup_.service, peers_request_atom::value);
    }
  }

  // Defence before decryption: a peer over its rate waits (TCP pushes
  // back); one that stays over it is a flood.
  void throttle(flood_gate::verdict v) {
    switch (v) {
      case flood_gate::verdict::open:
        throttled_ = false;
        return;
      case flood_gate::verdict::paused:
        throttled_ = true;
        set_timer(self_,
                  std::max<timespan>(gate_.pause_for(), scribe_control::settle),
                  resume_atom::value);
        return;
      case flood_gate::verdict::flood:
        abuse(misbehaviour::flood, gate_.detail());
        return;
    }
  }

  // One more read, unless the undecided allowance or the rate stops us.
  // Called from reads, on admission, and from timers (see scribe_control).
  void update_reading() {
    if (phase_ != phase::closing && admitted_ && !halted_ && !throttled_)
      sock_.arm();
  }

  // Runs the channel over what was fed, up to the next need for bytes.
  void decode() {
    for (;;) {
      frame_view f;
      std::vector<char> reply;
      auto ev = channel_.next(reply, f);
      if (!reply.empty())
        write_raw([&](std::vector<char>& out) {
          out.insert(out.end(), reply.begin(), reply.end());
        });
      switch (ev) {
        case secure_channel::event::need_more:
          return;
        case secure_channel::event::failed:
          abuse(channel_.kind(), channel_.detail());
          return;
        case secure_channel::event::established:
          peer_ = channel_.remote().id;
          phase_ = phase::negotiating;
          self_->send(setup_.service, hello_atom::value, peer_,
                      channel_.remote().session,
                      channel_.remote().bootstrapping);
          break;
        case secure_channel::event::frame:
          if (!on_frame(f))
            return;
      }
    }
  }

  // False once the connection is closing.
  bool on_frame(const frame_view& f) {
    using ft = wire::frame_type;
    switch (f.type) {
      case ft::select:
        if (phase_ != phase::negotiating || setup_.local_id < peer_)
          return violation("SELECT from the peer that does not lead");
        selected();
        self_->send(setup_.service, selected_atom::value);
        return true;
      case ft::data:
        return on_data(f);
      case ft::ping:
        return true;
      case ft::peers_request:
        // Answered once we keep the peer (it may ask before our decision),
        // at most once per interval; more requests are ignored (a sample
        // costs a cache read and a signature).
        if (self_->clock().now() - last_sample_
            >= std::chrono::seconds(wire::exchange_min_interval_seconds)) {
          last_sample_ = self_->clock().now();
          sample_wanted_ = true;
          answer_sample();
        }
        return true;
      case ft::observed:
        // Once per connection: where the peer sees us, for address
        // discovery (the service weighs it; a peer may lie).
        if (!heard_observed_ && f.size <= wire::max_observed_size) {
          heard_observed_ = true;
          self_->send(setup_.service, observed_atom::value,
                      std::string(reinterpret_cast<const char*>(f.body),
                                  f.size));
        }
        return true;
      case ft::peers:
        // Only the one answer we asked for.
        if (asked_peers_) {
          asked_peers_ = false;
          self_->send(setup_.service, peers_atom::value,
                      std::vector<uint8_t>(f.body, f.body + f.size));
        }
        return true;
      case ft::close: {
        auto n = std::min(f.size, wire::max_close_text + 1);
        std::string why = "closed by the peer";
        if (n > 1)
          why += ": "
                 + std::string(reinterpret_cast<const char*>(f.body) + 1, n - 1);
        closed_by_peer_ = why;
        // The leader kept another connection to us: not a failure.
        duplicate_ = f.size > 0
                     && f.body[0]
                          == static_cast<uint8_t>(wire::close_reason::duplicate);
        finish(why);
        return false;
      }
    }
    return violation("unexpected frame");
  }

  // The connection lives: tell the peer the address we see it at.
  void selected() {
    phase_ = phase::undecided;
    send_frame(wire::frame_type::observed, address_.data(), address_.size());
  }

  bool on_data(const frame_view& f) {
    if (phase_ != phase::undecided && phase_ != phase::kept)
      return violation("DATA before the connection was selected");
    std::vector<uint8_t> msg;
    priority lane;
    switch (in_.on_data(f.body, f.size, msg, lane)) {
      case inbox::status::incomplete:
        return true;
      case inbox::status::violation:
        abuse(in_.kind(), in_.detail());
        return false;
      case inbox::status::complete:
        break;
    }
    if (phase_ == phase::kept) {
      self_->send(setup_.handler, message{peer_, std::move(msg)});
      return true;
    }
    // Undecided: hold messages until keep, and stop reading when the
    // allowance is used up (TCP then pushes back on the peer).
    held_bytes_ += msg.size();
    held_.emplace_back(std::move(msg));
    if (held_bytes_ >= setup_.opts.undecided_buffer_size)
      halted_ = true;
    return true;
  }

  void on_tick() {
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
    if (!sent_since_tick_ && channel_.established())
      send_frame(wire::frame_type::ping, nullptr, 0);
    sent_since_tick_ = false;
    set_timer(self_, setup_.opts.heartbeat_interval, tick_atom::value);
  }

  // Moves chunks from the outbox to CAF while the write window has room.
  void pump() {
    if (phase_ == phase::closing)
      return;
    size_t moved = 0;
    chunk_view c;
    auto& buf = self_->wr_buf(hdl_);
    while (in_flight_ + moved < write_window && out_.peek(c)) {
      auto before = buf.size();
      channel_.seal(wire::frame_type::data, &c.flags, 1, c.data, c.size, buf);
      moved += buf.size() - before;
      out_.pop();
    }
    if (moved > 0)
      flushed(moved);
  }

  template <class F>
  void write_raw(F fill) {
    auto& buf = self_->wr_buf(hdl_);
    auto before = buf.size();
    fill(buf);
    if (buf.size() > before)
      flushed(buf.size() - before);
  }

  void send_frame(wire::frame_type t, const void* body, size_t len) {
    write_raw([&](std::vector<char>& out) {
      channel_.seal(t, static_cast<const uint8_t*>(body), len, nullptr, 0, out);
    });
  }

  void flushed(size_t n) {
    in_flight_ += n;
    sent_since_tick_ = true;
    self_->flush(hdl_);
  }

  bool violation(std::string detail) {
    abuse(misbehaviour::protocol_violation, std::move(detail));
    return false;
  }

  void abuse(misbehaviour kind, std::string detail) {
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
  void close_with(wire::close_reason r, const std::string& text,
                  std::string reason) {
    if (phase_ == phase::closing)
      return;
    if (channel_.established()) {
      std::string body(1, static_cast<char>(r));
      body += text.substr(0, wire::max_close_text);
      send_frame(wire::frame_type::close, body.data(), body.size());
    }
    finish(std::move(reason));
  }

  void finish(std::string reason) {
    if (phase_ == phase::closing)
      return;
    phase_ = phase::closing;
    self_->send(setup_.service, closed_atom::value, std::move(reason),
                duplicate_);
    // Our last words (CLOSE) get a moment to reach the socket.
    sock_.close_later(in_flight_ > 0, finish_atom::value);
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
};

} // namespace

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
