// A TCP forwarder on 127.0.0.1 for the tests that need a path to die:
// it accepts on a port of its own, connects each accepted connection to
// `target`, and moves bytes both ways on one thread until told to go
// silent (the sockets stay open and nothing more moves: a path that
// stops carrying data, as behind a NAT that lost its mapping) or until
// it is destroyed. Every wait is bounded (poll with a timeout).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace crust_test {

class tcp_proxy {
public:
  explicit tcp_proxy(uint16_t target) : target_(target) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(0);
    if (listener_ < 0
        || ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0
        || ::listen(listener_, 8) != 0)
      return;
    socklen_t len = sizeof(a);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  ~tcp_proxy() {
    done_ = true;
    if (thread_.joinable())
      thread_.join();
    for (auto& pr : pairs_)
      end(pr);
    if (listener_ >= 0)
      ::close(listener_);
  }

  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  /// Where to dial (0: the proxy could not listen).
  uint16_t port() const {
    return port_;
  }

  /// From now on nothing moves either way; the connections stay open.
  void go_silent() {
    silent_ = true;
  }

  /// Connections accepted so far.
  size_t accepted() const {
    return accepted_;
  }

private:
  static sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }

  void run() {
    std::vector<char> buf(64 * 1024);
    while (!done_) {
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      if (!silent_)
        for (auto& [x, y] : pairs_) {
          fds.push_back({x, POLLIN, 0});
          fds.push_back({y, POLLIN, 0});
        }
      if (::poll(fds.data(), fds.size(), 50) <= 0)
        continue;
      if (fds[0].revents & POLLIN)
        accept_one();
      for (size_t i = 1; i < fds.size() && !silent_; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
          continue;
        auto& pr = pairs_[(i - 1) / 2];
        int from = fds[i].fd;
        int to = from == pr.first ? pr.second : pr.first;
        auto n = ::read(from, buf.data(), buf.size());
        if (n <= 0) {
          end(pr);
          continue;
        }
        // A blocking write, bounded by the send timeout.
        for (ssize_t at = 0; at < n;) {
          auto w = ::write(to, buf.data() + at, static_cast<size_t>(n - at));
          if (w <= 0) {
            end(pr);
            break;
          }
          at += w;
        }
      }
      pairs_.erase(std::remove_if(pairs_.begin(), pairs_.end(),
                                  [](auto& p) { return p.first < 0; }),
                   pairs_.end());
    }
  }

  static void end(std::pair<int, int>& pr) {
    if (pr.first < 0)
      return;
    ::close(pr.first);
    ::close(pr.second);
    pr = {-1, -1};
  }

  void accept_one() {
    int in = ::accept(listener_, nullptr, nullptr);
    if (in < 0)
      return;
    int out = ::socket(AF_INET, SOCK_STREAM, 0);
    auto a = loopback(target_);
    if (out < 0
        || ::connect(out, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(in);
      if (out >= 0)
        ::close(out);
      return;
    }
    timeval limit{2, 0};
    for (int fd : {in, out})
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    pairs_.emplace_back(in, out);
    ++accepted_;
  }

  uint16_t target_;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::vector<std::pair<int, int>> pairs_;
  std::atomic<bool> done_{false};
  std::atomic<bool> silent_{false};
  std::atomic<size_t> accepted_{0};
  std::thread thread_;
};

} // namespace crust_test
