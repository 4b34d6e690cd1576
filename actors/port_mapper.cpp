#include "actors/port_mapper.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "actors/timer.hpp"
#include "crust/errors.hpp"
#include "crust/messages.hpp"

namespace crust {

namespace {

using self_ptr = caf::stateful_actor<port_mapper_state>*;

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : "; ") + x;
  return out;
}

std::string text(const caf::error& err) {
  return error_detail(err).value_or(caf::to_string(err));
}

// Maps through UPnP; the external endpoints on success.
caf::expected<std::vector<std::string>> via_upnp(self_ptr self,
                                                 const port_mapper_setup& s) {
  auto& st = self->state;
  if (!st.igd) {
    auto igd = nat::upnp_igd::discover(s.timeout);
    if (!igd)
      return igd.error();
    st.igd.emplace(std::move(*igd));
  }
  auto ip = st.igd->external_ip();
  if (!ip)
    return ip.error();
  auto lease = st.igd->add("TCP", st.port, s.lease, s.description);
  if (!lease)
    return lease.error();
  st.lease = *lease;
  std::vector<std::string> ext{
    to_string(endpoint{transport::tcp, *ip, st.port, {}})};
  st.udp_mapped = static_cast<bool>(
    st.igd->add("UDP", st.port, st.lease, s.description));
  if (st.udp_mapped)
    ext.push_back(to_string(endpoint{transport::rudp, *ip, st.port, {}}));
  return ext;
}

caf::expected<std::vector<std::string>> via_natpmp(self_ptr self,
                                                   const port_mapper_setup& s) {
  auto& st = self->state;
  if (!st.pmp) {
    auto pmp = nat::natpmp_gateway::open();
    if (!pmp)
      return pmp.error();
    st.pmp.emplace(std::move(*pmp));
  }
  auto ip = st.pmp->external_ip(s.timeout);
  if (!ip)
    return ip.error();
  auto tcp = st.pmp->map("tcp", st.port, s.lease, s.timeout);
  if (!tcp)
    return tcp.error();
  st.lease = tcp->lease;
  std::vector<std::string> ext{
    to_string(endpoint{transport::tcp, *ip, tcp->external_port, {}})};
  auto udp = st.pmp->map("udp", st.port, s.lease, s.timeout);
  st.udp_mapped = static_cast<bool>(udp);
  if (udp)
    ext.push_back(
      to_string(endpoint{transport::rudp, *ip, udp->external_port, {}}));
  return ext;
}

void remove(self_ptr self, const port_mapper_setup& s, const held_mapping& m) {
  auto& st = self->state;
  if (m.method == "upnp" && st.igd) {
    st.igd->remove("TCP", m.port);
    if (m.udp_mapped)
      st.igd->remove("UDP", m.port);
  } else if (m.method == "natpmp" && st.pmp) {
    st.pmp->unmap("tcp", m.port, s.timeout);
    if (m.udp_mapped)
      st.pmp->unmap("udp", m.port, s.timeout);
  }
}

held_mapping current(const port_mapper_state& st) {
  return held_mapping{st.method, st.port, st.udp_mapped};
}

void unmap(self_ptr self, const port_mapper_setup& s) {
  auto& st = self->state;
  remove(self, s, current(st));
  st.method.clear();
  st.udp_mapped = false;
  ++st.renewal; // a pending renewal is void
}

// Tries each method in turn (the one that worked last time first would
// only matter for renewals, and renewals ask the same gateway again).
void map(self_ptr self, const port_mapper_setup& s) {
  auto& st = self->state;
  std::vector<std::string> errors;
  port_mapping ev;
  auto attempt = [&](const char* method, auto via) {
    if (!ev.method.empty())
      return;
    auto ext = via(self, s);
    if (ext) {
      ev.method = method;
      ev.external = std::move(*ext);
    } else {
      errors.push_back(text(ext.error()));
    }
  };
  if (s.use_upnp)
    attempt("upnp", via_upnp);
  if (s.use_natpmp)
    attempt("natpmp", via_natpmp);
  if (ev.method.empty()) {
    st.igd.reset(); // rediscover next time: the gateway may have changed
    st.pmp.reset();
    ev.error = join(errors);
    self->send(s.service, std::move(ev));
    return;
  }
  st.method = ev.method;
  ev.lease = st.lease;
  if (st.lease > 0)
    set_timer(self, std::chrono::seconds(st.lease / 2 + 1), renew_atom::value,
              ++st.renewal);
  self->send(s.service, std::move(ev));
}

} // namespace

caf::behavior port_mapper(caf::stateful_actor<port_mapper_state>* self,
                          port_mapper_setup setup) {
  auto unmap_all = [=] {
    unmap(self, setup);
    for (auto& old : self->state.retired)
      remove(self, setup, old);
    self->state.retired.clear();
  };
  self->set_exit_handler([=](const caf::exit_msg& msg) {
    unmap_all();
    self->quit(msg.reason);
  });
  return {
    [=](map_port_atom, uint16_t port) {
      auto& st = self->state;
      if (port == st.port && !st.method.empty())
        return;
      // Our port moved: the new one is mapped first; the old one's
      // mapping stays until the service releases it.
      if (port != st.port && !st.method.empty()) {
        st.retired.push_back(current(st));
        st.method.clear();
        st.udp_mapped = false;
        ++st.renewal; // the old port's renewal is void
      }
      st.port = port;
      map(self, setup);
    },
    [=](release_port_atom, uint16_t port) {
      auto& old = self->state.retired;
      for (auto i = old.begin(); i != old.end();)
        if (i->port == port) {
          remove(self, setup, *i);
          i = old.erase(i);
        } else {
          ++i;
        }
    },
    [=](renew_atom, uint64_t n) {
      auto& st = self->state;
      if (n != st.renewal || st.method.empty())
        return;
      st.method.clear();
      map(self, setup);
    },
    [=](close_atom) {
      unmap_all();
      self->quit();
      return caf::ok_atom::value;
    },
  };
}

} // namespace crust
