// The service's reliable-UDP side: its socket in the process's rudp engine
// (the TCP listener's port when free), dials over rudp, TCP's fallback to
// it (or the other way round with crust.prefer-transport=udp), and the
// connection brokers for sessions peers start.
#include "actors/service/state.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/atoms.hpp"
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

void announce(self_ptr self) {
  auto& st = self->state;
  listening ev;
  ev.id = st.id;
  auto addrs = reachable_addresses(st.opts.listen_address);
  for (auto& addr : addrs)
    ev.endpoints.push_back(endpoint{transport::tcp, addr, st.bound_port, {}});
  if (st.udp_port != 0)
    for (auto& addr : addrs)
      ev.endpoints.push_back(endpoint{transport::rudp, addr, st.udp_port, {}});
  start_beacon(self, ev.endpoints);
  self->send(st.handler, std::move(ev));
  st.nat->start(st.bound_port);
}

void open_on(self_ptr self, uint16_t port, bool last_try) {
  auto& st = self->state;
  self->request(st.rudp, std::chrono::seconds(10), rudp_open_atom::value,
                st.opts.listen_address, port, channel_settings(self))
    .then(
      [=](rudp_socket ep, uint16_t bound) {
        auto& st = self->state;
        st.rudp_ep = ep;
        st.udp_port = bound;
        if (st.stopping)
          return stop_rudp(self);
        announce(self);
      },
      [=](caf::error& err) {
        if (!last_try) {
          // The TCP port may be taken for UDP, or the engine we asked was
          // just stopping (its last socket closed): a fresh look at both.
          self->state.rudp = rudp_engine_of(self->home_system());
          return open_on(self, 0, true);
        }
        auto& st = self->state;
        st.rudp = nullptr;
        self->send(st.handler,
                   warning{"reliable UDP is off: "
                           + error_detail(err).value_or(
                             self->system().render(err))});
        announce(self);
      });
}

connection_setup rudp_setup(self_ptr self, const endpoint& remote,
                            bool inbound) {
  auto& st = self->state;
  auto setup = make_setup(self);
  setup.info.proto = transport::rudp;
  setup.info.inbound = inbound;
  setup.info.local = endpoint{transport::rudp, st.opts.listen_address,
                              st.udp_port, {}};
  setup.info.remote = remote;
  setup.info.remote.pinned = caf::none;
  return setup;
}

} // namespace

void open_rudp(self_ptr self) {
  auto& st = self->state;
  st.rudp = rudp_engine_of(self->home_system());
  open_on(self, st.bound_port, false);
}

void stop_rudp(self_ptr self) {
  auto& st = self->state;
  st.rudp_ep = {};
  // The engine closes our socket, sending what our connections queued
  // last (their CLOSE) before it lets the sessions go, then answers.
  close_and_wait(self, caf::actor_cast<caf::actor>(std::exchange(st.rudp, {})),
                 std::chrono::seconds(2));
}

bool rudp_ready(self_ptr self) {
  return self->state.rudp && self->state.rudp_ep;
}

void on_rudp_inbound(self_ptr self, rudp_socket ep, rudp_session session,
                     const std::string& ip, uint16_t port) {
  auto& st = self->state;
  if (ep != st.rudp_ep || st.stopping)
    return;
  auto setup = rudp_setup(self, endpoint{transport::rudp, ip, port, {}}, true);
  auto hdl = spawn_rudp_connection(self->home_system(), st.rudp, ep, session,
                                   setup);
  register_conn(self, hdl);
}

void dial_rudp(self_ptr self, const endpoint& target, origin from,
               std::function<void(const std::string&)> failed) {
  auto& st = self->state;
  if (!rudp_ready(self))
    return failed("reliable UDP is off");
  auto ep = st.rudp_ep;
  self
    ->request(st.rudp, st.opts.connect_timeout + std::chrono::seconds(5),
              rudp_dial_atom::value, ep, target,
              from == origin::bootstrap_out)
    .then(
      [=](rudp_session session) {
        auto& st = self->state;
        if (st.stopping || ep != st.rudp_ep) {
          self->send(st.rudp, rudp_end_atom::value, ep, session);
          return;
        }
        auto setup = rudp_setup(self, target, false);
        setup.target = target;
        setup.info.from = from;
        register_dialled(self,
                         spawn_rudp_connection(self->home_system(), st.rudp,
                                               ep, session, setup),
                         setup);
      },
      [=](caf::error& err) {
        failed(error_detail(err).value_or(self->system().render(err)));
      });
}

} // namespace crust
