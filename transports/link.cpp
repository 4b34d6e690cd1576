#include "transports/link.hpp"

#include <algorithm>

#include "crust/config.hpp"

namespace crust {

namespace {

// How long a CLOSE on one of two unordered lanes waits for its twin.
constexpr auto close_twin_grace = std::chrono::seconds(1);

} // namespace

link::link(settings s, time_point now)
  : cfg_(std::move(s)),
    in_(cfg_.max_message_size),
    out_(cfg_.send_queue_size, cfg_.max_message_size),
    hs_deadline_(now + cfg_.handshake_timeout),
    next_tick_(now + cfg_.heartbeat_interval) {
  if (cfg_.resumable) {
    ledger_ = std::make_unique<path_ledger>();
    role_ = path_role::current;
  }
}

bool link::slot_idle(uint32_t slot) const {
  if (slot == 0 || slot > slots_.size())
    return true;
  auto& s = slots_[slot - 1];
  return s.queued == 0 && s.left == 0;
}

// -- input from the carrier ---------------------------------------------------

void link::handle_established(const hello& remote) {
  if (phase_ != phase::handshaking)
    return;
  peer_ = remote.id;
  phase_ = phase::negotiating;
  events_.emplace_back(identified{remote});
}

void link::handle_frame(uint8_t lane, const frame_view& f, time_point now) {
  if (phase_ == phase::closed)
    return;
  on_frame(lane, f, now);
}

void link::handle_misbehaviour(misbehaviour kind, std::string detail) {
  if (phase_ != phase::closed)
    abuse(kind, std::move(detail));
}

void link::handle_transport_closed(std::string reason) {
  finish(std::move(reason), false, true);
}

void link::handle_timeout(time_point now) {
  if (hs_deadline_ && now >= *hs_deadline_) {
    hs_deadline_.reset();
    if (phase_ == phase::waiting || phase_ == phase::handshaking
        || phase_ == phase::negotiating)
      abuse(misbehaviour::handshake_timeout,
            "not identified within " + to_text(cfg_.handshake_timeout));
  }
  if (twin_deadline_ && now >= *twin_deadline_) {
    twin_deadline_.reset();
    if (phase_ != phase::closed) {
      closes_seen_ = 3; // the twin is given up on: this CLOSE is final
      auto body = std::move(twin_body_);
      on_close(0, frame_view{wire::frame_type::close, body.data(), body.size()},
               now);
    }
  }
  if (phase_ != phase::closed && now >= next_tick_) {
    on_tick();
    next_tick_ = now + cfg_.heartbeat_interval;
  }
}

// -- input from the node ------------------------------------------------------

bool link::admit() {
  if (phase_ != phase::waiting)
    return false;
  phase_ = phase::handshaking;
  return true;
}

void link::select() {
  if (phase_ != phase::negotiating)
    return;
  queue(0, wire::frame_type::select);
  on_selected();
}

bool link::keep() {
  if (phase_ != phase::undecided)
    return false;
  enter_kept();
  release_held();
  return true;
}

void link::close(wire::close_reason r) {
  close_with(r, wire::to_string(r), wire::to_string(r));
}

void link::close(wire::close_reason r, std::string reason) {
  close_with(r, wire::to_string(r), std::move(reason));
}

void link::ask_peers() {
  if (phase_ != phase::kept || asked_peers_)
    return;
  asked_peers_ = true;
  queue(0, wire::frame_type::peers_request);
}

void link::send_peers(const std::vector<uint8_t>& sample) {
  if (phase_ == phase::kept
      && sample.size() <= secure_channel::max_body(wire::min_record_size))
    queue(0, wire::frame_type::peers, sample);
}

void link::send_endpoints(const std::vector<std::string>& endpoints) {
  auto body = wire::encode_endpoints(endpoints);
  if (phase_ == phase::kept && body[0] > 0)
    queue(0, wire::frame_type::endpoints, std::move(body));
}

// A kept peer's ports moved. Heard at most once a second (each may cost
// the node a write of its cache); before keep, ignored like every word
// of a peer we may still drop. A malformed body is a violation: the
// sender builds it from bounds it knows.
bool link::on_endpoints(const frame_view& f, time_point now) {
  auto entries = wire::decode_endpoints(f.body, f.size);
  if (!entries)
    return violation("malformed ENDPOINTS frame");
  if (phase_ != phase::kept
      || (last_endpoints_
          && now - *last_endpoints_
               < std::chrono::milliseconds(wire::endpoints_min_interval_ms)))
    return true;
  last_endpoints_ = now;
  events_.emplace_back(endpoints_heard{std::move(*entries)});
  return true;
}

errc link::send(priority prio, std::vector<uint8_t>&& bytes, uint32_t slot) {
  if (phase_ != phase::kept || role_ == path_role::parked)
    return errc::not_kept;
  auto size = bytes.size();
  auto err = out_.push(prio, std::move(bytes), slot);
  if (err == errc::none && slot != 0) {
    if (slots_.size() < slot)
      slots_.resize(slot);
    slots_[slot - 1].queued += size;
  }
  return err;
}

// -- output -------------------------------------------------------------------

bool link::poll_control(control_frame& out) {
  if (control_head_ == control_.size()) {
    control_.clear();
    control_head_ = 0;
    return false;
  }
  out = std::move(control_[control_head_++]);
  return true;
}

std::optional<link::time_point> link::poll_timeout() const {
  if (phase_ == phase::closed)
    return std::nullopt;
  auto t = next_tick_;
  if (hs_deadline_)
    t = std::min(t, *hs_deadline_);
  if (twin_deadline_)
    t = std::min(t, *twin_deadline_);
  return t;
}

std::optional<link::event> link::poll_event() {
  if (events_head_ < events_.size())
    return std::move(events_[events_head_++]);
  events_.clear();
  events_head_ = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto& s = slots_[i];
    if (s.left == 0)
      continue;
    sent ev{static_cast<uint32_t>(i + 1), s.left};
    s.left = 0;
    return ev;
  }
  return std::nullopt;
}

// -- what frames mean (docs/PROTOCOL.md) ----------------------------------------

// False once the link is closed.
bool link::on_frame(uint8_t lane, const frame_view& f, time_point now) {
  using ft = wire::frame_type;
  switch (f.type) {
    case ft::select:
      if (phase_ != phase::negotiating || cfg_.local_id < *peer_)
        return violation("SELECT from the peer that does not lead");
      on_selected();
      if (phase_ == phase::closed)
        return false;
      events_.emplace_back(selected_by_peer{});
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
      if (now - last_sample_
          >= std::chrono::seconds(wire::exchange_min_interval_seconds)) {
        last_sample_ = now;
        sample_wanted_ = true;
        if (phase_ == phase::kept) {
          sample_wanted_ = false;
          events_.emplace_back(peers_requested{});
        }
      }
      return true;
    case ft::observed:
      // Once per connection: where the peer sees us, for address
      // discovery (the node weighs it; a peer may lie).
      if (!heard_observed_ && f.size <= wire::max_observed_size) {
        heard_observed_ = true;
        events_.emplace_back(observed{
          std::string(reinterpret_cast<const char*>(f.body), f.size)});
      }
      return true;
    case ft::endpoints:
      return on_endpoints(f, now);
    case ft::peers:
      // Only the one answer we asked for.
      if (asked_peers_) {
        asked_peers_ = false;
        events_.emplace_back(
          peers_received{std::vector<uint8_t>(f.body, f.body + f.size)});
      }
      return true;
    case ft::close:
      return on_close(lane, f, now);
    case ft::forward:
    case ft::forwarded:
    case ft::forward_failed:
      return on_forwarding(f, now);
    case ft::circuit_open:
    case ft::circuit_opened:
    case ft::circuit_incoming:
    case ft::circuit_data:
    case ft::circuit_credit:
    case ft::circuit_close:
      return on_circuit(f);
    case ft::path_resume:
    case ft::path_ack:
      return on_path_frame(f);
  }
  return violation("unexpected frame");
}

// Over unordered lanes a CLOSE is final once it came on both, or on one
// and the grace for the other passed: the data sent before it on the
// other lane still arrives.
bool link::on_close(uint8_t lane, const frame_view& f, time_point now) {
  if (cfg_.lanes_unordered) {
    closes_seen_ |= static_cast<uint8_t>(1u << (lane & 1));
    if (closes_seen_ != 3) {
      if (!twin_deadline_) {
        twin_deadline_ = now + close_twin_grace;
        twin_body_.assign(f.body, f.body + f.size);
      }
      return true;
    }
  }
  auto n = std::min(f.size, wire::max_close_text + 1);
  std::string why = "closed by the peer";
  if (n > 1)
    why += ": " + std::string(reinterpret_cast<const char*>(f.body) + 1, n - 1);
  // The leader kept another connection to us: not a failure.
  bool duplicate
    = f.size > 0
      && f.body[0] == static_cast<uint8_t>(wire::close_reason::duplicate);
  // The peer left this path for another one of the same connection.
  bool moved
    = f.size > 0 && f.body[0] == static_cast<uint8_t>(wire::close_reason::moved);
  finish(std::move(why), duplicate, moved);
  if (auto c = std::get_if<closed>(&events_.back()))
    c->by_peer = true;
  return false;
}

// The connection lives: tell the peer the address we see it at.
void link::on_selected() {
  phase_ = phase::undecided;
  hs_deadline_.reset();
  queue(0, wire::frame_type::observed,
        std::vector<uint8_t>(cfg_.address.begin(), cfg_.address.end()));
  // Over unordered lanes, DATA on the normal lane may overtake SELECT.
  auto early = std::move(early_);
  early_.clear();
  early_bytes_ = 0;
  for (auto& body : early)
    if (!on_data(frame_view{wire::frame_type::data, body.data(), body.size()}))
      return;
}

bool link::on_data(const frame_view& f) {
  if (cfg_.lanes_unordered && phase_ == phase::negotiating) {
    // The leader selected already (it only sends data once it has), so
    // SELECT is on its way on the other lane. Held, within the undecided
    // allowance.
    early_bytes_ += f.size;
    if (early_bytes_ > cfg_.undecided_buffer_size)
      return violation("DATA before the connection was selected");
    early_.emplace_back(f.body, f.body + f.size);
    return true;
  }
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
  if (phase_ == phase::kept)
    return take_message(lane, std::move(msg));
  // Undecided: hold messages until keep.
  return hold(lane, std::move(msg));
}

// Undecided -> kept: a peer that asked for our sample before is answered.
void link::enter_kept() {
  phase_ = phase::kept;
  if (sample_wanted_) {
    sample_wanted_ = false;
    events_.emplace_back(peers_requested{});
  }
}

// What was held goes on as if it arrived now.
void link::release_held() {
  auto held = std::move(held_);
  held_.clear();
  held_bytes_ = 0;
  halted_ = false;
  for (auto& [lane, bytes] : held)
    take_message(lane, std::move(bytes));
}

// Held until keep or a join, and reading stops when the allowance is used
// up (the carrier then pushes back on the peer).
bool link::hold(priority lane, std::vector<uint8_t>&& msg) {
  held_bytes_ += msg.size();
  held_.emplace_back(lane, std::move(msg));
  if (held_bytes_ >= cfg_.undecided_buffer_size)
    halted_ = true;
  return true;
}

void link::on_tick() {
  if (heard_ || halted_ || paused_ || phase_ == phase::waiting) {
    silent_ = caf::timespan{0};
  } else {
    silent_ += cfg_.heartbeat_interval;
    if (silent_ >= cfg_.heartbeat_timeout) {
      close_with(wire::close_reason::timeout, "heartbeat timeout",
                 "no heartbeat for " + to_text(silent_));
      if (!events_.empty())
        if (auto c = std::get_if<closed>(&events_.back()))
          c->carrier_lost = true;
      return;
    }
  }
  heard_ = false;
  resumed_in_place_ = false;
  if (ledger_ && role_ == path_role::current && ledger_->ack_owed())
    queue_ack();
  if (!sent_since_tick_ && peer_)
    queue(0, wire::frame_type::ping);
  sent_since_tick_ = false;
}

// -- closing ------------------------------------------------------------------

bool link::violation(std::string detail) {
  abuse(misbehaviour::protocol_violation, std::move(detail));
  return false;
}

void link::abuse(misbehaviour kind, std::string detail) {
  misbehaving report{cfg_.address, {}, kind, detail};
  if (peer_)
    report.peer = *peer_;
  events_.emplace_back(abused{std::move(report)});
  auto r = kind == misbehaviour::handshake_timeout
             ? wire::close_reason::timeout
             : wire::close_reason::violation;
  close_with(r, wire::to_string(r), to_string(kind) + ": " + detail);
}

// Tells an authenticated peer why, closes, and reports `reason` locally.
// Peers that never authenticated hear nothing (silence to strangers).
void link::close_with(wire::close_reason r, const std::string& text,
                      std::string reason) {
  if (phase_ == phase::closed)
    return;
  if (peer_) {
    std::vector<uint8_t> body{static_cast<uint8_t>(r)};
    auto said = text.substr(0, wire::max_close_text);
    body.insert(body.end(), said.begin(), said.end());
    queue(0, wire::frame_type::close, body);
    if (cfg_.lanes_unordered) // also behind the normal lane's data
      queue(1, wire::frame_type::close, std::move(body));
  }
  finish(std::move(reason));
}

void link::finish(std::string reason, bool duplicate, bool carrier_lost) {
  if (phase_ == phase::closed)
    return;
  phase_ = phase::closed;
  events_.emplace_back(closed{std::move(reason), duplicate, carrier_lost});
}

void link::queue(uint8_t lane, wire::frame_type t, std::vector<uint8_t> body) {
  control_.push_back(control_frame{lane, t, std::move(body)});
  sent_since_tick_ = true;
}

void link::took(const chunk_view& c) {
  if (c.tag == 0)
    return;
  auto& s = slots_[c.tag - 1];
  s.queued -= c.size;
  s.left += c.size;
}

} // namespace crust
