// The service's side of NAT traversal: starts the port mapper and address
// discovery once the listener is bound, and merges what they and the
// peers say into one external_endpoints event for the application.
#include <caf/all.hpp>

#include "actors/address_discovery.hpp"
#include "actors/atoms.hpp"
#include "actors/blocking.hpp"
#include "transports/io/interfaces.hpp"
#include "actors/port_mapper.hpp"
#include "actors/service/state.hpp"
#include "nat/external_view.hpp"

namespace crust {

namespace {

// A fresh look at our address this often (a NAT may reboot, a laptop
// move); each look is a handful of datagrams.
constexpr auto recheck_interval = std::chrono::minutes(5);
// Observers remembered; one per IP, so a peer cannot vote twice.
constexpr size_t max_echoes = 64;

// Sends the application what is known now, when it changed.
void publish(self_ptr self) {
  auto& st = self->state;
  auto ev = external_view(st.stun, st.mapping, st.echoes);
  // Nothing known yet is no news (and loopback nodes never hear any).
  if (!st.published && !st.stun && !st.mapping && ev.addresses.empty())
    return;
  if (st.published && same_view(*st.published, ev))
    return;
  st.published = ev;
  self->send(st.handler, std::move(ev));
}

} // namespace

void start_nat(self_ptr self, uint16_t port) {
  auto& st = self->state;
  if (st.stopping || is_loopback(st.opts.listen_address))
    return;
  auto service = caf::actor_cast<caf::actor>(self);
  if (st.opts.upnp && !st.mapper) {
    port_mapper_setup ms;
    ms.service = service;
    ms.lease = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(st.opts.upnp_lease)
        .count());
    ms.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      st.opts.upnp_timeout);
    ms.description = "crust " + to_string(st.id).substr(0, 8);
    adopt(self, child_role::port_mapper,
          spawn_blocking(self->home_system(), port_mapper, ms));
    self->send(st.mapper, map_port_atom::value, port);
  } else if (st.mapper && port != st.mapped_port) {
    self->send(st.mapper, map_port_atom::value, port);
  }
  st.mapped_port = port;
  if (!st.opts.stun_servers.empty() && !st.discovery) {
    address_discovery_setup ds{service, st.opts.listen_address,
                               st.opts.stun_servers};
    adopt(self, child_role::address_discovery,
          spawn_blocking(self->home_system(), address_discovery,
                         std::move(ds)));
    self->send(st.discovery, discover_atom::value);
    if (!st.rechecking) { // one chain of rechecks, whatever restarts
      st.rechecking = true;
      set_timer(self, recheck_interval, discover_atom::value);
    }
  }
}

void on_port_mapping(self_ptr self, port_mapping ev) {
  auto& st = self->state;
  st.mapping = ev;
  self->send(st.handler, std::move(ev));
  publish(self);
}

void on_nat_report(self_ptr self, external_endpoints ev) {
  self->state.stun = std::move(ev);
  publish(self);
}

void on_observed(self_ptr self, conn_id c, const std::string& text) {
  auto& st = self->state;
  auto seen = valid_echo(text);
  auto rec = st.conns->find(c);
  // Where loopback sees us says nothing about the outside.
  if (seen.empty() || is_loopback(seen) || rec == nullptr)
    return;
  auto& observer = rec->info.remote.host;
  if (!st.echoes.count(observer) && st.echoes.size() >= max_echoes)
    st.echoes.erase(st.echoes.begin());
  st.echoes[observer] = seen;
  publish(self);
}

} // namespace crust
