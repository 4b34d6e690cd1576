// crust-bench-peers: raw TCP, the transport limit. The same record framing
// as crust's DATA frames (u16 length, type, flags, a chunk of at most
// 16 KiB; a 64 KiB message is four records) without the handshake and
// without the AEAD. The client batches records into 256 KiB writes, as
// crust's connection does with what is queued: the best a framing on TCP
// can do. A "connection with full handshake" is TCP's own: connect, the
// server accepts and writes one byte, the client reads it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "bench/peers_bench.hpp"
#include "bench/peers_bench_dial.hpp"
#include "transports/wire.hpp"

namespace peers_bench {

namespace {

// crust's own framing constants: the same records, without the crypto.
constexpr size_t chunk = crust::wire::chunk_size;
constexpr auto type_data = static_cast<uint8_t>(crust::wire::frame_type::data);
constexpr uint8_t flag_last = crust::wire::flag_last;

// Appends `msg` as records.
void frame(const uint8_t* msg, size_t size, std::vector<char>& out) {
  size_t off = 0;
  do {
    size_t n = std::min(chunk, size - off);
    size_t len = n + 2;
    out.push_back(char(len >> 8));
    out.push_back(char(len & 0xff));
    out.push_back(char(type_data));
    out.push_back(char(off + n == size ? flag_last : 0));
    out.insert(out.end(), msg + off, msg + off + n);
    off += n;
  } while (off < size);
}

// Reassembles messages from records; calls `on_msg(first byte, size,
// whole record bytes when it was a single one)`.
struct deframer {
  std::vector<uint8_t> buf;
  size_t msg_size = 0;
  uint8_t first = 0;

  template <class F>
  void feed(const uint8_t* p, size_t n, F on_msg) {
    buf.insert(buf.end(), p, p + n);
    size_t pos = 0;
    while (buf.size() - pos >= 2) {
      size_t len = (size_t(buf[pos]) << 8) | buf[pos + 1];
      if (buf.size() - pos < 2 + len)
        break;
      const uint8_t* rec = buf.data() + pos + 2;
      size_t body = len - 2;
      if (msg_size == 0 && body > 0)
        first = rec[2];
      msg_size += body;
      if (rec[1] & flag_last) {
        on_msg(first, msg_size, buf.data() + pos, 2 + len);
        msg_size = 0;
      }
      pos += 2 + len;
    }
    buf.erase(buf.begin(), buf.begin() + pos);
  }
};

int listen_loopback(uint16_t& port) {
  // Non-blocking: the server accepts until EAGAIN, then polls again.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0
      || ::listen(fd, 4096) != 0)
    return -1;
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    auto w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}

} // namespace

// Every connection in one epoll loop: pings echoed, the rest counted;
// each accepted connection gets one byte (the connect/idle runs wait for
// it) and counts as completed.
int tcp_server(const job& j) {
  raise_fd_limit();
  uint16_t port = 0;
  int lfd = listen_loopback(port);
  if (lfd < 0) {
    PEERS_ERROR("tcp server: listen: %s", std::strerror(errno));
    return 1;
  }
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  shared->port = port;
  shared->server_ready = 1;
  std::unordered_map<int, deframer> conns;
  std::vector<uint8_t> buf(256 * 1024);
  epoll_event evs[256];
  bool greet = j.what != test::stream;
  while (!shared->base.abort) {
    int n = ::epoll_wait(ep, evs, 256, 50);
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0)
            break;
          int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          if (greet)
            (void)::send(c, "H", 1, MSG_NOSIGNAL);
          shared->completed.fetch_add(1, std::memory_order_relaxed);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          conns[c];
        }
        continue;
      }
      auto& d = conns[fd];
      for (;;) {
        auto got = ::recv(fd, buf.data(), buf.size(), 0);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
          break;
        if (got <= 0) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          ::close(fd);
          conns.erase(fd);
          break;
        }
        d.feed(buf.data(), size_t(got),
               [&](uint8_t first, size_t size, const uint8_t* rec, size_t rec_len) {
                 if (first == ping_mark && size == ping_size) {
                   write_all(fd, reinterpret_cast<const char*>(rec), rec_len);
                   return;
                 }
                 shared->rx_bytes.fetch_add(size, std::memory_order_relaxed);
                 shared->rx_msgs.fetch_add(1, std::memory_order_relaxed);
               });
      }
    }
  }
  return 0;
}

namespace {

// TCP's handshake is done when the server's byte arrives.
struct tcp_session : dial_session {
  void start(std::vector<char>&) override {}
  int on_bytes(const char*, size_t size, std::vector<char>&) override {
    return size > 0 ? 1 : 0;
  }
};

int tcp_stream(const job& j) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(shared->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    PEERS_ERROR("tcp client: connect: %s", std::strerror(errno));
    return 1;
  }
  // Ping-pong: one framed 64-byte message in flight.
  std::vector<char> out;
  std::vector<uint8_t> ping(ping_size, ping_mark), in(4096);
  frame(ping.data(), ping.size(), out);
  bool pinged = ping_pong(j, [&](int) {
    if (!write_all(fd, out.data(), out.size())) {
      PEERS_ERROR("tcp client: ping send failed");
      return false;
    }
    size_t want = out.size(), got = 0;
    while (got < want) {
      auto r = ::recv(fd, in.data(), in.size(), 0);
      if (r <= 0) {
        PEERS_ERROR("tcp client: ping answer lost");
        return false;
      }
      got += size_t(r);
    }
    return true;
  });
  if (!pinged)
    return 1;
  if (j.size == 0)
    return 0;
  // The stream: as many whole messages as fit a 256 KiB write.
  auto msg = rudp_bench::stream_payload(j.size);
  out.clear();
  do
    frame(msg.data(), msg.size(), out);
  while (out.size() + msg.size() + 4 * (msg.size() / chunk + 1) <= 256 * 1024);
  shared->streaming = 1;
  while (!shared->base.stop && !shared->base.abort)
    if (!write_all(fd, out.data(), out.size()))
      break;
  return 0;
}

} // namespace

int tcp_client(const job& j) {
  raise_fd_limit();
  if (j.what == test::stream)
    return tcp_stream(j);
  bool hold = j.what == test::idle;
  int count = hold ? j.conns / j.clients : 0;
  shared->clients_ready.fetch_add(1);
  if (hold && !rudp_bench::wait_for([] { return shared->go.load() != 0; }, 60))
    return 1;
  auto r = dial_many(shared->port, j.in_flight, count, hold, hold ? 60 : 30,
                     [](int) { return std::make_unique<tcp_session>(); },
                     [] { shared->clients_holding.fetch_add(1); });
  if (hold && r.done < uint64_t(count)) {
    PEERS_ERROR("tcp client: %llu of %d connections (%s)",
                (unsigned long long)r.done, count, r.first_error.c_str());
    return 1;
  }
  return 0;
}

} // namespace peers_bench
