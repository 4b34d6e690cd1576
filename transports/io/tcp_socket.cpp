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
#include <vector>

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

tcp_punch_result tcp_punch(const ip_endpoint& local,
                           const std::vector<ip_endpoint>& targets,
                           caf::timespan deadline_after) {
  using clock = std::chrono::steady_clock;
  constexpr auto retry_after = std::chrono::milliseconds(100);
  constexpr size_t max_targets = 16;
  auto deadline = clock::now() + deadline_after;
  struct slot {
    ip_endpoint to;
    sockaddr_storage ss{};
    socklen_t len = 0;
    int fd = -1;
    clock::time_point retry_at{};
    bool done = false;
    std::string error;
  };
  std::vector<slot> slots;
  for (auto& t : targets) {
    if (slots.size() == max_targets)
      break;
    slot s;
    s.to = t;
    if (!to_sockaddr(t.ip, t.port, s.ss, s.len)) {
      s.done = true;
      s.error = "not an IP address";
    }
    slots.push_back(std::move(s));
  }
  tcp_punch_result r;
  auto fail = [&](slot& s, int err, clock::time_point now) {
    tcp_close(s.fd);
    s.fd = -1;
    s.error = std::strerror(err);
    if (err == EADDRNOTAVAIL) // the listener holds this 4-tuple
      s.done = true;
    else
      s.retry_at = now + retry_after;
  };
  auto won = [&](slot& s) {
    int one = 1;
    setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    r.fd = s.fd;
    r.to = s.to;
    s.fd = -1;
  };
  while (r.fd < 0) {
    auto now = clock::now();
    if (now >= deadline)
      break;
    bool pending = false;
    for (auto& s : slots) {
      if (s.done || s.fd >= 0 || now < s.retry_at)
        continue;
      auto fd = tcp_bind_shared(local.ip, local.port);
      if (!fd) {
        s.done = true;
        s.error = "cannot bind " + to_string(local);
        continue;
      }
      s.fd = *fd;
      if (::connect(s.fd, reinterpret_cast<sockaddr*>(&s.ss), s.len) == 0) {
        won(s);
        break;
      }
      if (errno != EINPROGRESS)
        fail(s, errno, now);
    }
    if (r.fd >= 0)
      break;
    std::vector<pollfd> waiting;
    std::vector<slot*> owners;
    for (auto& s : slots) {
      if (s.fd >= 0) {
        waiting.push_back(pollfd{s.fd, POLLOUT, 0});
        owners.push_back(&s);
      }
      pending = pending || !s.done;
    }
    if (!pending)
      break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - now);
    int ms = static_cast<int>(std::min<int64_t>(left.count(), 20));
    if (::poll(waiting.data(), waiting.size(), std::max(ms, 1)) <= 0)
      continue;
    now = clock::now();
    for (size_t i = 0; i < waiting.size(); ++i) {
      if (waiting[i].revents == 0)
        continue;
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(owners[i]->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        won(*owners[i]);
        break;
      }
      fail(*owners[i], err, now);
    }
  }
  for (auto& s : slots)
    tcp_close(s.fd);
  if (r.fd < 0) {
    for (auto& s : slots)
      if (!s.error.empty()) {
        r.error += r.error.empty() ? "" : "; ";
        r.error += to_string(s.to) + ": " + s.error;
      }
    if (r.error.empty())
      r.error = "no answer within " + to_text(deadline_after);
  }
  return r;
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
