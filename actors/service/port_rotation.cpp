// The listening part's moves (listening_part.hpp; docs/DESIGN.md,
// "Moving ports"): node/port_rotation says when; this file carries a move
// out. A move spawns a new listener on a random port (the old one is
// taken out of supervision but keeps accepting), opens a new UDP socket
// on the same number where free (open_rudp: the old socket keeps serving
// its sessions), and announces the new endpoints: the application hears
// `listening` again, the NAT part maps the new port before the old
// mapping goes and tells kept peers (ENDPOINTS), the beacon announces
// them. When the grace is over the old listener stops, the old UDP
// socket closes once its last session ended, and the old port's mapping
// goes last (ports_retired). Live connections never notice: each owns
// its socket (TCP) or its session (UDP), not the listener.
#include "actors/service/listening_part.hpp"
#include "actors/service/state.hpp"

#include <caf/all.hpp>

#include "actors/timer.hpp"

namespace crust {

// After the first announce. A fixed port never moves: whoever configured
// it (a contact's address, a firewall rule) counts on it.
void listening_part::start_rotation() {
  auto& o = self_->state.opts;
  port_rotation::settings s;
  if (o.listen_port == 0)
    s.interval = o.rotate_ports_interval;
  s.grace = o.rotate_ports_grace;
  rotation_.emplace(s, self_->clock().now(), unit_random());
}

void listening_part::arm_rotation() {
  if (rotation_)
    arm_deadline(self_, rotation_armed_, rotation_->deadline(),
                 self_->clock().now(), rotate_atom::value);
}

// (The machine checks the time: a timer for a deadline that moved does
// nothing.)
void listening_part::on_rotate() {
  rotation_armed_.reset();
  if (!rotation_ || self_->state.stopping)
    return;
  auto now = self_->clock().now();
  if (rotation_->due(now))
    begin_move();
  else if (rotation_->drain_over(now))
    end_move();
  arm_rotation();
}

void listening_part::begin_move() {
  auto self = self_;
  auto& st = self->state;
  auto& current = child(self, child_role::listener);
  if (!current || !bound_port_) { // restarting: the next one moves
    rotation_->begin();
    rotation_->failed(self->clock().now(), unit_random());
    return;
  }
  rotation_->begin();
  // The old listener leaves supervision (its end is no failure) but stays
  // among the children, which the service stops when it stops.
  old_listener_ = std::exchange(current, caf::actor{});
  st.child_roles.erase(old_listener_.address());
  self->demonitor(old_listener_);
  spawn_listener_on(0); // bound_atom goes on in on_bound
}

void listening_part::end_move() {
  auto self = self_;
  auto& st = self->state;
  if (old_listener_) {
    st.children->erase(old_listener_);
    self->send_exit(old_listener_, caf::exit_reason::user_shutdown);
    old_listener_ = nullptr;
  }
  if (old_rudp_ && rudp_)
    self->send(rudp_, rudp_retire_atom::value, std::exchange(old_rudp_, {}));
  if (old_tcp_port_ != 0)
    fan_out(self, events::ports_retired{std::exchange(old_tcp_port_, 0)});
  rotation_->drained(self->clock().now(), unit_random());
}

} // namespace crust
