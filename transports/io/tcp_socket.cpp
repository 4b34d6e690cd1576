#include "transports/io/tcp_socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "crust/config.hpp"
#include "crust/errors.hpp"
#include "transports/io/socket_address.hpp"

namespace crust {

tcp_dial_result tcp_dial(const ip_endpoint& to, caf::timespan timeout) {
  tcp_dial_result r;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!to_sockaddr(to.ip, to.port, ss, len)) {
    r.error = "not an IP address: " + to.ip;
    return r;
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    r.error = std::string{"socket: "} + strerror(errno);
    return r;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  if (rc != 0 && errno != EINPROGRESS) {
    r.error = strerror(errno);
    ::close(fd);
    return r;
  }
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    int n;
    do {
      n = ::poll(&p, 1, static_cast<int>(ms.count()));
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
      r.error = "no answer within " + to_text(timeout);
      ::close(fd);
      return r;
    }
    int err = 0;
    socklen_t errlen = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen);
    if (n < 0 || err != 0) {
      r.error = strerror(n < 0 ? errno : err);
      ::close(fd);
      return r;
    }
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  r.local = from_sockaddr(local);
  r.fd = fd;
  return r;
}

namespace {

// A bound TCP socket with SO_REUSEADDR, and SO_REUSEPORT when `share`;
// -1 with errno set when not.
int bound_socket(const sockaddr_storage& ss, socklen_t len, bool share) {
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
  if (fd < 0)
    return -1;
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (share)
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    auto err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

void set_port(sockaddr_storage& ss, uint16_t port) {
  if (ss.ss_family == AF_INET)
    reinterpret_cast<sockaddr_in&>(ss).sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6&>(ss).sin6_port = htons(port);
}

} // namespace

caf::expected<int> tcp_listen(const std::string& host, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!to_sockaddr(host, port, ss, len))
    return make_error(errc::invalid_config, "not an IP address: " + host);
  auto refused = [&] {
    return make_error(errc::invalid_config, std::strerror(errno));
  };
  // First a socket that shares nothing: its bind fails where any socket
  // listens already, and for port 0 it picks a port nobody uses.
  int probe = bound_socket(ss, len, false);
  if (probe < 0)
    return refused();
  port = tcp_local_port(probe);
  ::close(probe);
  set_port(ss, port);
  int fd = bound_socket(ss, len, true);
  if (fd < 0 || ::listen(fd, SOMAXCONN) != 0) {
    auto err = refused();
    tcp_close(fd);
    return err;
  }
  return fd;
}

caf::expected<int> tcp_bind_shared(const std::string& host, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!to_sockaddr(host, port, ss, len))
    return make_error(errc::invalid_config, "not an IP address: " + host);
  int fd = bound_socket(ss, len, true);
  if (fd < 0)
    return make_error(errc::invalid_config, std::strerror(errno));
  return fd;
}

uint16_t tcp_local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return 0;
  return from_sockaddr(ss).port;
}

void tcp_close(int fd) {
  if (fd >= 0)
    ::close(fd);
}

void tcp_shutdown(int fd) {
  ::shutdown(fd, SHUT_RDWR);
}

} // namespace crust
