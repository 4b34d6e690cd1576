#include "actors/connection/link_host.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "actors/respond.hpp"
#include "actors/timer.hpp"
#include "crust/errors.hpp"

namespace crust {

link_host::link_host(caf::scheduled_actor* self, connection_setup setup,
                     link::settings ls)
  : self_(self), setup_(std::move(setup)), link_(std::move(ls), self->clock().now()) {
  // nop
}

link::settings link_host::settings_for(const connection_setup& s) {
  link::settings ls;
  ls.local_id = s.local_id;
  ls.max_message_size = s.opts.max_message_size;
  ls.send_queue_size = s.opts.send_queue_size;
  ls.undecided_buffer_size = s.opts.undecided_buffer_size;
  ls.handshake_timeout = s.opts.handshake_timeout;
  ls.heartbeat_interval = s.opts.heartbeat_interval;
  ls.heartbeat_timeout = s.opts.heartbeat_timeout;
  return ls;
}

void link_host::announce() {
  // Not a byte is read (nor a handshake computed) before the service
  // admits this connection.
  tell(setup_.service, conn_up_atom::value, setup_.info);
  arm_timer();
}

// -- from the application (or the service, delegating) -------------------------

void link_host::on_send(send& cmd) {
  // Where the connection runs now: an anchor's path (the sender's answer
  // and its `sent` come from there), or a path's anchor once the path
  // gave the connection back (bounced, ahead of what the anchor holds).
  if (path_) {
    self_->delegate(path_, std::move(cmd));
    return;
  }
  auto rp = self_->make_response_promise();
  if (anchor_ && handed_back_) {
    rp.delegate(anchor_, path_bounce_atom::value, std::move(cmd));
    return;
  }
  if (fence_from_) {
    // Sends the old path may still pass back go first.
    if (fenced_bytes_ + cmd.bytes.size() > setup_.opts.send_queue_size)
      return refuse(cmd, rp, errc::send_queue_full);
    fenced_bytes_ += cmd.bytes.size();
    fenced_.emplace_back(std::move(rp), std::move(cmd));
    return;
  }
  accept_send(cmd, rp);
}

void link_host::accept_send(send& cmd, caf::response_promise& rp) {
  if (link_.state() != link::phase::kept)
    return refuse(cmd, rp, errc::not_kept);
  auto slot = plain_slot(rp);
  if (auto err = link_.send(cmd.prio, std::move(cmd.bytes), slot);
      err != errc::none) {
    release_if_idle(slot);
    return refuse(cmd, rp, err);
  }
  schedule_pump();
  if (!rp.async())
    rp.deliver(caf::ok_atom::value);
}

// A request hears the error; a plain send gets its bytes back in
// send_failed, at its sender or (anonymous) at the handler.
void link_host::refuse(send& cmd, caf::response_promise& rp, errc why) {
  if (!rp.async())
    return rp.deliver(make_error(why));
  auto to = rp.source() ? caf::actor_cast<caf::actor>(rp.source())
                        : setup_.handler;
  tell(to, send_failed{cmd.peer, std::move(cmd.bytes), make_error(why)});
}

// Sealed once the sends queued behind this one are in as well: small
// messages sent together then share records.
void link_host::schedule_pump() {
  if (!pump_pending_) {
    pump_pending_ = true;
    tell(caf::actor_cast<caf::actor>(self_), pump_atom::value);
  }
}

// -- from ourselves -------------------------------------------------------------

void link_host::on_pump() {
  pump_pending_ = false;
  pump();
  drain();
}

void link_host::on_link_timeout(int64_t at) {
  if (armed_ && armed_->time_since_epoch().count() == at)
    armed_.reset();
  link_.handle_timeout(self_->clock().now());
  drain();
}

// -- from the service -----------------------------------------------------------

void link_host::on_admit() {
  if (!link_.admit())
    return;
  on_admitted();
  drain();
}

void link_host::on_select() {
  link_.select();
  drain();
}

void link_host::on_kept() {
  if (!link_.keep())
    return;
  drain();
  resume_reading();
}

void link_host::on_close(uint8_t reason) {
  // An anchor's connection ends on its path too.
  to_path(close_atom::value, reason);
  link_.close(static_cast<wire::close_reason>(reason));
  drain();
}

// -- moving between paths -------------------------------------------------------

void link_host::on_path_leave(const caf::actor& to) {
  if (anchor_) {
    // A path: the peer moved back to the relay; so do we, and this path
    // closes.
    hand_back();
    link_.close(wire::close_reason::moved);
    drain();
    return;
  }
  // An anchor: the service found it a path (after the fence, if one is
  // up: what the old path passes back goes first).
  if (fence_from_) {
    leave_after_fence_ = to;
    return;
  }
  if (!to || to == path_)
    return;
  if (path_) {
    // Another path replaces ours: ours gives the connection back first
    // (after its fence, we move on).
    leave_after_fence_ = to;
    tell(path_, path_leave_atom::value, caf::actor_cast<caf::actor>(self_));
    return;
  }
  auto h = link_.leave();
  if (!h)
    return;
  path_ = to;
  tell(to, path_join_atom::value, std::make_shared<path_ledger::handover>(
                                    std::move(*h)),
       caf::actor_cast<caf::actor>(self_));
  tell(setup_.service, path_atom::value, true);
  on_moved();
  drain();
}

void link_host::on_path_join(handover_ptr h, const caf::actor& from) {
  if (!h)
    return;
  if (path_ && from == path_) {
    // An anchor: our path gave the connection back. Sends it still has
    // come back before any we take from now on (the fence).
    path_ = nullptr;
    tell(from, path_fence_atom::value);
    if (!link_.join(*h))
      return lose_connection("the direct path ended and no relay is left");
    fence_from_ = from;
    self_->monitor(from); // its end is the fence too
    tell(setup_.service, path_atom::value, false);
    drain();
    schedule_pump();
    resume_reading();
    return;
  }
  if (anchor_ || !link_.join(*h)) {
    // Not a path that can carry it (closed, or in use): back it goes.
    tell(from, path_join_atom::value, std::move(h),
         caf::actor_cast<caf::actor>(self_));
    return;
  }
  anchor_ = from;
  drain();
  schedule_pump();
  resume_reading();
}

void link_host::on_path_fence() {
  auto from = self_->current_sender();
  if (anchor_ && from == anchor_.address()) {
    // A path: the anchor sends us nothing more; our carrier may go.
    fence_seen_ = true;
    tell(anchor_, path_fence_atom::value);
    if (std::exchange(release_after_fence_, false))
      on_closed();
    return;
  }
  if (from == nullptr) {
    // Our timer: a path whose anchor never fenced (gone) waits no more.
    if (std::exchange(release_after_fence_, false))
      on_closed();
    return;
  }
  if (!fence_from_ || from != fence_from_.address())
    return;
  end_fence();
}

void link_host::on_down(const caf::actor_addr& who) {
  if (fence_from_ && who == fence_from_.address())
    end_fence();
}

// An anchor: the old path passed back all it had; the held sends go
// now, in order.
void link_host::end_fence() {
  fence_from_ = nullptr;
  auto held = std::move(fenced_);
  fenced_.clear();
  fenced_bytes_ = 0;
  for (auto& [rp, cmd] : held)
    accept_send(cmd, rp);
  if (auto to = std::exchange(leave_after_fence_, nullptr))
    on_path_leave(to);
}

void link_host::hand_back() {
  if (!anchor_ || handed_back_)
    return;
  handed_back_ = true;
  auto h = link_.leave();
  if (!h)
    return;
  tell(anchor_, path_join_atom::value,
       std::make_shared<path_ledger::handover>(std::move(*h)),
       caf::actor_cast<caf::actor>(self_));
}

void link_host::lose_connection(const std::string& why) {
  path_ = nullptr;
  if (!link_.is_closed()) {
    link_.close(wire::close_reason::normal, why);
    drain();
    return;
  }
  auto reason = outlived_ ? why + " (" + outlived_->reason + ")" : why;
  outlived_.reset();
  tell(setup_.service, closed_atom::value, std::move(reason), false);
  on_closed();
}

bool link_host::on_link_closed(link::closed& x) {
  if (anchor_ && !handed_back_) {
    if (x.carrier_lost) {
      hand_back(); // the anchor carries on over the relay
    } else {
      // The peer ended the connection here, or broke a rule: it ends.
      handed_back_ = true;
      tell(anchor_, path_end_atom::value, x.reason);
    }
  }
  if (!path_)
    return true;
  // An anchor whose path carries the connection: the circuit goes, the
  // actor stays. The peer's CLOSE ends the path too (a close of ours
  // went there already: on_close); anything else here (the relay broke
  // a rule, the circuit died) is only the relay's loss.
  if (x.by_peer && !x.carrier_lost)
    tell(path_, close_atom::value,
         static_cast<uint8_t>(wire::close_reason::normal));
  outlived_ = std::move(x);
  release_carrier();
  return false;
}

void link_host::on_exchange() {
  link_.ask_peers();
  drain();
}

void link_host::on_peers(const std::vector<uint8_t>& sample) {
  link_.send_peers(sample);
  drain();
}

// -- to the carrier, the service and the application ----------------------------

void link_host::drain() {
  write_control();
  while (auto ev = link_.poll_event())
    dispatch(*ev);
  arm_timer();
}

void link_host::dispatch(link::event& ev) {
  auto& peer = link_.peer();
  std::visit(
    [&](auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, link::delivered>) {
        tell(setup_.handler, message{*peer, std::move(x.bytes)});
      } else if constexpr (std::is_same_v<T, link::sent>) {
        auto& who = plain_[x.slot - 1];
        tell(caf::actor_cast<caf::actor>(who), crust::sent{*peer, x.bytes});
        release_if_idle(x.slot);
      } else if constexpr (std::is_same_v<T, link::identified>) {
        tell(setup_.service, hello_atom::value, x.remote.id, x.remote.session,
             x.remote.bootstrapping);
      } else if constexpr (std::is_same_v<T, link::selected_by_peer>) {
        tell(setup_.service, selected_atom::value);
      } else if constexpr (std::is_same_v<T, link::peers_requested>) {
        tell(setup_.service, peers_request_atom::value);
      } else if constexpr (std::is_same_v<T, link::peers_received>) {
        tell(setup_.service, peers_atom::value, std::move(x.sample));
      } else if constexpr (std::is_same_v<T, link::observed>) {
        tell(setup_.service, observed_atom::value, std::move(x.address));
      } else if constexpr (std::is_same_v<T, link::endpoints_heard>) {
        tell(setup_.service, endpoints_atom::value, std::move(x.endpoints));
      } else if constexpr (std::is_same_v<T, link::forward_requested>) {
        tell(setup_.service, forward_atom::value, x.to, std::move(x.payload));
      } else if constexpr (std::is_same_v<T, link::forwarded>) {
        tell(setup_.service, forwarded_atom::value, x.from,
             std::move(x.payload));
      } else if constexpr (std::is_same_v<T, link::forward_failed>) {
        tell(setup_.service, forward_failed_atom::value, x.to,
             static_cast<uint8_t>(x.why), std::move(x.context));
      } else if constexpr (std::is_same_v<T, link::circuit_open_requested>) {
        tell(setup_.service, circ_open_atom::value, x.id, x.to);
      } else if constexpr (std::is_same_v<T, link::circuit_opened>) {
        auto l = encode(x.limits);
        tell(route(x.id), circ_opened_atom::value, x.id, x.credit,
             std::vector<uint8_t>(l.begin(), l.end()));
      } else if constexpr (std::is_same_v<T, link::circuit_incoming>) {
        auto l = encode(x.limits);
        tell(setup_.service, circ_in_atom::value, x.id, x.from, x.credit,
             std::vector<uint8_t>(l.begin(), l.end()));
      } else if constexpr (std::is_same_v<T, link::circuit_data>) {
        tell(route(x.id), circ_data_atom::value, x.id, std::move(x.bytes));
      } else if constexpr (std::is_same_v<T, link::circuit_credit>) {
        tell(route(x.id), circ_credit_atom::value, x.id, x.bytes);
      } else if constexpr (std::is_same_v<T, link::circuit_closed>) {
        auto to = route(x.id);
        routes_.erase(x.id);
        tell(to, circ_close_atom::value, x.id, static_cast<uint8_t>(x.why));
      } else if constexpr (std::is_same_v<T, link::abused>) {
        tell(setup_.handler, std::move(x.report));
      } else if constexpr (std::is_same_v<T, link::unblocked>) {
        schedule_pump();
      } else if constexpr (std::is_same_v<T, link::resume_heard>) {
        // The peer moved back to this (parked) path: our path gives the
        // connection back here too.
        if (path_)
          tell(path_, path_leave_atom::value,
               caf::actor_cast<caf::actor>(self_));
      } else if constexpr (std::is_same_v<T, link::closed>) {
        // The circuits we carried are gone with us.
        for (auto& [id, to] : routes_)
          tell(to, circ_close_atom::value, id,
               static_cast<uint8_t>(circuit_reason::end_lost));
        routes_.clear();
        if (!on_link_closed(x))
          return;
        tell(setup_.service, closed_atom::value, std::move(x.reason),
             x.duplicate);
        if (anchor_ && !fence_seen_) {
          // A path: sends delegated to us before the anchor knew still
          // come; we pass them back until its fence (or a bound).
          release_after_fence_ = true;
          set_timer(self_, std::chrono::seconds(5), path_fence_atom::value);
          return;
        }
        on_closed();
      }
    },
    ev);
}

caf::actor link_host::route(uint32_t id) const {
  auto i = routes_.find(id);
  return i != routes_.end() ? i->second : setup_.service;
}

// The timer message names its deadline (the link checks the time).
void link_host::arm_timer() {
  auto due = link_.poll_timeout();
  auto at = due ? static_cast<int64_t>(due->time_since_epoch().count()) : 0;
  arm_deadline(self_, armed_, due, self_->clock().now(),
               link_timeout_atom::value, at);
}

// The slot of a send's sender if it is a plain send, or 0.
uint32_t link_host::plain_slot(const caf::response_promise& rp) {
  if (!rp.async() || rp.source() == nullptr)
    return 0;
  auto free = plain_.size();
  for (size_t i = 0; i < plain_.size(); ++i) {
    if (plain_[i] == rp.source())
      return static_cast<uint32_t>(i + 1);
    if (!plain_[i])
      free = i;
  }
  if (free == plain_.size())
    plain_.emplace_back();
  plain_[free] = rp.source();
  return static_cast<uint32_t>(free + 1);
}

void link_host::release_if_idle(uint32_t slot) {
  if (slot != 0 && link_.slot_idle(slot))
    plain_[slot - 1] = nullptr;
}

} // namespace crust
