#include "transports/udp_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crust/errors.hpp"
#include "transports/socket_address.hpp"

namespace crust {

namespace {

bool to_sockaddr(const udp_address& a, sockaddr_storage& ss, socklen_t& len) {
  return crust::to_sockaddr(a.ip, a.port, ss, len);
}

udp_address udp_from(const sockaddr_storage& ss) {
  auto a = from_sockaddr(ss);
  return udp_address{std::move(a.ip), a.port};
}

} // namespace

caf::expected<int> udp_bind(const std::string& host, uint16_t port) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!to_sockaddr(udp_address{host, port}, ss, len))
    return make_error(errc::invalid_config, "not an IP address: " + host);
  int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return make_error(errc::invalid_config,
                      std::string{"socket: "} + std::strerror(errno));
  // Room for bursts: SCTP sends a window's worth at once.
  int size = 4 * 1024 * 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    auto why = std::string{"cannot bind udp "} + host + ":"
               + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return make_error(errc::invalid_config, why);
  }
  return fd;
}

uint16_t udp_local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return 0;
  return from_sockaddr(ss).port;
}

size_t udp_read_batch(int fd, std::vector<udp_datagram>& out, size_t max) {
  constexpr size_t batch = 64;
  constexpr size_t room = datagram::max_size + 1; // +1: tell "too long"
  static thread_local std::vector<uint8_t> bufs(batch * room);
  static thread_local std::vector<sockaddr_storage> addrs(batch);
  size_t total = 0;
  while (total < max) {
    mmsghdr msgs[batch];
    iovec iov[batch];
    auto n = std::min(batch, max - total);
    for (size_t i = 0; i < n; ++i) {
      iov[i] = {bufs.data() + i * room, room};
      std::memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    int got = ::recvmmsg(fd, msgs, static_cast<unsigned>(n), MSG_DONTWAIT,
                         nullptr);
    if (got <= 0)
      break;
    for (int i = 0; i < got; ++i) {
      auto p = bufs.data() + i * room;
      out.push_back({udp_from(addrs[i]),
                     std::vector<uint8_t>(p, p + msgs[i].msg_len)});
    }
    total += static_cast<size_t>(got);
    if (static_cast<size_t>(got) < n)
      break;
  }
  return total;
}

void udp_send_all(int fd,
                  const std::vector<datagram_channel::outgoing>& out) {
  constexpr size_t batch = 64;
  mmsghdr msgs[batch];
  iovec iov[batch];
  sockaddr_storage addrs[batch];
  size_t i = 0;
  while (i < out.size()) {
    unsigned n = 0;
    for (; n < batch && i < out.size(); ++i) {
      auto& o = out[i];
      socklen_t len = 0;
      if (!to_sockaddr(o.to, addrs[n], len))
        continue;
      iov[n] = {const_cast<uint8_t*>(o.bytes.data()), o.bytes.size()};
      std::memset(&msgs[n], 0, sizeof(msgs[n]));
      msgs[n].msg_hdr.msg_name = &addrs[n];
      msgs[n].msg_hdr.msg_namelen = len;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      ++n;
    }
    unsigned sent = 0;
    while (sent < n) {
      int r = ::sendmmsg(fd, msgs + sent, n - sent, MSG_DONTWAIT);
      if (r <= 0) {
        ++sent; // the kernel refused this one: dropped
        continue;
      }
      sent += static_cast<unsigned>(r);
    }
  }
}

} // namespace crust
