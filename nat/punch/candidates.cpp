#include "nat/punch/candidates.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "transports/ip_range.hpp"

namespace crust {

namespace {

// RFC 1918, 6598 (carrier-grade NAT), 3927 (link-local), 1122 (loopback);
// 4193 (unique local), 4291 (link-local, loopback).
const std::set<caf::ip_subnet>& private_ranges() {
  static const std::set<caf::ip_subnet> ranges = [] {
    std::set<caf::ip_subnet> rs;
    for (auto text : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                      "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8",
                      "fc00::/7", "fe80::/10", "::1"})
      rs.insert(*parse_ip_range(text));
    return rs;
  }();
  return ranges;
}

bool is_loopback_ip(const std::string& ip) {
  static const auto v4 = *parse_ip_range("127.0.0.0/8");
  static const auto v6 = *parse_ip_range("::1");
  return in_range(v4, ip) || in_range(v6, ip);
}

// ICE's type preferences in spirit (RFC 8445 5.1.2.2): direct paths first.
uint32_t type_preference(candidate_kind kind, bool lan) {
  switch (kind) {
    case candidate_kind::host:
      return lan ? 126 : 100;
    case candidate_kind::mapped:
      return 110;
    case candidate_kind::peer_reflexive:
      return 90;
    case candidate_kind::reflexive:
      return 80;
    case candidate_kind::port_guess:
      return 60;
  }
  return 0;
}

// "IP:PORT" or "[IPv6]:PORT" from external_endpoints.
std::optional<ip_endpoint> split(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    return std::nullopt;
  auto ip = text.substr(0, colon);
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']')
    ip = ip.substr(1, ip.size() - 2);
  auto digits = text.substr(colon + 1);
  if (digits.size() > 5
      || digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  auto port = std::stoul(digits);
  if (port == 0 || port > 65535 || !parse_ip_address(ip))
    return std::nullopt;
  return ip_endpoint{ip, static_cast<uint16_t>(port)};
}

} // namespace

const char* to_string(candidate_kind k) {
  switch (k) {
    case candidate_kind::host:
      return "host";
    case candidate_kind::mapped:
      return "mapped";
    case candidate_kind::reflexive:
      return "reflexive";
    case candidate_kind::peer_reflexive:
      return "peer-reflexive";
    case candidate_kind::port_guess:
      return "port-guess";
  }
  return "?";
}

bool operator==(const candidate& a, const candidate& b) {
  return a.proto == b.proto && a.at == b.at && a.kind == b.kind
         && a.priority == b.priority;
}

nat_mapping parse_nat_mapping(const std::string& text) {
  if (text == "none")
    return nat_mapping::none;
  if (text == "endpoint-independent")
    return nat_mapping::endpoint_independent;
  if (text == "endpoint-dependent")
    return nat_mapping::endpoint_dependent;
  return nat_mapping::unknown;
}

const char* to_string(nat_mapping m) {
  switch (m) {
    case nat_mapping::unknown:
      return "unknown";
    case nat_mapping::none:
      return "none";
    case nat_mapping::endpoint_independent:
      return "endpoint-independent";
    case nat_mapping::endpoint_dependent:
      return "endpoint-dependent";
  }
  return "unknown";
}

bool is_private_ip(const std::string& ip) {
  return in_any_range(private_ranges(), ip);
}

uint32_t candidate_priority(candidate_kind kind, transport proto,
                            const std::string& ip) {
  auto lan = is_private_ip(ip);
  uint32_t pref = type_preference(kind, lan);
  // Within a kind: TCP before UDP ("TCP favoured"), IPv4 before IPv6
  // (the lab and most NATs are IPv4).
  uint32_t local = (proto == transport::tcp ? 2u : 1u) << 8;
  local |= ip_endpoint{ip, 0}.v6() ? 0u : 1u;
  return (pref << 24) | (local << 8);
}

void normalize_candidates(std::vector<candidate>& cs) {
  std::stable_sort(cs.begin(), cs.end(),
                   [](const candidate& a, const candidate& b) {
                     return a.priority > b.priority;
                   });
  std::set<std::tuple<transport, std::string, uint16_t>> seen;
  std::map<transport, size_t> count;
  std::vector<candidate> out;
  for (auto& c : cs) {
    if (!seen.emplace(c.proto, c.at.ip, c.at.port).second)
      continue;
    if (++count[c.proto] > max_candidates_per_transport)
      continue;
    out.push_back(std::move(c));
  }
  cs = std::move(out);
}

std::vector<candidate> gather_candidates(const local_view& v) {
  std::vector<candidate> cs;
  auto add = [&](transport proto, const std::string& ip, uint16_t port,
                 candidate_kind kind) {
    if (port == 0)
      return;
    cs.push_back(candidate{proto, ip_endpoint{ip, port}, kind,
                           candidate_priority(kind, proto, ip)});
  };
  auto ports = [&](const std::string& ip, candidate_kind kind) {
    add(transport::tcp, ip, v.tcp_port, kind);
    add(transport::rudp, ip, v.udp_port, kind);
  };
  // Host: every interface, loopback only when there is nothing else.
  bool only_loopback = std::all_of(v.interface_ips.begin(),
                                   v.interface_ips.end(), is_loopback_ip);
  for (auto& ip : v.interface_ips)
    if (only_loopback || !is_loopback_ip(ip))
      ports(ip, candidate_kind::host);
  // The outside's word. A mapping names its own external port, and so
  // does STUN asked from the rudp socket. STUN otherwise and peers saw
  // some socket of ours, not necessarily the listen port's:
  // their address is a reflexive candidate only when it shows our listen
  // port (the NAT kept it); otherwise its IP with our listen port is a
  // guess that a port-preserving NAT would make good.
  std::set<std::string> outside_ips;
  for (auto& a : v.outside.addresses) {
    auto at = split(a.address);
    if (!at || is_loopback_ip(at->ip))
      continue;
    auto proto = a.protocol == "udp" ? transport::rudp : transport::tcp;
    auto listen_port = proto == transport::tcp ? v.tcp_port : v.udp_port;
    if (a.source == "upnp" || a.source == "natpmp") {
      add(proto, at->ip, at->port, candidate_kind::mapped);
    } else if (a.source == "stun-rudp") {
      if (v.udp_port != 0) // (else UDP is not punched)
        add(proto, at->ip, at->port, candidate_kind::reflexive);
    } else if (at->port == listen_port) {
      add(proto, at->ip, at->port, candidate_kind::reflexive);
    }
    outside_ips.insert(at->ip);
  }
  for (auto& ip : outside_ips)
    ports(ip, candidate_kind::port_guess);
  // A lone peer's word (a TCP echo) guesses a TCP port only: UDP has STUN
  // for its outside address, and birthday mode aims at the address UDP
  // candidates name.
  for (auto& text : v.lone_echoes)
    if (auto at = split(text); at && !is_loopback_ip(at->ip))
      add(transport::tcp, at->ip, v.tcp_port, candidate_kind::port_guess);
  normalize_candidates(cs);
  return cs;
}

} // namespace crust
