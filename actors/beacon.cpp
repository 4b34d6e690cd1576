#include "actors/beacon.hpp"

#include <caf/all.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "actors/atoms.hpp"
#include "actors/timer.hpp"
#include "crust/messages.hpp"
#include "transports/beacon_packet.hpp"

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

// Where to announce: the configured targets, or the broadcast address of
// every interface the node listens on (none for loopback).
std::vector<sockaddr_in> destinations(const beacon_setup& s) {
  std::vector<sockaddr_in> out;
  auto add = [&](const std::string& ip, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) == 1)
      out.push_back(sa);
  };
  if (!s.targets.empty()) {
    for (auto& t : s.targets)
      if (auto target = parse_udp_target(t))
        add(target->ip, target->port);
    return out;
  }
  ifaddrs* ifs = nullptr;
  if (getifaddrs(&ifs) != 0)
    return out;
  for (auto i = ifs; i != nullptr; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET
        || !(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_BROADCAST)
        || !i->ifa_broadaddr)
      continue;
    char addr[INET_ADDRSTRLEN], bcast[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr,
              addr, sizeof(addr));
    inet_ntop(AF_INET,
              &reinterpret_cast<sockaddr_in*>(i->ifa_broadaddr)->sin_addr,
              bcast, sizeof(bcast));
    if (s.bind_address == "0.0.0.0" || s.bind_address == addr)
      add(bcast, s.port);
  }
  freeifaddrs(ifs);
  return out;
}

std::string open_socket(beacon_state& st, const beacon_setup& s) {
  st.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (st.fd < 0)
    return std::strerror(errno);
  int one = 1;
  ::setsockopt(st.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(st.fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  ::setsockopt(st.fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(s.port);
  inet_pton(AF_INET, s.bind_address.c_str(), &sa.sin_addr);
  if (::bind(st.fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    return "cannot bind UDP " + s.bind_address + ":" + std::to_string(s.port)
           + ": " + std::strerror(errno);
  return {};
}

void send_to(int fd, const std::vector<uint8_t>& bytes, const sockaddr_in& to) {
  ::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT,
           reinterpret_cast<const sockaddr*>(&to), sizeof(to));
}

void on_packet(self_ptr self, const beacon_setup& s, const uint8_t* data,
               size_t size, const sockaddr_in& from) {
  auto& st = self->state;
  auto p = decode_beacon(data, size, s.network, unix_now());
  if (!p) {
    ++st.dropped[p.error().context().get_as<std::string>(0)];
    return;
  }
  if (p->peer == s.me->id())
    return; // our own broadcast
  bool newcomer = false;
  if (!st.replays.accept(p->peer, p->time, newcomer)) {
    ++st.dropped["beacon: replayed"];
    return;
  }
  if (p->endpoints.empty())
    return;
  char src[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &from.sin_addr, src, sizeof(src));
  // The announced endpoint on the address the packet came from: that is
  // where this LAN reaches the peer.
  auto target = p->endpoints.front();
  for (auto& ep : p->endpoints)
    if (ep.host == src)
      target = ep;
  target.host = src;
  target.pinned = p->peer;
  self->send(s.service, beacon_found_atom::value, p->peer, target);
  if (newcomer && p->what == beacon_packet::kind::announce
      && st.answers->take(1, std::chrono::steady_clock::now())) {
    auto answer = encode_beacon(*s.me, s.network, beacon_packet::kind::answer,
                                unix_now(), s.endpoints);
    if (answer.size() <= size) // never more bytes than we were sent
      send_to(st.fd, answer, from);
  }
}

void poll(self_ptr self, const beacon_setup& s) {
  auto& st = self->state;
  uint8_t buf[beacon_max_size + 1];
  for (int i = 0; i < reads_per_poll; ++i) {
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    auto n = ::recvfrom(st.fd, buf, sizeof(buf), MSG_DONTWAIT,
                        reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0)
      break; // EAGAIN, or an error the next poll sees again
    on_packet(self, s, buf, static_cast<size_t>(n), from);
  }
  auto now = std::chrono::steady_clock::now();
  if (now >= st.next_announce) {
    st.next_announce = now + announce_interval;
    auto packet = encode_beacon(*s.me, s.network, beacon_packet::kind::announce,
                                unix_now(), s.endpoints);
    for (auto& to : destinations(s))
      send_to(st.fd, packet, to);
  }
  set_timer(self, poll_interval, tick_atom::value);
}

} // namespace

beacon_state::~beacon_state() {
  if (fd >= 0)
    ::close(fd);
}

caf::behavior beacon(caf::stateful_actor<beacon_state>* self,
                     beacon_setup setup) {
  auto& st = self->state;
  st.answers = std::make_unique<token_bucket>(
    10, 10, std::chrono::steady_clock::now());
  if (auto err = open_socket(st, setup); !err.empty()) {
    self->send(setup.service, warning{"LAN beacon off: " + err});
    self->quit();
    return {};
  }
  st.next_announce = std::chrono::steady_clock::now();
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) { poll(self, setup); },
  };
}

} // namespace crust
