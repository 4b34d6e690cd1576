#include "transports/io/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace crust {

bool to_sockaddr(const std::string& ip, uint16_t port, sockaddr_storage& out,
                 socklen_t& len) {
  std::memset(&out, 0, sizeof(out));
  auto v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
    return true;
  }
  auto v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

ip_endpoint from_sockaddr(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  ip_endpoint a;
  if (ss.ss_family == AF_INET) {
    auto v4 = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    a.port = ntohs(v4->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto v6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    a.port = ntohs(v6->sin6_port);
  }
  a.ip = buf;
  return a;
}

} // namespace crust
