#include "actors/connection.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <memory>

#include "actors/atoms.hpp"
#include "actors/respond.hpp"
#include "crust/errors.hpp"
#include "transports/frame_decoder.hpp"
#include "transports/hello.hpp"
#include "transports/inbox.hpp"
#include "transports/outbox.hpp"
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

// Timers go out without a sender: a message an actor sends itself holds a
// strong reference to it, and one still queued when it stops keeps it alive.
template <class... Ts>
void set_timer(broker* self, timespan after, Ts... xs) {
  delayed_anon_send(actor_cast<actor>(self), after, xs...);
}

class connection_core {
public:
  enum class phase { identifying, negotiating, undecided, kept, closing };

  connection_core(broker* self, connection_handle hdl, connection_setup s)
    : self_(self),
      hdl_(hdl),
      setup_(std::move(s)),
      decoder_(setup_.opts.max_frame_size),
      in_(setup_.opts.max_message_size),
      out_(setup_.opts.send_queue_size, setup_.opts.max_message_size) {
    address_ = self_->remote_addr(hdl_) + ":"
               + std::to_string(self_->remote_port(hdl_));
  }

  behavior start() {
    self_->set_error_handler([](error&) {}); // strays must not kill us
    self_->configure_read(hdl_, receive_policy::at_most(read_size));
    self_->ack_writes(hdl_, true);
    self_->send(setup_.service, conn_up_atom::value, setup_.info);
    append_hello(self_->wr_buf(hdl_),
                 hello{wire::protocol_version, setup_.local_id, setup_.session});
    flushed(wire::header_size + wire::hello_size);
    set_timer(self_, setup_.opts.handshake_timeout,
                        hs_timeout_atom::value);
    set_timer(self_, setup_.opts.heartbeat_interval, tick_atom::value);
    return {
      [=](const new_data_msg& msg) { on_bytes(msg.buf); },
      [=](const data_transferred_msg& msg) {
        in_flight_ -= std::min<size_t>(in_flight_, msg.written);
        pump();
      },
      [=](const connection_closed_msg&) {
        finish(closed_by_peer_.empty() ? "connection closed by the peer"
                                       : closed_by_peer_);
      },
      [=](select_atom) {
        if (phase_ != phase::negotiating)
          return;
        append_frame(self_->wr_buf(hdl_), wire::frame_type::select, nullptr, 0);
        flushed(wire::header_size);
        phase_ = phase::undecided;
      },
      [=](kept_atom) {
        if (phase_ != phase::undecided)
          return;
        phase_ = phase::kept;
        for (auto& bytes : held_)
          self_->send(setup_.handler, message{peer_, std::move(bytes)});
        held_.clear();
        held_bytes_ = 0;
        if (halted_) {
          halted_ = false;
          self_->trigger(hdl_);
        }
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
        if (phase_ == phase::identifying || phase_ == phase::negotiating)
          abuse(misbehaviour::handshake_timeout,
                "not identified within "
                  + to_text(setup_.opts.handshake_timeout),
                wire::close_reason::timeout);
      },
      [=](tick_atom) { on_tick(); },
    };
  }

private:
  void on_bytes(const std::vector<char>& buf) {
    if (phase_ == phase::closing)
      return;
    heard_ = true;
    decoder_.feed(buf.data(), buf.size());
    frame_view f;
    for (;;) {
      switch (decoder_.next(f)) {
        case frame_decoder::status::need_more:
          return;
        case frame_decoder::status::violation:
          abuse(decoder_.kind(), decoder_.detail(),
                wire::close_reason::violation);
          return;
        case frame_decoder::status::frame:
          if (!on_frame(f))
            return;
      }
    }
  }

  // False once the connection is closing.
  bool on_frame(const frame_view& f) {
    using ft = wire::frame_type;
    switch (f.type) {
      case ft::hello:
        return on_hello(f);
      case ft::select:
        if (phase_ != phase::negotiating || setup_.local_id < peer_)
          return violation("SELECT from the peer that does not lead");
        phase_ = phase::undecided;
        self_->send(setup_.service, selected_atom::value);
        return true;
      case ft::data:
        return on_data(f);
      case ft::ping:
        return true;
      case ft::close: {
        auto n = std::min(f.size, wire::max_close_text + 1);
        std::string why = "closed by the peer";
        if (n > 1)
          why += ": " + std::string(reinterpret_cast<const char*>(f.body) + 1,
                                    n - 1);
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

  bool on_hello(const frame_view& f) {
    if (phase_ != phase::identifying)
      return violation("second HELLO");
    auto h = parse_hello(f.body, f.size);
    if (!h)
      return violation("malformed HELLO of " + std::to_string(f.size)
                       + " bytes");
    if (h->version != wire::protocol_version) {
      close_with(wire::close_reason::violation,
                 "unsupported protocol version " + std::to_string(h->version),
                 "peer speaks protocol version " + std::to_string(h->version)
                   + ", we speak "
                   + std::to_string(wire::protocol_version));
      return false;
    }
    if (setup_.target && setup_.target->pinned && *setup_.target->pinned != h->id) {
      close_with(wire::close_reason::violation, "wrong peer id",
                 "expected peer " + setup_.target->pinned->short_hex()
                   + " but " + h->id.short_hex() + " answered");
      return false;
    }
    peer_ = h->id;
    phase_ = phase::negotiating;
    self_->send(setup_.service, hello_atom::value, peer_, h->session);
    return true;
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
        abuse(in_.kind(), in_.detail(), wire::close_reason::violation);
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
    if (held_bytes_ >= setup_.opts.undecided_buffer_size && !halted_) {
      halted_ = true;
      self_->halt(hdl_);
    }
    return true;
  }

  void on_tick() {
    if (phase_ == phase::closing)
      return;
    if (heard_ || halted_) {
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
    if (!sent_since_tick_) {
      append_frame(self_->wr_buf(hdl_), wire::frame_type::ping, nullptr, 0);
      flushed(wire::header_size);
    }
    sent_since_tick_ = false;
    set_timer(self_, setup_.opts.heartbeat_interval, tick_atom::value);
  }

  // Moves frames from the outbox to CAF while the write window has room.
  void pump() {
    if (phase_ == phase::closing)
      return;
    auto& buf = self_->wr_buf(hdl_);
    auto before = buf.size();
    while (in_flight_ + (buf.size() - before) < write_window
           && out_.pop_frame(buf))
      ; // nop
    if (buf.size() > before)
      flushed(buf.size() - before);
  }

  void flushed(size_t n) {
    in_flight_ += n;
    sent_since_tick_ = true;
    self_->flush(hdl_);
  }

  bool violation(std::string detail) {
    abuse(misbehaviour::protocol_violation, std::move(detail),
          wire::close_reason::violation);
    return false;
  }

  void abuse(misbehaviour kind, std::string detail, wire::close_reason r) {
    misbehaving ev{address_, {}, kind, detail};
    if (phase_ != phase::identifying)
      ev.peer = peer_;
    self_->send(setup_.handler, std::move(ev));
    close_with(r, wire::to_string(r), to_string(kind) + ": " + detail);
  }

  // Tells the peer why (best effort), closes, and reports `reason` locally.
  void close_with(wire::close_reason r, const std::string& text,
                  std::string reason) {
    if (phase_ == phase::closing)
      return;
    std::string body(1, static_cast<char>(r));
    body += text.substr(0, wire::max_close_text);
    append_frame(self_->wr_buf(hdl_), wire::frame_type::close, body.data(),
                 body.size());
    self_->flush(hdl_);
    finish(std::move(reason));
  }

  void finish(std::string reason) {
    if (phase_ == phase::closing)
      return;
    phase_ = phase::closing;
    self_->close(hdl_);
    self_->send(setup_.service, closed_atom::value, std::move(reason),
                duplicate_);
    self_->quit();
  }

  broker* self_;
  connection_handle hdl_;
  connection_setup setup_;
  std::string address_;
  frame_decoder decoder_;
  inbox in_;
  outbox out_;
  phase phase_ = phase::identifying;
  peer_id peer_;
  std::vector<std::vector<uint8_t>> held_;
  size_t held_bytes_ = 0;
  bool halted_ = false;
  size_t in_flight_ = 0;
  bool heard_ = false;
  bool sent_since_tick_ = false;
  timespan silent_{0};
  std::string closed_by_peer_;
  bool duplicate_ = false;
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
