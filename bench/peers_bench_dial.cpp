// crust-bench-peers: many dials at once over epoll (see peers_bench_dial.hpp).
#include "bench/peers_bench_dial.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "bench/peers_bench.hpp"

namespace peers_bench {

namespace {

struct slot {
  int fd = -1;
  bool connected = false;
  std::unique_ptr<dial_session> s;
  std::vector<char> out; // not yet written
};

int open_dial(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); // loopback only, always
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0
      && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Closes with a reset: thousands of closes a second would otherwise leave
// as many sockets in TIME_WAIT and run out of ephemeral ports.
void reset_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
}

// Writes what it can; false when the connection broke.
bool flush(slot& s) {
  while (!s.out.empty()) {
    auto n = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK;
    s.out.erase(s.out.begin(), s.out.begin() + n);
  }
  return true;
}

} // namespace

namespace {

// Until abort: every 2 s, what each held session needs to stay alive.
void keep_alive(std::vector<slot>& held) {
  auto next = now_s();
  std::vector<char> out;
  while (!shared->base.abort) {
    if (now_s() >= next) {
      for (auto& s : held) {
        out.clear();
        if (s.s->keepalive(out))
          (void)::send(s.fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      next = now_s() + 2;
    }
    ::usleep(10'000);
  }
}

} // namespace

dial_outcome dial_many(uint16_t port, int in_flight, int count, bool hold,
                       double limit_s, const session_maker& make,
                       const std::function<void()>& all_held) {
  dial_outcome r;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::unordered_map<int, slot> live;
  std::vector<slot> held; // kept whole: a real dialer keeps its state
  int started = 0;
  auto deadline = now_s() + limit_s;
  auto stopping = [&] {
    return shared->base.abort || (!hold && shared->base.stop)
           || now_s() > deadline;
  };
  auto fail = [&](slot& s, const std::string& why) {
    ++r.failed;
    if (r.first_error.empty())
      r.first_error = why;
    ::epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
    reset_close(s.fd);
    live.erase(s.fd);
  };
  // Failures are counted, not retried forever: a handful may be the
  // server's limits; many mean the run is broken.
  auto too_many_failures = [&] { return r.failed > 100 + r.done / 10; };
  std::vector<char> buf(64 * 1024);
  epoll_event evs[256];
  while (!stopping() && !too_many_failures()) {
    while (int(live.size()) < in_flight && (!hold || started < count)) {
      int fd = open_dial(port);
      if (fd < 0) {
        ++r.failed;
        if (r.first_error.empty())
          r.first_error = std::string{"connect: "} + std::strerror(errno);
        break;
      }
      slot s;
      s.fd = fd;
      s.s = make(started++);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT;
      ev.data.fd = fd;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      live.emplace(fd, std::move(s));
    }
    if (hold && started >= count && live.empty())
      break;
    int n = ::epoll_wait(ep, evs, 256, 20);
    for (int i = 0; i < n; ++i) {
      auto it = live.find(evs[i].data.fd);
      if (it == live.end())
        continue;
      auto& s = it->second;
      if (evs[i].events & (EPOLLERR | EPOLLHUP) && !s.connected) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        fail(s, std::string{"connect: "} + std::strerror(err ? err : ECONNRESET));
        continue;
      }
      if (!s.connected && (evs[i].events & EPOLLOUT)) {
        s.connected = true;
        s.s->start(s.out);
      }
      if (!flush(s)) {
        fail(s, "send failed");
        continue;
      }
      int state = 0;
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (;;) {
          auto got = ::recv(s.fd, buf.data(), buf.size(), 0);
          if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            state = -1;
            break;
          }
          if (got < 0)
            break;
          state = s.s->on_bytes(buf.data(), size_t(got), s.out);
          if (state != 0)
            break;
        }
      }
      if (state < 0) {
        auto why = s.s->why();
        fail(s, why.empty() ? "closed by the server" : why);
        continue;
      }
      if (state > 0 && !flush(s)) {
        fail(s, "send failed");
        continue;
      }
      if (state > 0) {
        ++r.done;
        int fd = s.fd;
        if (hold) {
          // Held, and no longer read: what the server sends waits in the
          // socket's buffer, as it would for an idle application.
          ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          held.push_back(std::move(s));
          shared->client_conns.fetch_add(1);
          live.erase(fd);
        } else if (!hold) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          reset_close(fd);
          live.erase(fd);
        }
      } else if (!s.out.empty()) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.fd = s.fd;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &ev);
      } else if (s.connected) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = s.fd;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &ev);
      }
    }
  }
  if (too_many_failures() && r.first_error.empty())
    r.first_error = "too many failed dials";
  for (auto& [fd, s] : live)
    reset_close(fd);
  ::close(ep);
  if (hold && r.done >= uint64_t(count)) {
    if (all_held)
      all_held();
    keep_alive(held);
  }
  // Held ones stay open: the process ends with _exit() after abort.
  if (hold)
    (void)new std::vector<slot>(std::move(held));
  return r;
}

} // namespace peers_bench
