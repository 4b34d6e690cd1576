#include "actors/address_discovery.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "actors/timer.hpp"
#include "crust/errors.hpp"
#include "transports/io/interfaces.hpp"
#include "transports/io/resolve.hpp"
#include "transports/io/udp_socket.hpp"

namespace crust {

namespace {

using self_ptr = caf::stateful_actor<address_discovery_state>*;

constexpr auto poll_interval = std::chrono::milliseconds(10);
// Each request: sends at 0, 200 and 600 ms, then 3.2 s more for an
// answer. A check is over within about 4 s (two rounds when a server
// supports RFC 5780).
constexpr auto rto = std::chrono::milliseconds(200);
constexpr int sends = 3;
constexpr int reads_per_poll = 32;

void close_socket(address_discovery_state& st) {
  udp_close(st.fd);
  st.fd = -1;
}

// A fresh socket per check: a NAT's binding for an old one may outlive
// a change of NAT. IPv4 only, as the probe is.
bool open_socket(self_ptr self, const address_discovery_setup& s) {
  auto& st = self->state;
  if (ip_endpoint{s.bind_address, 0}.v6())
    return false;
  auto fd = udp_bind(s.bind_address, 0);
  if (!fd)
    return false;
  st.fd = *fd;
  auto port = udp_local_port(st.fd);
  st.local.clear();
  for (auto& ip : reachable_addresses(s.bind_address))
    st.local.push_back(ip_endpoint{ip, port});
  return true;
}

void finish(self_ptr self, const address_discovery_setup& s) {
  auto& st = self->state;
  auto report = st.probe->report(st.local);
  st.probe.reset();
  close_socket(st);
  self->send(s.service, nat_report_atom::value,
             to_event(report, st.unresolved));
}

void poll(self_ptr self, const address_discovery_setup& s) {
  auto& st = self->state;
  if (!st.probe)
    return;
  // Waits (briefly: messages queue meanwhile) for the socket, so that
  // round-trip times are measured to the millisecond, not to the timer.
  udp_wait_readable(st.fd, static_cast<int>(poll_interval.count()));
  auto now = stun::nat_probe::clock::now();
  udp_read(st.fd, reads_per_poll,
           [&](const ip_endpoint& from, const uint8_t* bytes, size_t size) {
             st.probe->on_datagram(bytes, size, from, now);
           });
  stun::nat_probe::clock::time_point deadline;
  for (auto& d : st.probe->poll(now, deadline))
    udp_send_to(st.fd, d.to, d.bytes.data(), d.bytes.size());
  if (st.probe->done()) {
    finish(self, s);
    return;
  }
  caf::anon_send(caf::actor_cast<caf::actor>(self), tick_atom::value);
}

void start(self_ptr self, const address_discovery_setup& s) {
  auto& st = self->state;
  if (st.probe)
    return;
  st.unresolved.clear();
  std::vector<ip_endpoint> servers;
  for (auto& text : s.servers) {
    auto addr = resolve_udp4(text);
    if (addr)
      servers.push_back(*addr);
    else
      st.unresolved.push_back(stun_server_result{
        text, {}, 0, error_detail(addr.error()).value_or("cannot resolve")});
  }
  st.probe.emplace(std::move(servers), rto, sends);
  if (!open_socket(self, s)) {
    st.unresolved.push_back(stun_server_result{
      "*", {}, 0, "cannot open a UDP socket on " + s.bind_address});
    st.probe.emplace(std::vector<ip_endpoint>{}, rto, sends);
  }
  poll(self, s);
  if (st.probe && st.probe->done())
    finish(self, s);
}

} // namespace

address_discovery_state::~address_discovery_state() {
  close_socket(*this);
}

external_endpoints to_event(const stun::nat_report& report,
                            std::vector<stun_server_result> unresolved) {
  external_endpoints ev;
  ev.nat_type = report.nat_type;
  ev.mapping = report.mapping;
  ev.filtering = report.filtering;
  ev.stun_ignored = report.ignored;
  if (report.external)
    ev.addresses.push_back(external_address{
      "udp", to_string(*report.external),
      "stun"});
  for (auto& r : report.servers) {
    stun_server_result x{to_string(r.server), {}, 0, r.error};
    if (r.mapped) {
      x.mapped = to_string(*r.mapped);
      x.rtt_ms = static_cast<uint32_t>(r.rtt.count());
    }
    ev.stun.push_back(std::move(x));
  }
  for (auto& u : unresolved)
    ev.stun.push_back(std::move(u));
  return ev;
}

caf::behavior
address_discovery(caf::stateful_actor<address_discovery_state>* self,
                  address_discovery_setup setup) {
  return {
    [=](discover_atom) { start(self, setup); },
    [=](tick_atom) { poll(self, setup); },
  };
}

} // namespace crust
