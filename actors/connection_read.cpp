// What arrives on a connection: the flood gate before decryption, the
// secure channel, and what each frame means (docs/PROTOCOL.md).
#include "actors/connection_core.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "actors/timer.hpp"

namespace crust {

using namespace caf;

void connection_core::on_bytes(const std::vector<char>& buf) {
  sock_.consumed(buf.size());
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

void connection_core::answer_sample() {
  if (sample_wanted_ && phase_ == phase::kept) {
    sample_wanted_ = false;
    self_->send(setup_.service, peers_request_atom::value);
  }
}

// Defence before decryption: a peer over its rate waits (TCP pushes
// back); one that stays over it is a flood.
void connection_core::throttle(flood_gate::verdict v) {
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
void connection_core::update_reading() {
  if (rudp_)
    return rudp_pause(halted_ && phase_ != phase::closing);
  if (phase_ != phase::closing && admitted_ && !halted_ && !throttled_)
    sock_.arm();
}

// Runs the channel over what was fed, up to the next need for bytes.
void connection_core::decode() {
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
bool connection_core::on_frame(const frame_view& f) {
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
    case ft::batch: {
      // Judged whole before any item counts: a bad batch delivers nothing.
      frame_view item{ft::data, nullptr, 0};
      size_t n = 0;
      wire::batch_reader check{f.body, f.size};
      while (check.next(item.body, item.size))
        ++n;
      if (n == 0 || check.malformed())
        return violation("malformed BATCH frame");
      wire::batch_reader items{f.body, f.size};
      while (items.next(item.body, item.size))
        if (!on_data(item))
          return false;
      return true;
    }
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
      if (rudp_ && !rudp_closed(rudp_stream_, f))
        return true; // waiting for the CLOSE on the other stream
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
void connection_core::selected() {
  phase_ = phase::undecided;
  send_frame(wire::frame_type::observed, address_.data(), address_.size());
  // Over rudp, DATA on the normal lane's stream may overtake SELECT.
  auto early = std::move(early_);
  early_.clear();
  early_bytes_ = 0;
  for (auto& body : early)
    if (!on_data(frame_view{wire::frame_type::data, body.data(), body.size()}))
      return;
}

bool connection_core::on_data(const frame_view& f) {
  if (rudp_ && phase_ == phase::negotiating)
    return rudp_early(f);
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

} // namespace crust
