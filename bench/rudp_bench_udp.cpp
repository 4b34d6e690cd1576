// crust-bench-rudp: raw UDP (the ceiling) and the lossy userspace relay.
#include "bench/rudp_bench_shared.hpp"
#include "transports/io/udp_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rudp_bench {

// -- sockets ------------------------------------------------------------------

namespace {

sockaddr_in v4(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// A UDP socket bound to ip:0 with the buffers crust's own sockets ask for.
int udp_socket(const std::string& ip, uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int size = 4 * 1024 * 1024; // as transports/io/udp_socket.cpp
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  auto a = v4(ip, 0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  timeval tv{0, 50 * 1000}; // blocking reads wake up to check the flags
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

// One side of the raw UDP pair: its socket on ip:0, or -1 and `role`'s
// bind error in `err`.
int side_socket(const std::string& ip, uint16_t& port, char* err,
                const char* role) {
  int fd = udp_socket(ip, port);
  if (fd < 0)
    set_error(err, "%s: bind %s: %s", role, ip.c_str(), std::strerror(errno));
  return fd;
}

} // namespace

// -- raw UDP ------------------------------------------------------------------

int udp_receiver(const std::string& ip, const timing& t, bool gso) {
  uint16_t port = 0;
  int fd = side_socket(ip, port, area->b_error, "receiver");
  if (fd < 0)
    return 1;
  if (gso) {
    int on = 1;
    ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
  }
  area->b_port = port;
  area->b_ready = 1;
  constexpr int batch = 64;
  // With GRO a slot holds a run of datagrams: 64 KiB each.
  static char bufs[batch][65536];
  struct control {
    alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(int))];
  };
  static control controls[batch];
  mmsghdr msgs[batch];
  iovec iov[batch];
  window_counter wc{t.udp_warm, t.udp_window};
  uint64_t max_seq = 0;
  while (!area->abort) {
    for (int i = 0; i < batch; ++i) {
      iov[i] = {bufs[i], sizeof(bufs[i])};
      std::memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = controls[i].bytes;
      msgs[i].msg_hdr.msg_controllen = sizeof(controls[i].bytes);
    }
    int got = ::recvmmsg(fd, msgs, batch, MSG_WAITFORONE, nullptr);
    auto now = now_s();
    if (got > 0) {
      for (int i = 0; i < got; ++i) {
        size_t len = msgs[i].msg_len;
        auto segment = crust::udp_segment_size(msgs[i].msg_hdr, len);
        for (size_t at = 0; at < len; at += segment) {
          uint64_t seq;
          std::memcpy(&seq, bufs[i] + at, sizeof(seq));
          max_seq = std::max(max_seq, seq + 1);
          wc.add(now, std::min(segment, len - at));
        }
      }
      area->max_seq.store(max_seq, std::memory_order_release);
    }
    if (wc.closed(now)) {
      wc.publish();
      area->b_done = 1;
      area->stop = 1;
      return 0;
    }
  }
  set_error(area->b_error, "receiver: stopped before its window closed");
  return 1;
}

int udp_sender(const std::string& ip, const std::string& to_ip,
               uint16_t to_port, bool gso) {
  uint16_t port = 0;
  int fd = side_socket(ip, port, area->a_error, "sender");
  if (fd < 0)
    return 1;
  auto to = v4(to_ip, to_port);
  constexpr int batch = 32;
  // With GSO one message carries a run of up to 32 datagrams.
  constexpr int run_max = 32;
  static char bufs[batch * run_max][udp_payload];
  std::memset(bufs, 0xab, sizeof(bufs));
  struct control {
    alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(uint16_t))];
  };
  static control controls[batch];
  mmsghdr msgs[batch];
  static iovec iov[batch * run_max];
  uint64_t seq = 0, forgiven = 0, last_seen = 0;
  double last_progress = now_s();
  while (!area->stop && !area->abort) {
    note_sender_cpu();
    auto seen = area->max_seq.load(std::memory_order_acquire);
    auto now = now_s();
    if (seen != last_seen) {
      last_seen = seen;
      last_progress = now;
    }
    auto base = std::max(seen, forgiven);
    auto in_flight = seq - base;
    if (in_flight >= udp_window_pkts) {
      // Nothing new for 5 ms: what is out there is lost (the tail of a
      // window dropped, or the receiver's buffer overflowed).
      if (now - last_progress > 0.005) {
        forgiven = seq;
        last_progress = now;
      } else {
        // A window is ~1 ms of datagrams: a short sleep leaves the CPU to
        // the receiver (spinning would count as raw UDP's cost).
        ::usleep(20);
      }
      continue;
    }
    auto room = udp_window_pkts - in_flight;
    int run = gso ? run_max : 1;
    int n = 0;
    uint64_t s = seq;
    for (; n < batch && room > 0; ++n) {
      auto k = static_cast<int>(std::min<uint64_t>(run, room));
      for (int j = 0; j < k; ++j, ++s) {
        auto* b = bufs[n * run_max + j];
        std::memcpy(b, &s, sizeof(s));
        iov[n * run_max + j] = {b, udp_payload};
      }
      room -= static_cast<uint64_t>(k);
      std::memset(&msgs[n], 0, sizeof(msgs[n]));
      auto& h = msgs[n].msg_hdr;
      h.msg_iov = &iov[n * run_max];
      h.msg_iovlen = static_cast<size_t>(k);
      h.msg_name = &to;
      h.msg_namelen = sizeof(to);
      if (k > 1) {
        h.msg_control = controls[n].bytes;
        h.msg_controllen = sizeof(controls[n].bytes);
        auto c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t size = udp_payload;
        std::memcpy(CMSG_DATA(c), &size, sizeof(size));
      }
    }
    int sent = ::sendmmsg(fd, msgs, n, 0);
    for (int i = 0; i < sent; ++i)
      seq += msgs[i].msg_hdr.msg_iovlen;
  }
  note_sender_cpu();
  return 0;
}

// -- the lossy relay ------------------------------------------------------------

// Forwards datagrams between one client (whoever sends to its front
// socket) and `target`, dropping `loss` of them in each direction with a
// seeded generator. Runs until abort.
int relay(double loss, const std::string& target_ip, uint16_t target_port) {
  uint16_t front_port = 0, back_port = 0;
  int front = udp_socket("127.0.0.1", front_port);
  int back = udp_socket("127.0.0.1", back_port);
  if (front < 0 || back < 0) {
    set_error(area->b_error, "relay: cannot bind: %s", std::strerror(errno));
    return 1;
  }
  area->relay_port = front_port;
  area->relay_ready = 1;
  auto target = v4(target_ip, target_port);
  sockaddr_in client{};
  bool have_client = false;
  uint64_t state = relay_seed ^ static_cast<uint64_t>(loss * 1e6);
  auto drop = [&] {
    // xorshift64*: reproducible, and cheap next to a syscall
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    auto x = (state * 0x2545F4914F6CDD1Dull) >> 11;
    return double(x) / double(1ull << 53) < loss;
  };
  constexpr int batch = 64;
  static char bufs[batch][2048];
  mmsghdr in[batch], out[batch];
  iovec iov[batch], oiov[batch];
  sockaddr_in from[batch];
  uint64_t forwarded = 0, dropped = 0;
  while (!area->abort) {
    pollfd p[2] = {{front, POLLIN, 0}, {back, POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0)
      continue;
    for (int side = 0; side < 2; ++side) {
      if (!(p[side].revents & POLLIN))
        continue;
      int fd = side == 0 ? front : back;
      for (int i = 0; i < batch; ++i) {
        iov[i] = {bufs[i], sizeof(bufs[i])};
        std::memset(&in[i], 0, sizeof(in[i]));
        in[i].msg_hdr.msg_iov = &iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        in[i].msg_hdr.msg_name = &from[i];
        in[i].msg_hdr.msg_namelen = sizeof(from[i]);
      }
      int got = ::recvmmsg(fd, in, batch, MSG_DONTWAIT, nullptr);
      if (got <= 0)
        continue;
      int n = 0;
      for (int i = 0; i < got; ++i) {
        if (side == 0) {
          client = from[i];
          have_client = true;
        } else if (!have_client) {
          continue;
        }
        if (drop()) {
          ++dropped;
          continue;
        }
        oiov[n] = {bufs[i], in[i].msg_len};
        std::memset(&out[n], 0, sizeof(out[n]));
        out[n].msg_hdr.msg_iov = &oiov[n];
        out[n].msg_hdr.msg_iovlen = 1;
        out[n].msg_hdr.msg_name = side == 0 ? &target : &client;
        out[n].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        ++n;
      }
      if (n > 0) {
        int sent = ::sendmmsg(side == 0 ? back : front, out, n, 0);
        forwarded += sent > 0 ? sent : 0;
      }
      area->relay_forwarded.store(forwarded, std::memory_order_relaxed);
      area->relay_dropped.store(dropped, std::memory_order_relaxed);
    }
  }
  return 0;
}

} // namespace rudp_bench
