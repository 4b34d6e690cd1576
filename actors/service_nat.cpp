// The service's side of NAT traversal: starts the port mapper and address
// discovery once the listener is bound, and merges what they and the
// peers say into one external_endpoints event for the application.
#include <caf/all.hpp>

#include <arpa/inet.h>

#include "actors/address_discovery.hpp"
#include "actors/atoms.hpp"
#include "actors/port_mapper.hpp"
#include "actors/service_state.hpp"

namespace crust {

namespace {

// A fresh look at our address this often (a NAT may reboot, a laptop
// move); each look is a handful of datagrams.
constexpr auto recheck_interval = std::chrono::minutes(5);
// Observers remembered; one per IP, so a peer cannot vote twice.
constexpr size_t max_echoes = 64;

bool loopback(const std::string& address) {
  return address.compare(0, 4, "127.") == 0 || address == "::1";
}

std::string ip_of(const std::string& ip_port) {
  auto colon = ip_port.rfind(':');
  return colon == std::string::npos ? ip_port : ip_port.substr(0, colon);
}

// "IP:PORT" with an IPv4 address and a port, else empty.
std::string valid_echo(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()
      || text.size() - colon > 6
      || text.find_first_not_of("0123456789", colon + 1) != std::string::npos)
    return {};
  in_addr a{};
  auto ip = text.substr(0, colon);
  if (inet_pton(AF_INET, ip.c_str(), &a) != 1)
    return {};
  auto port = std::stoul(text.substr(colon + 1));
  if (port == 0 || port > 65535)
    return {};
  return text;
}

bool same_event(const external_endpoints& a, const external_endpoints& b) {
  auto key = [](const external_endpoints& x) {
    std::string k = x.nat_type + "|" + x.mapping + "|" + x.filtering;
    for (auto& e : x.addresses)
      k += "|" + e.protocol + e.address + e.source;
    return k;
  };
  return key(a) == key(b);
}

// Sends the application what is known now, when it changed.
void publish(self_ptr self) {
  auto& st = self->state;
  external_endpoints ev;
  if (st.stun)
    ev = *st.stun;
  if (st.mapping && !st.mapping->method.empty())
    for (auto& ext : st.mapping->external) {
      auto sep = ext.find("://");
      ev.addresses.push_back(external_address{ext.substr(0, sep),
                                              ext.substr(sep + 3),
                                              st.mapping->method});
    }
  // An echo counts once STUN agrees on the IP or a second observer (at
  // another IP) does: one peer alone could lie.
  std::string stun_ip;
  for (auto& a : ev.addresses)
    if (a.source == "stun")
      stun_ip = ip_of(a.address);
  std::map<std::string, int> votes;
  for (auto& [observer, seen] : st.echoes)
    ++votes[ip_of(seen)];
  for (auto& [observer, seen] : st.echoes) {
    auto ip = ip_of(seen);
    if (ip == stun_ip || votes[ip] >= 2)
      ev.addresses.push_back(external_address{"tcp", seen, "peer"});
  }
  // Nothing known yet is no news (and loopback nodes never hear any).
  if (!st.published && !st.stun && !st.mapping && ev.addresses.empty())
    return;
  if (st.published && same_event(*st.published, ev))
    return;
  st.published = ev;
  self->send(st.handler, std::move(ev));
}

} // namespace

void start_nat(self_ptr self, uint16_t port) {
  auto& st = self->state;
  // Nothing outside reaches a node that listens on loopback, and its
  // tests must send nothing off this host.
  if (st.stopping || loopback(st.opts.listen_address))
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
    st.mapper = self->home_system().spawn<caf::detached>(port_mapper, ms);
    st.children->insert(st.mapper);
  }
  if (st.mapper)
    self->send(st.mapper, map_port_atom::value, port);
  if (!st.opts.stun_servers.empty() && !st.discovery) {
    address_discovery_setup ds{service, st.opts.listen_address,
                               st.opts.stun_servers};
    st.discovery = self->home_system().spawn<caf::detached>(address_discovery,
                                                            std::move(ds));
    st.children->insert(st.discovery);
    self->send(st.discovery, discover_atom::value);
    set_timer(self, recheck_interval, discover_atom::value);
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
  auto i = st.conns.find(c);
  // Where loopback sees us says nothing about the outside.
  if (seen.empty() || loopback(seen) || i == st.conns.end())
    return;
  auto& observer = i->second.info.remote.host;
  if (!st.echoes.count(observer) && st.echoes.size() >= max_echoes)
    st.echoes.erase(st.echoes.begin());
  st.echoes[observer] = seen;
  publish(self);
}

void close_mapper(self_ptr self) {
  auto& st = self->state;
  if (!st.mapper)
    return;
  // Not killed with the others: it removes its mappings first.
  st.children->erase(st.mapper);
  st.mapper_closing = true;
  auto done = [=] {
    self->state.mapper_closing = false;
    quit_when_done(self);
  };
  self->request(st.mapper, std::chrono::seconds(2) + st.opts.upnp_timeout * 2,
                close_atom::value)
    .then([=](caf::ok_atom) { done(); }, [=](caf::error&) { done(); });
  st.mapper = nullptr;
}

} // namespace crust
