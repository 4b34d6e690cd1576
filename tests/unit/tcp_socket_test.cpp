#define CAF_SUITE tcp_socket
#include <caf/test/unit_test.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "transports/io/socket_address.hpp"
#include "transports/io/tcp_socket.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

// A plain listener, as another program would open one (no SO_REUSEPORT).
int plain_listener(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_storage ss;
  socklen_t len = 0;
  to_sockaddr("127.0.0.1", 0, ss, len);
  ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  ::listen(fd, 4);
  port = tcp_local_port(fd);
  return fd;
}

} // namespace

CAF_TEST(a listener shares its port with punch sockets and nobody else) {
  auto fd = tcp_listen("127.0.0.1", 0);
  CAF_REQUIRE(fd);
  auto port = tcp_local_port(*fd);
  CAF_REQUIRE_NOT_EQUAL(port, 0);
  // Another node on the same port is refused, as without SO_REUSEPORT.
  auto twin = tcp_listen("127.0.0.1", port);
  CAF_CHECK(!twin);
  // A punch socket binds beside it.
  auto punch = tcp_bind_shared("127.0.0.1", port);
  CAF_REQUIRE(punch);
  CAF_CHECK_EQUAL(tcp_local_port(*punch), port);
  // ... and connects from it: the far end sees the listen port.
  uint16_t far_port = 0;
  int far = plain_listener(far_port);
  sockaddr_storage ss;
  socklen_t len = 0;
  to_sockaddr("127.0.0.1", far_port, ss, len);
  ::connect(*punch, reinterpret_cast<sockaddr*>(&ss), len);
  pollfd p{far, POLLIN, 0};
  CAF_REQUIRE_EQUAL(::poll(&p, 1, 5000), 1);
  sockaddr_storage from{};
  socklen_t from_len = sizeof(from);
  int accepted = ::accept(far, reinterpret_cast<sockaddr*>(&from), &from_len);
  CAF_REQUIRE_GREATER_OR_EQUAL(accepted, 0);
  CAF_CHECK_EQUAL(from_sockaddr(from).port, port);
  for (int x : {accepted, far, *punch, *fd})
    tcp_close(x);
}

CAF_TEST(a port another program listens on is refused) {
  uint16_t port = 0;
  int other = plain_listener(port);
  auto fd = tcp_listen("127.0.0.1", port);
  CAF_CHECK(!fd);
  tcp_close(other);
  CAF_CHECK(!tcp_listen("no address", 0));
}

CAF_TEST(the dialer connects or says why not) {
  auto fd = tcp_listen("127.0.0.1", 0);
  CAF_REQUIRE(fd);
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
