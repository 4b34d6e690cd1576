#define CAF_SUITE tcp_socket
#include <caf/test/unit_test.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "transports/io/socket_address.hpp"
#include "transports/io/tcp_socket.hpp"

using namespace crust;
using namespace std::chrono_literals;

CAF_TEST(the dialer connects or says why not) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_storage ss;
  socklen_t len = 0;
  to_sockaddr("127.0.0.1", 0, ss, len);
  ::bind(listener, reinterpret_cast<sockaddr*>(&ss), len);
  ::listen(listener, 4);
  auto fd = std::optional<int>{listener};
  auto port = tcp_local_port(*fd);
  auto r = tcp_dial(ip_endpoint{"127.0.0.1", port}, 2s);
  CAF_REQUIRE_GREATER_OR_EQUAL(r.fd, 0);
  CAF_CHECK_EQUAL(r.local.ip, "127.0.0.1");
  CAF_CHECK_NOT_EQUAL(r.local.port, 0);
  tcp_close(r.fd);
  tcp_close(*fd);
  // Nobody listens there now.
  auto refused = tcp_dial(ip_endpoint{"127.0.0.1", port}, 2s);
  CAF_CHECK_LESS(refused.fd, 0);
  CAF_CHECK(!refused.error.empty());
  CAF_CHECK(tcp_dial(ip_endpoint{"x", 1}, 1s).error
            == "not an IP address: x");
}
