#include "transports/io/resolve.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

#include "crust/errors.hpp"
#include "transports/io/socket_address.hpp"

namespace crust {

caf::expected<ip_endpoint> resolve_udp4(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  auto host = host_port.substr(0, colon);
  auto port = colon == std::string::npos ? std::string{}
                                         : host_port.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  auto rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || !found)
    return make_error(errc::unreachable, std::string{"cannot resolve: "}
                                           + gai_strerror(rc));
  sockaddr_storage ss{};
  std::memcpy(&ss, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  return from_sockaddr(ss);
}

} // namespace crust
