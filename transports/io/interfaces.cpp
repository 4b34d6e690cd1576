#include "transports/io/interfaces.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

namespace crust {

std::vector<std::string> reachable_addresses(const std::string& bound) {
  if (bound != "0.0.0.0")
    return {bound};
  std::vector<std::string> result;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0)
    return {"127.0.0.1"};
  for (auto i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET
        || (i->ifa_flags & IFF_UP) == 0)
      continue;
    char buf[INET_ADDRSTRLEN];
    auto sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)) != nullptr)
      result.emplace_back(buf);
  }
  freeifaddrs(list);
  return result;
}

bool is_loopback(const std::string& address) {
  return address.compare(0, 4, "127.") == 0 || address == "::1";
}

} // namespace crust
