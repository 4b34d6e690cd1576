#include "discovery/io/beacon_sockets.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "discovery/beacon_packet.hpp"

namespace crust {

namespace {

// Link-local scope, "crus" in the group id.
constexpr char v6_group[] = "ff02::6372:7573";

void reuse(int fd) {
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
}

std::vector<sockaddr_in> v4_destinations(const std::string& bind_address,
                                         uint16_t port,
                                         const std::vector<std::string>& targets) {
  std::vector<sockaddr_in> out;
  auto add = [&](const std::string& ip, uint16_t p) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(p);
    if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) == 1
        && sa.sin_addr.s_addr != INADDR_ANY)
      out.push_back(sa);
  };
  if (!targets.empty()) {
    for (auto& t : targets)
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
    if (bind_address == "0.0.0.0" || bind_address == addr)
      add(bcast, port);
  }
  freeifaddrs(ifs);
  return out;
}

// Interfaces that are up, multicast-capable, not loopback, with IPv6.
std::vector<unsigned> v6_interfaces() {
  std::set<unsigned> out;
  ifaddrs* ifs = nullptr;
  if (getifaddrs(&ifs) != 0)
    return {};
  for (auto i = ifs; i != nullptr; i = i->ifa_next)
    if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6
        && (i->ifa_flags & IFF_UP) && (i->ifa_flags & IFF_MULTICAST)
        && !(i->ifa_flags & IFF_LOOPBACK))
      if (auto index = if_nametoindex(i->ifa_name))
        out.insert(index);
  freeifaddrs(ifs);
  return {out.begin(), out.end()};
}

} // namespace

beacon_sockets::~beacon_sockets() {
  for (auto fd : {v4_, v6_})
    if (fd >= 0)
      ::close(fd);
}

std::string beacon_sockets::open(const std::string& bind_address, uint16_t port,
                                 std::vector<std::string> targets) {
  bind_address_ = bind_address;
  port_ = port;
  targets_ = std::move(targets);
  v4_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (v4_ < 0)
    return std::strerror(errno);
  reuse(v4_);
  int one = 1;
  ::setsockopt(v4_, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, bind_address.c_str(), &sa.sin_addr);
  if (::bind(v4_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    return "cannot bind UDP " + bind_address + ":" + std::to_string(port)
           + ": " + std::strerror(errno);
  // IPv6 multicast only where the node listens everywhere and nobody
  // named the targets: a node bound to one address stays on it.
  if (bind_address != "0.0.0.0" || !targets_.empty())
    return {};
  v6_interfaces_ = v6_interfaces();
  if (v6_interfaces_.empty())
    return {};
  v6_ = ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (v6_ < 0)
    return {};
  reuse(v6_);
  ::setsockopt(v6_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  int zero = 0; // our own announcements need not come back
  ::setsockopt(v6_, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero));
  sockaddr_in6 sa6{};
  sa6.sin6_family = AF_INET6;
  sa6.sin6_port = htons(port);
  sa6.sin6_addr = in6addr_any;
  bool joined = false;
  if (::bind(v6_, reinterpret_cast<sockaddr*>(&sa6), sizeof(sa6)) == 0)
    for (auto index : v6_interfaces_) {
      ipv6_mreq mreq{};
      inet_pton(AF_INET6, v6_group, &mreq.ipv6mr_multiaddr);
      mreq.ipv6mr_interface = index;
      joined |= ::setsockopt(v6_, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq,
                             sizeof(mreq))
                == 0;
    }
  if (!joined) {
    ::close(v6_);
    v6_ = -1;
  }
  return {};
}

void beacon_sockets::announce(const std::vector<uint8_t>& packet) {
  for (auto& to : v4_destinations(bind_address_, port_, targets_))
    ::sendto(v4_, packet.data(), packet.size(), MSG_DONTWAIT,
             reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  if (v6_ < 0)
    return;
  for (auto index : v6_interfaces_) {
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_port = htons(port_);
    inet_pton(AF_INET6, v6_group, &to.sin6_addr);
    to.sin6_scope_id = index;
    ::setsockopt(v6_, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof(index));
    ::sendto(v6_, packet.data(), packet.size(), MSG_DONTWAIT,
             reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  }
}

void beacon_sockets::answer(const std::vector<uint8_t>& packet,
                            const sockaddr_storage& to) {
  auto fd = to.ss_family == AF_INET6 ? v6_ : v4_;
  auto len = to.ss_family == AF_INET6 ? sizeof(sockaddr_in6)
                                      : sizeof(sockaddr_in);
  if (fd >= 0)
    ::sendto(fd, packet.data(), packet.size(), MSG_DONTWAIT,
             reinterpret_cast<const sockaddr*>(&to), static_cast<socklen_t>(len));
}

std::optional<beacon_datagram> beacon_sockets::receive(size_t max_size) {
  for (auto fd : {v4_, v6_}) {
    if (fd < 0)
      continue;
    beacon_datagram d;
    d.bytes.resize(max_size + 1); // one more: an oversize packet shows
    socklen_t len = sizeof(d.from);
    auto n = ::recvfrom(fd, d.bytes.data(), d.bytes.size(), MSG_DONTWAIT,
                        reinterpret_cast<sockaddr*>(&d.from), &len);
    if (n < 0)
      continue;
    d.bytes.resize(static_cast<size_t>(n));
    if (d.from.ss_family == AF_INET) {
      char ip[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&d.from)->sin_addr, ip,
                sizeof(ip));
      d.from_v4 = ip;
    }
    return d;
  }
  return std::nullopt;
}

} // namespace crust
