#include "transports/io/udp_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "crust/errors.hpp"
#include "transports/io/socket_address.hpp"

namespace crust {

namespace {

bool to_sockaddr(const ip_endpoint& a, sockaddr_storage& ss, socklen_t& len) {
  return crust::to_sockaddr(a.ip, a.port, ss, len);
}

ip_endpoint udp_from(const sockaddr_storage& ss) {
  auto a = from_sockaddr(ss);
  return ip_endpoint{std::move(a.ip), a.port};
}

} // namespace

caf::expected<int> udp_bind(const std::string& host, uint16_t port) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!to_sockaddr(ip_endpoint{host, port}, ss, len))
    return make_error(errc::invalid_config, "not an IP address: " + host);
  int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return make_error(errc::invalid_config,
                      std::string{"socket: "} + std::strerror(errno));
  // Room for bursts: SCTP sends a window's worth at once.
  int size = 4 * 1024 * 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  // Runs of datagrams from one source may come as one buffer (udp_read_
  // batch cuts them); a kernel without UDP_GRO just delivers them singly.
  int on = 1;
  ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    auto why = std::string{"cannot bind udp "} + host + ":"
               + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return make_error(errc::invalid_config, why);
  }
  return fd;
}

void udp_close(int fd) {
  if (fd >= 0)
    ::close(fd);
}

bool udp_wait_readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0 && (p.revents & POLLIN);
}

bool udp_send_to(int fd, const ip_endpoint& to, const uint8_t* bytes,
                 size_t size) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!to_sockaddr(to, ss, len))
    return false;
  return ::sendto(fd, bytes, size, 0, reinterpret_cast<sockaddr*>(&ss), len)
         == static_cast<ssize_t>(size);
}

uint16_t udp_local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return 0;
  return from_sockaddr(ss).port;
}

size_t udp_segment_size(const msghdr& h, size_t len) {
  auto& m = const_cast<msghdr&>(h); // CMSG_NXTHDR takes no const
  for (auto c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int s = 0;
      std::memcpy(&s, CMSG_DATA(c), sizeof(s));
      if (s > 0)
        return static_cast<size_t>(s);
    }
  return len;
}

size_t udp_read(int fd, size_t max, const udp_each& each) {
  // With UDP_GRO the kernel hands over a run of datagrams from one source
  // as one buffer cut at gso_size, so each slot has room for 64 KiB. The
  // buffers are per thread and touched only as far as datagrams fill them.
  constexpr size_t slots = 32;
  constexpr size_t room = 65536;
  struct slot_control {
    alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(int))];
  };
  static thread_local std::unique_ptr<uint8_t[]> bufs{
    new uint8_t[slots * room]};
  static thread_local sockaddr_storage addrs[slots];
  static thread_local slot_control controls[slots];
  size_t total = 0;
  while (total < max) {
    mmsghdr msgs[slots];
    iovec iov[slots];
    for (size_t i = 0; i < slots; ++i) {
      iov[i] = {bufs.get() + i * room, room};
      std::memset(&msgs[i], 0, sizeof(msgs[i]));
      auto& h = msgs[i].msg_hdr;
      h.msg_iov = &iov[i];
      h.msg_iovlen = 1;
      h.msg_name = &addrs[i];
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_control = controls[i].bytes;
      h.msg_controllen = sizeof(controls[i].bytes);
    }
    int got = ::recvmmsg(fd, msgs, slots, MSG_DONTWAIT, nullptr);
    if (got <= 0)
      break;
    for (int i = 0; i < got; ++i) {
      auto p = bufs.get() + i * room;
      size_t len = msgs[i].msg_len;
      auto segment = udp_segment_size(msgs[i].msg_hdr, len);
      auto from = udp_from(addrs[i]); // one conversion for the whole run
      for (size_t at = 0; at < len; at += segment) {
        each(from, p + at, std::min(segment, len - at));
        ++total;
      }
    }
    if (static_cast<size_t>(got) < slots)
      break;
  }
  return total;
}

namespace {

// Datagrams that leave in one system call: up to 64 messages, each a run
// of datagrams for one destination that the kernel cuts into datagrams
// of the run's first size (UDP_SEGMENT, "GSO"); only a run's last
// datagram may be shorter.
constexpr size_t send_batch = 64;
constexpr size_t max_segments = 64;   // UDP_MAX_SEGMENTS of older kernels
constexpr size_t max_run_bytes = 65000; // inside IPv4's and IPv6's 64 KiB

struct send_slot {
  sockaddr_storage addr;
  socklen_t len = 0;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))];
};

// How many of out[from...] go in one run.
size_t run_length(const std::vector<datagram_channel::outgoing>& out,
                  size_t from, bool gso) {
  if (!gso)
    return 1;
  auto& first = out[from];
  auto segment = first.bytes.size();
  size_t bytes = segment, n = 1;
  while (from + n < out.size() && n < max_segments) {
    auto& next = out[from + n];
    if (next.bytes.size() > segment || bytes + next.bytes.size() > max_run_bytes
        || next.to.port != first.to.port || next.to.ip != first.to.ip)
      break;
    bytes += next.bytes.size();
    ++n;
    if (next.bytes.size() < segment)
      break; // a shorter one ends the run
  }
  return n;
}

} // namespace

void udp_send_all(int fd, const std::vector<datagram_channel::outgoing>& out,
                  bool& gso) {
  std::vector<iovec> iov(out.size()); // one per datagram, never moved
  mmsghdr msgs[send_batch];
  send_slot slots[send_batch];
  size_t starts[send_batch + 1];
  size_t i = 0;
  while (i < out.size()) {
    unsigned n = 0;
    while (n < send_batch && i < out.size()) {
      auto run = run_length(out, i, gso);
      auto& s = slots[n];
      if (!to_sockaddr(out[i].to, s.addr, s.len)) {
        i += run;
        continue;
      }
      for (size_t k = 0; k < run; ++k)
        iov[i + k] = {const_cast<uint8_t*>(out[i + k].bytes.data()),
                      out[i + k].bytes.size()};
      std::memset(&msgs[n], 0, sizeof(msgs[n]));
      auto& h = msgs[n].msg_hdr;
      h.msg_name = &s.addr;
      h.msg_namelen = s.len;
      h.msg_iov = &iov[i];
      h.msg_iovlen = run;
      if (run > 1) {
        h.msg_control = s.control;
        h.msg_controllen = sizeof(s.control);
        auto c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        auto segment = static_cast<uint16_t>(out[i].bytes.size());
        std::memcpy(CMSG_DATA(c), &segment, sizeof(segment));
      }
      starts[n] = i;
      i += run;
      ++n;
    }
    starts[n] = i;
    unsigned sent = 0;
    while (sent < n) {
      int r = ::sendmmsg(fd, msgs + sent, n - sent, MSG_DONTWAIT);
      if (r > 0) {
        sent += static_cast<unsigned>(r);
        continue;
      }
      if (gso && msgs[sent].msg_hdr.msg_iovlen > 1
          && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT
              || errno == EOPNOTSUPP)) {
        // This path cannot segment for us: one datagram per message from
        // here on, starting again with the run it refused.
        gso = false;
        i = starts[sent];
        break;
      }
      ++sent; // the kernel refused this one (a full buffer): dropped, as
              // the network would drop it
    }
  }
}

} // namespace crust
