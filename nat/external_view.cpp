#include "nat/external_view.hpp"

#include <arpa/inet.h>

namespace crust {

namespace {

std::string ip_of(const std::string& ip_endpoint) {
  auto colon = ip_endpoint.rfind(':');
  return colon == std::string::npos ? ip_endpoint : ip_endpoint.substr(0, colon);
}

} // namespace

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

external_endpoints external_view(const std::optional<external_endpoints>& stun,
                                 const std::optional<port_mapping>& mapping,
                                 const std::map<std::string, std::string>& echoes,
                                 const std::optional<std::string>& rudp_mapped) {
  external_endpoints ev;
  if (stun)
    ev = *stun;
  if (rudp_mapped)
    ev.addresses.push_back(external_address{"udp", *rudp_mapped, "stun-rudp"});
  if (mapping && !mapping->method.empty())
    for (auto& ext : mapping->external) {
      auto sep = ext.find("://");
      if (sep != std::string::npos)
        ev.addresses.push_back(external_address{
          ext.substr(0, sep), ext.substr(sep + 3), mapping->method});
    }
  std::string stun_ip;
  for (auto& a : ev.addresses)
    if (a.source == "stun")
      stun_ip = ip_of(a.address);
  std::map<std::string, int> votes;
  for (auto& [observer, seen] : echoes)
    ++votes[ip_of(seen)];
  for (auto& [observer, seen] : echoes) {
    auto ip = ip_of(seen);
    if (ip == stun_ip || votes[ip] >= 2)
      ev.addresses.push_back(external_address{"tcp", seen, "peer"});
  }
  return ev;
}

bool same_view(const external_endpoints& a, const external_endpoints& b) {
  auto key = [](const external_endpoints& x) {
    std::string k = x.nat_type + "|" + x.mapping + "|" + x.filtering;
    for (auto& e : x.addresses)
      k += "|" + e.protocol + " " + e.address + " " + e.source;
    return k;
  };
  return key(a) == key(b);
}

} // namespace crust
