// The service's NAT traversal part (nat_part.hpp).
#include <caf/all.hpp>

#include <algorithm>
#include <cstdlib>

#include "actors/address_discovery.hpp"
#include "actors/atoms.hpp"
#include "actors/blocking.hpp"
#include "transports/io/interfaces.hpp"
#include "actors/port_mapper.hpp"
#include "actors/service/nat_part.hpp"
#include "actors/service/state.hpp"
#include "actors/rudp_engine/engine.hpp"
#include "nat/external_view.hpp"

namespace crust {

namespace {

// A fresh look at our address this often (a NAT may reboot, a laptop
// move); each look is a handful of datagrams.
constexpr auto recheck_interval = std::chrono::minutes(5);
// Observers remembered; one per IP, so a peer cannot vote twice.
constexpr size_t max_echoes = 64;

} // namespace

// Sends the application what is known now, when it changed.
void nat_part::publish() {
  auto ev = external_view(stun_, mapping_, echoes_, rudp_mapped_);
  // Nothing known yet is no news (and loopback nodes never hear any).
  if (!published_ && !stun_ && !mapping_ && ev.addresses.empty())
    return;
  if (published_ && same_view(*published_, ev))
    return;
  published_ = ev;
  self_->send(self_->state.handler, std::move(ev));
  fan_out(self_, events::endpoints_changed{});
}

void nat_part::ask_from_rudp_socket(const external_endpoints& report) {
  auto self = self_;
  auto& listen = *self->state.listen;
  if (!listen.rudp_ready())
    return;
  auto answered = std::find_if(report.stun.begin(), report.stun.end(),
                               [](auto& r) { return r.error.empty(); });
  if (answered == report.stun.end())
    return;
  auto colon = answered->server.rfind(':');
  if (colon == std::string::npos)
    return;
  auto ip = answered->server.substr(0, colon);
  auto port = static_cast<uint16_t>(
    std::strtoul(answered->server.c_str() + colon + 1, nullptr, 10));
  // The engine gives up within about 8 s; the timeout only bounds a
  // stopped engine.
  self->request(listen.rudp_engine(), std::chrono::seconds(15),
                rudp_stun_atom::value, listen.rudp_ep(), ip, port)
    .then(
      [this](const std::string& mapped_ip, uint16_t mapped_port) {
        rudp_mapped_ = mapped_ip + ":" + std::to_string(mapped_port);
        publish();
      },
      [this](caf::error&) {
        // The word we had is no longer known to hold.
        if (rudp_mapped_) {
          rudp_mapped_.reset();
          publish();
        }
      });
}

void nat_part::start(uint16_t port) {
  auto self = self_;
  auto& st = self->state;
  if (st.stopping || is_loopback(st.opts.listen_address))
    return;
  auto service = caf::actor_cast<caf::actor>(self);
  auto& mapper = child(self, child_role::port_mapper);
  if (st.opts.upnp && !mapper) {
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
    self->send(mapper, map_port_atom::value, port);
  } else if (mapper && port != mapped_port_) {
    self->send(mapper, map_port_atom::value, port);
  }
  mapped_port_ = port;
  auto& discovery = child(self, child_role::address_discovery);
  if (!st.opts.stun_servers.empty() && !discovery) {
    address_discovery_setup ds{service, st.opts.listen_address,
                               st.opts.stun_servers};
    adopt(self, child_role::address_discovery,
          spawn_blocking(self->home_system(), address_discovery,
                         std::move(ds)));
    self->send(discovery, discover_atom::value);
    if (!rechecking_) { // one chain of rechecks, whatever restarts
      rechecking_ = true;
      set_timer(self, recheck_interval, discover_atom::value);
    }
  }
}

void nat_part::on(const service_event& ev) {
  if (auto up = std::get_if<events::listening_up>(&ev)) {
    bool moved = listening_port_ != 0 && up->tcp_port != listening_port_;
    listening_port_ = up->tcp_port;
    listening_ = up->endpoints;
    start(up->tcp_port);
    if (moved)
      on_ports_moved();
  } else if (auto gone = std::get_if<events::ports_retired>(&ev)) {
    // The old port's listener is closed: its mapping goes last.
    if (auto& mapper = child(self_, child_role::port_mapper))
      self_->send(mapper, release_port_atom::value, gone->tcp_port);
    if (tell_pending_) // the mapper never answered for the new port
      tell_peers();
  } else if (auto echo = std::get_if<events::observed>(&ev))
    on_observed(echo->observer, echo->seen);
}

// Our ports moved: the mapper maps the new one (start), STUN looks at
// the new socket, and kept peers hear where we listen now once the
// mapping answered (its external endpoints first), or at once without a
// mapper.
void nat_part::on_ports_moved() {
  auto self = self_;
  if (rudp_mapped_) // said of the old socket
    rudp_mapped_.reset();
  if (auto& d = child(self, child_role::address_discovery))
    self->send(d, discover_atom::value);
  if (child(self, child_role::port_mapper))
    tell_pending_ = true;
  else
    tell_peers();
}

// ENDPOINTS to every kept peer: where a peer reached us may now be
// somewhere else. Loopback addresses only when we listen on loopback.
void nat_part::tell_peers() {
  auto self = self_;
  auto& st = self->state;
  tell_pending_ = false;
  std::vector<std::string> texts;
  if (mapping_ && mapping_->error.empty())
    texts = mapping_->external;
  auto on_loopback = is_loopback(st.opts.listen_address);
  for (auto& ep : listening_)
    if (on_loopback || !is_loopback(ep.host))
      texts.push_back(to_string(ep));
  if (texts.empty())
    return;
  for (auto& kept : st.conns->kept_peers())
    if (auto hdl = st.actors.find(kept.second))
      self->send(*hdl, endpoints_atom::value, texts);
}

void nat_part::on_observed(const std::string& observer,
                           const std::string& text) {
  auto seen = valid_echo(text);
  // Where loopback sees us says nothing about the outside.
  if (seen.empty() || is_loopback(seen))
    return;
  if (!echoes_.count(observer) && echoes_.size() >= max_echoes)
    echoes_.erase(echoes_.begin());
  echoes_[observer] = seen;
  publish();
}

caf::message_handler nat_part::handlers() {
  auto self = self_;
  return {
    // from the port mapper
    [this, self](port_mapping& ev) {
      if (self->current_sender() != child(self, child_role::port_mapper))
        return;
      mapping_ = ev;
      self->send(self->state.handler, std::move(ev));
      publish();
      if (tell_pending_)
        tell_peers();
    },
    // from address discovery
    [this, self](nat_report_atom, external_endpoints& ev) {
      if (self->current_sender() != child(self, child_role::address_discovery))
        return;
      ask_from_rudp_socket(ev);
      stun_ = std::move(ev);
      publish();
    },
    // from ourselves: a fresh look at our address
    [self](discover_atom) {
      if (self->state.stopping)
        return;
      if (auto& d = child(self, child_role::address_discovery))
        self->send(d, discover_atom::value); // else restarting: its first
      set_timer(self, recheck_interval, discover_atom::value);
    },
  };
}

} // namespace crust
