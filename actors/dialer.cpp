#include "actors/dialer.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/network/native_socket.hpp>

#include <cerrno>
#include <cstring>

#include "actors/atoms.hpp"
#include "crust/config.hpp"
#include "crust/errors.hpp"
#include "transports/io/socket_address.hpp"

namespace crust {

namespace {

struct dial_result {
  int fd = -1;
  endpoint local;
  std::string error;
};

dial_result dial_tcp(const endpoint& target, caf::timespan timeout) {
  dial_result r;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!to_sockaddr(target.host, target.port, ss, len)) {
    r.error = "not an IP address: " + target.host;
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
  auto at = from_sockaddr(local);
  r.local.host = at.ip;
  r.local.port = at.port;
  r.fd = fd;
  return r;
}

} // namespace

caf::behavior dialer(caf::event_based_actor* self, endpoint target,
                     caf::timespan timeout) {
  return {
    [=](dial_atom) -> caf::result<caf::io::network::native_socket, endpoint> {
      self->quit();
      auto r = dial_tcp(target, timeout);
      if (r.fd < 0)
        return make_error(errc::unreachable, r.error);
      return {static_cast<caf::io::network::native_socket>(r.fd), r.local};
    },
  };
}

} // namespace crust
