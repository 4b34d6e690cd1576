// The link's part in moving a connection between paths (docs/PROTOCOL.md,
// "Moving a connection"): PATH_RESUME and PATH_ACK, leave() and join(),
// and what a message that arrives means in each path role (link.hpp).
#include "transports/bytes.hpp"
#include "transports/link.hpp"

namespace crust {

namespace {

std::vector<uint8_t> counts_body(const path_ledger::counts& x) {
  std::vector<uint8_t> body;
  bytes::put<uint64_t>(body, x[0]);
  bytes::put<uint64_t>(body, x[1]);
  return body;
}

} // namespace

bool link::on_path_frame(const frame_view& f) {
  bool ack = f.type == wire::frame_type::path_ack;
  if (f.size != wire::path_counts_size)
    return violation(ack ? "malformed PATH_ACK frame"
                         : "malformed PATH_RESUME frame");
  path_ledger::counts x{bytes::get<uint64_t>(f.body),
                        bytes::get<uint64_t>(f.body + 8)};
  if (ack) {
    if (ledger_) {
      bool blocked = !ledger_->may_send();
      if (!ledger_->confirm(x))
        return violation("PATH_ACK confirms messages never sent");
      if (blocked && ledger_->may_send())
        events_.emplace_back(unblocked{});
      return true;
    }
    // A parked path's late ACK: the next path's ACKs say the same.
    if (role_ == path_role::parked)
      return true;
    return violation("PATH_ACK on a connection that does not move");
  }
  if (phase_ != phase::undecided && phase_ != phase::kept)
    return violation("PATH_RESUME before the connection was selected");
  if (role_ == path_role::current && !peer_first_) {
    in_.drop_partial();
    return resume_in_place(x);
  }
  if (peer_first_ || (role_ == path_role::sole && phase_ == phase::kept))
    return violation("PATH_RESUME on a path in use");
  peer_first_ = x;
  drop_until_resume_ = false;
  // What the peer had begun here before it left is sent again whole.
  in_.drop_partial();
  switch (role_) {
    case path_role::parked:
      events_.emplace_back(resume_heard{});
      return true;
    case path_role::joining:
      return become_current();
    default: // a new path, waiting for our join
      return true;
  }
}

// A whole message from a kept peer, by path role (link.hpp).
bool link::take_message(priority lane, std::vector<uint8_t>&& msg) {
  switch (role_) {
    case path_role::sole:
      events_.emplace_back(delivered{std::move(msg)});
      return true;
    case path_role::current:
      if (ledger_->received(static_cast<uint8_t>(lane), msg.size()))
        events_.emplace_back(delivered{std::move(msg)});
      if (ledger_->ack_due())
        queue_ack();
      return true;
    case path_role::joining:
    case path_role::parked:
      if (drop_until_resume_)
        return true; // sent before the peer moved: on its new path too
      return hold(lane, std::move(msg));
  }
  return true;
}

// The peer moved back to the path we never left: its new path died
// before we moved there. We start over here too (our unconfirmed
// messages again, after a PATH_RESUME of our own), once per heartbeat
// tick at most: each costs us a resend of up to the unconfirmed bound.
bool link::resume_in_place(const path_ledger::counts& x) {
  if (resumed_in_place_)
    return violation("PATH_RESUME again on a path in use");
  auto h = leave();
  peer_first_ = x;
  drop_until_resume_ = false;
  if (!join(*h))
    return false;
  resumed_in_place_ = true;
  return phase_ != phase::closed;
}

// Both sides said where they start: what was held is delivered (less
// what came before on the old path).
bool link::become_current() {
  if (!ledger_->resume(*peer_first_))
    return violation("PATH_RESUME leaves out messages");
  peer_first_.reset();
  role_ = path_role::current;
  release_held();
  return phase_ != phase::closed;
}

std::optional<path_ledger::handover> link::leave() {
  if (!ledger_)
    return std::nullopt;
  // Whatever was queued leaves with the next path: its senders hear it
  // went (the next path's window takes it without asking).
  for (auto& s : slots_) {
    s.left += s.queued;
    s.queued = 0;
  }
  auto h = ledger_->leave(out_.take_all());
  ledger_.reset();
  role_ = path_role::parked;
  peer_first_.reset();
  drop_until_resume_ = true;
  held_.clear();
  held_bytes_ = 0;
  halted_ = false;
  return h;
}

bool link::join(path_ledger::handover& h) {
  if (phase_ == phase::closed)
    return false;
  bool fresh = role_ == path_role::sole && phase_ == phase::undecided;
  if (!fresh && role_ != path_role::parked)
    return false;
  if (fresh)
    enter_kept();
  ledger_ = std::make_unique<path_ledger>(h);
  for (size_t l = 0; l < 2; ++l)
    for (auto& m : h.out[l])
      out_.push_moved(static_cast<priority>(l), std::move(m));
  queue(0, wire::frame_type::path_resume, counts_body(h.first));
  role_ = path_role::joining;
  if (peer_first_)
    return become_current();
  return true;
}

void link::pop_chunk() {
  if (!ledger_) {
    out_.pop();
    return;
  }
  chunk_view c;
  out_.peek(c);
  std::vector<uint8_t> done;
  out_.pop(&done);
  if ((c.flags & wire::flag_last) != 0)
    ledger_->sent((c.flags & wire::flag_normal) != 0 ? 1 : 0, std::move(done));
}

void link::queue_ack() {
  queue(0, wire::frame_type::path_ack, counts_body(ledger_->take_ack()));
}

} // namespace crust
