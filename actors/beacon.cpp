#include "actors/beacon.hpp"

#include <caf/all.hpp>

#include <ctime>
#include <optional>

#include "actors/atoms.hpp"
#include "transports/io/interfaces.hpp"
#include "actors/timer.hpp"
#include "crust/errors.hpp"
#include "crust/messages.hpp"
#include "discovery/beacon_packet.hpp"

namespace crust {

namespace {

using self_ptr = caf::stateful_actor<beacon_state>*;

constexpr auto poll_interval = std::chrono::milliseconds(100);
constexpr auto announce_interval = std::chrono::seconds(5);
// Packets read per poll: bounded work whatever arrives.
constexpr int reads_per_poll = 64;

uint64_t unix_now() {
  return static_cast<uint64_t>(std::time(nullptr));
}

void on_datagram(self_ptr self, const beacon_setup& s, const beacon_datagram& d) {
  auto& st = self->state;
  auto p = decode_beacon(d.bytes.data(), d.bytes.size(), s.network, unix_now());
  if (!p) {
    ++st.dropped[error_detail(p.error()).value_or("beacon: unreadable")];
    return;
  }
  if (p->peer == s.me->id())
    return; // our own broadcast
  bool newcomer = false;
  if (!st.replays.accept(p->peer, p->time, newcomer)) {
    ++st.dropped["beacon: replayed"];
    return;
  }
  // Over IPv4, the announced endpoint on the address the packet came from
  // (that is where this LAN reaches the peer); over IPv6 (link-local
  // sources are not dialable), the first announced one that is not
  // loopback.
  // TCP endpoints first: the service falls back to UDP by itself.
  std::optional<endpoint> target;
  for (auto proto : {transport::tcp, transport::rudp}) {
    for (auto& ep : p->endpoints) {
      if (ep.proto != proto)
        continue;
      if (!d.from_v4.empty()) {
        if (!target || ep.host == d.from_v4)
          target = ep;
      } else if (!target && !is_loopback(ep.host)) {
        target = ep;
      }
    }
    if (target)
      break;
  }
  if (!target)
    return;
  if (!d.from_v4.empty())
    target->host = d.from_v4;
  target->pinned = p->peer;
  self->send(s.service, beacon_found_atom::value, p->peer, *target);
  if (newcomer && p->what == beacon_packet::kind::announce
      && st.answers->take(1, std::chrono::steady_clock::now())) {
    auto answer = encode_beacon(*s.me, s.network, beacon_packet::kind::answer,
                                unix_now(), st.endpoints);
    if (answer.size() <= d.bytes.size()) // never more bytes than we were sent
      st.sockets.answer(answer, d.from);
  }
}

void poll(self_ptr self, const beacon_setup& s) {
  auto& st = self->state;
  for (int i = 0; i < reads_per_poll; ++i) {
    auto d = st.sockets.receive(beacon_max_size);
    if (!d)
      break;
    on_datagram(self, s, *d);
  }
  auto now = std::chrono::steady_clock::now();
  if (now >= st.next_announce) {
    st.next_announce = now + announce_interval;
    st.sockets.announce(encode_beacon(*s.me, s.network,
                                      beacon_packet::kind::announce,
                                      unix_now(), st.endpoints));
  }
  set_timer(self, poll_interval, tick_atom::value);
}

} // namespace

caf::behavior beacon(caf::stateful_actor<beacon_state>* self,
                     beacon_setup setup) {
  auto& st = self->state;
  st.answers = std::make_unique<token_bucket>(
    10, 10, std::chrono::steady_clock::now());
  auto err = st.sockets.open(setup.bind_address, setup.port, setup.targets);
  if (!err.empty()) {
    self->send(setup.service, warning{"LAN beacon off: " + err});
    self->quit();
    return {};
  }
  st.endpoints = setup.endpoints;
  st.next_announce = std::chrono::steady_clock::now();
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) { poll(self, setup); },
    [=](beacon_endpoints_atom, std::vector<endpoint>& endpoints) {
      // Our ports moved: say so now rather than at the next round.
      self->state.endpoints = std::move(endpoints);
      self->state.next_announce = std::chrono::steady_clock::now();
    },
  };
}

} // namespace crust
