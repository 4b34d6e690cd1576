// The service's listening part (listening_part.hpp).
#include "actors/service/listening_part.hpp"
#include "actors/service/state.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/atoms.hpp"
#include "actors/listener.hpp"
#include "transports/io/interfaces.hpp"
#include "actors/rudp_engine/engine.hpp"
#include "crust/errors.hpp"

namespace crust {

namespace {

rudp_settings channel_settings(self_ptr self) {
  auto& st = self->state;
  auto& o = st.opts;
  auto s = std::make_shared<datagram_channel::settings>();
  s->static_key = st.static_key;
  s->local = hello{st.id, st.session, false};
  s->network_name = o.network_name;
  s->max_half_open = o.max_half_open;
  s->max_sessions = o.max_connections * 2;
  s->handshake_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
    o.handshake_timeout);
  s->max_message = o.max_frame_size + 64;
  s->rates = flow_rates{double(o.max_bytes_per_sec),
                        double(o.max_records_per_sec)};
  s->ips = st.ips;
  s->flood_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
    o.flood_timeout);
  return s;
}

connection_setup rudp_setup(self_ptr self, uint16_t udp_port,
                            const endpoint& remote, bool inbound) {
  auto& st = self->state;
  auto setup = make_setup(self);
  setup.info.proto = transport::rudp;
  setup.info.inbound = inbound;
  setup.info.local = endpoint{transport::rudp, st.opts.listen_address,
                              udp_port, {}};
  setup.info.remote = remote;
  setup.info.remote.pinned = caf::none;
  return setup;
}

} // namespace

void listening_part::spawn_listener() {
  // A restart keeps its port; a move asks for a new one.
  spawn_listener_on(bound_port_ != 0 ? bound_port_
                                     : self_->state.opts.listen_port);
}

void listening_part::spawn_listener_on(uint16_t port) {
  auto setup = make_setup(self_);
  setup.opts.listen_port = port;
  adopt(self_, child_role::listener,
        self_->home_system().middleman().spawn_broker(listener, setup));
}

void listening_part::announce() {
  auto& st = self_->state;
  listening ev;
  ev.id = st.id;
  auto addrs = reachable_addresses(st.opts.listen_address);
  for (auto& addr : addrs)
    ev.endpoints.push_back(endpoint{transport::tcp, addr, bound_port_, {}});
  if (udp_port_ != 0)
    for (auto& addr : addrs)
      ev.endpoints.push_back(endpoint{transport::rudp, addr, udp_port_, {}});
  fan_out(self_, events::listening_up{ev.endpoints, bound_port_});
  self_->send(st.handler, std::move(ev));
  if (!rotation_)
    start_rotation();
  else if (rotation_->state() == port_rotation::phase::binding)
    rotation_->bound(self_->clock().now());
  arm_rotation();
}

void listening_part::open_rudp(uint16_t port, bool last_try) {
  auto self = self_;
  if (!rudp_)
    rudp_ = rudp_engine_of(self->home_system());
  self->request(rudp_, std::chrono::seconds(10), rudp_open_atom::value,
                self->state.opts.listen_address, port, channel_settings(self))
    .then(
      [this, self](rudp_socket ep, uint16_t bound) {
        // A move leaves the old socket serving its sessions.
        if (auto old = std::exchange(rudp_ep_, ep)) {
          old_rudp_ = old;
          remember(old, udp_port_);
        }
        udp_port_ = bound;
        if (self->state.stopping)
          return close_rudp();
        announce();
      },
      [this, self, last_try](caf::error& err) {
        auto why = error_detail(err).value_or(self->system().render(err));
        if (rudp_ep_ && last_try) {
          // A move: UDP stays where it was.
          self->send(self->state.handler,
                     warning{"reliable UDP stays on port "
                             + std::to_string(udp_port_) + ": " + why});
          return announce();
        }
        if (!last_try) {
          // The TCP port may be taken for UDP, or the engine we asked was
          // just stopping (its last socket closed): a fresh look at both.
          rudp_ = rudp_engine_of(self->home_system());
          return open_rudp(0, true);
        }
        rudp_ = nullptr;
        self->send(self->state.handler,
                   warning{"reliable UDP is off: " + why});
        announce();
      });
}

void listening_part::close_rudp() {
  rudp_ep_ = {};
  // The engine closes our socket, sending what our connections queued
  // last (their CLOSE) before it lets the sessions go, then answers.
  close_and_wait(self_, caf::actor_cast<caf::actor>(std::exchange(rudp_, {})),
                 std::chrono::seconds(2));
}

// Bounded: the engine closed the oldest long ago (an adopted socket once
// its one session ended, a moved one once its last did).
void listening_part::remember(rudp_socket ep, uint16_t port) {
  adopted_.emplace(ep.id, port);
  if (adopted_.size() > 64)
    adopted_.erase(adopted_.begin());
}

bool listening_part::rudp_ready() const {
  return rudp_ && rudp_ep_;
}

void listening_part::stop() {
  auto& st = self_->state;
  if (auto& l = child(self_, child_role::listener))
    self_->send_exit(l, caf::exit_reason::user_shutdown);
  if (rudp_) {
    ++st.closing; // until stop_rudp hands over to close_and_wait
    set_timer(self_, std::chrono::milliseconds(300), stop_rudp_atom::value);
  }
}

void listening_part::on_rudp_inbound(rudp_socket ep, rudp_session session,
                                     const std::string& ip, uint16_t port,
                                     bool punched) {
  auto adopted = adopted_.find(ep.id);
  if ((ep != rudp_ep_ && adopted == adopted_.end()) || self_->state.stopping)
    return;
  auto local_port = adopted == adopted_.end() ? udp_port_ : adopted->second;
  auto setup = rudp_setup(self_, local_port,
                          endpoint{transport::rudp, ip, port, {}}, true);
  if (punched)
    setup.info.from = origin::punched;
  auto hdl = spawn_rudp_connection(self_->home_system(), rudp_, ep, session,
                                   setup);
  register_conn(self_, hdl);
}

void listening_part::adopt_rudp(int fd, const endpoint& target, bool dial,
                                std::function<void(const std::string&)> failed) {
  auto self = self_;
  if (!rudp_ready()) {
    caf::io::network::close_socket(fd);
    return failed("reliable UDP is off");
  }
  auto s = channel_settings(self);
  s->punched = true;
  self
    ->request(rudp_, std::chrono::seconds(5), rudp_adopt_atom::value, fd, s)
    .then(
      [this, self, target, dial, failed](rudp_socket ep, uint16_t port) {
        remember(ep, port);
        if (!dial)
          return;
        self
          ->request(rudp_,
                    self->state.opts.connect_timeout + std::chrono::seconds(5),
                    rudp_dial_atom::value, ep, target, false)
          .then(
            [this, ep, port, target](rudp_session session) {
              on_rudp_session(ep, port, session, target, origin::punched);
            },
            [self, failed](caf::error& err) {
              failed(error_detail(err).value_or(self->system().render(err)));
            });
      },
      [self, fd, failed](caf::error& err) {
        caf::io::network::close_socket(fd);
        failed(error_detail(err).value_or(self->system().render(err)));
      });
}

// A session we dialled is up: its connection actor.
void listening_part::on_rudp_session(rudp_socket ep, uint16_t port,
                                     rudp_session session,
                                     const endpoint& target, origin from) {
  auto self = self_;
  if (self->state.stopping || !rudp_) {
    if (rudp_)
      self->send(rudp_, rudp_end_atom::value, ep, session);
    return;
  }
  auto setup = rudp_setup(self, port, target, false);
  setup.target = target;
  setup.info.from = from;
  register_dialled(self,
                   spawn_rudp_connection(self->home_system(), rudp_, ep,
                                         session, setup),
                   setup);
}

void listening_part::dial_rudp(const endpoint& target, origin from,
                               std::function<void(const std::string&)> failed) {
  auto self = self_;
  if (!rudp_ready())
    return failed("reliable UDP is off");
  auto ep = rudp_ep_;
  self
    ->request(rudp_, self->state.opts.connect_timeout + std::chrono::seconds(5),
              rudp_dial_atom::value, ep, target,
              from == origin::bootstrap_out)
    .then(
      [this, self, ep, target, from](rudp_session session) {
        // Our ports may have moved meanwhile: the old socket serves it.
        auto left = adopted_.find(ep.id);
        if (ep != rudp_ep_ && left == adopted_.end()) {
          self->send(rudp_, rudp_end_atom::value, ep, session);
          return;
        }
        on_rudp_session(ep, ep == rudp_ep_ ? udp_port_ : left->second,
                        session, target, from);
      },
      [self, failed](caf::error& err) {
        failed(error_detail(err).value_or(self->system().render(err)));
      });
}

void listening_part::on_bound(uint16_t port) {
  bool first = bound_port_ == 0;
  bool moving = rotation_ && rotation_->state() == port_rotation::phase::binding;
  if (moving)
    old_tcp_port_ = bound_port_;
  bound_port_ = port;
  if (first || (moving && rudp_))
    open_rudp(bound_port_, false); // then announces where we listen
  else if (moving)
    announce();
}

caf::message_handler listening_part::handlers() {
  auto self = self_;
  return {
    // from the listener: where it listens
    [this, self](bound_atom, uint16_t port) {
      if (self->current_sender() == child(self, child_role::listener))
        on_bound(port);
    },
    // from the rudp engine: a session a peer started
    [this](rudp_inbound_atom, rudp_socket ep, rudp_session session,
           const std::string& ip, uint16_t port, bool punched) {
      on_rudp_inbound(ep, session, ip, port, punched);
    },
    // from the rudp engine: a peer that misbehaved before its connection
    // existed (see datagram_channel::kill)
    [this, self](misbehaving& m) {
      if (self->current_sender() == caf::actor_cast<caf::strong_actor_ptr>(rudp_))
        self->send(self->state.handler, std::move(m));
    },
    // from ourselves: a move of the ports is due, or its grace is over
    [this](rotate_atom) { on_rotate(); },
    // from ourselves: the shutdown's CLOSEs had their moment
    [this, self](stop_rudp_atom) {
      --self->state.closing;
      close_rudp();
      quit_when_done(self);
    },
  };
}

} // namespace crust
