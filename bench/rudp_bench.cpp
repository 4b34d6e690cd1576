// Reliable UDP against its ceiling and its rival, in the same run:
//   raw UDP   1200-byte datagrams from one socket to another, the sender
//             paced by a window on the receiver's highest sequence number
//             (so the receiver is never swamped); what arrives counts;
//   rudp      two crust services over udp:// (Noise + ChaCha20-Poly1305
//             per datagram, usrsctp on top): bulk 64 KiB messages (MB/s
//             delivered) and a ping-pong of 32-byte messages (RTT p50/p99);
//   TCP       the same two figures over tcp://, the secure TCP path.
// Every side runs in a process of its own (fork()): each crust side has
// its own actor system, so the two rudp engines never share a thread, and
// the parent only orchestrates (it never starts CAF). Both sides also note
// their CPU time over the counted window: MB per CPU-second tells cost
// apart from a busy machine.
//
// Paths: loopback (127.0.0.1) at 0% loss is the headline. Loss (1%, 5%),
// as root: two network namespaces joined by a veth (TSO/GSO/GRO off, so a
// drop is one wire packet) with `numgen random mod 100 < N drop` in each
// namespace's input hook (both directions), for all three, plus the same
// veth at 0% as their baseline. Without root (or --loss-via=relay): a
// userspace UDP relay process on loopback drops a seeded share of
// datagrams in both directions, for raw UDP and rudp alike; TCP under loss
// then needs root and is not measured.
//
// At 0% loss each figure is the best of two runs (load only ever slows a
// run); the three alternate, so a neighbour's burst does not hit one only.
// A crust pair that fails before its bulk phase is started again (up to 3
// times) and the failure is printed and kept in the JSON.
//
// crust's per-peer rate limits (max-bytes/records-per-sec, 128 MiB/s by
// default) are raised to their maximum: the bench measures the transport,
// not the policy. Everything else is crust's default.
//
//   crust-bench-rudp            the full run (< 2 min), JSON to
//                               bench/results/rudp.json
//   crust-bench-rudp --quick    loopback and 5% loss, shorter (< 20 s)
//   crust-bench-rudp --smoke    a few messages each way, on loopback and
//                               through the relay at 1% (ctest); exit 1
//                               when a pair moved nothing; no JSON
// Options: --json=PATH (a quick or partial run writes JSON only when
// given one), --loss-via=auto|netns|relay, --only=udp|rudp|tcp
// (repeatable), --loopback-only and --bulk-seconds=S (for profiling),
// --scheduler=sharing (CAF's sharing scheduler in every crust process).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "crust/crust.hpp"

#ifndef CRUST_SOURCE_DIR
#define CRUST_SOURCE_DIR "."
#endif

namespace {

using namespace std::chrono_literals;

// -- settings -----------------------------------------------------------------

enum class mode { full, quick, smoke };

struct timing {
  double udp_warm, udp_window;   // raw UDP: seconds before and of counting
  int pings_warm, pings;         // ping-pong: unmeasured, measured
  double ping_limit;             // ...and at most this long
  double bulk_warm, bulk_window; // bulk: seconds before and of counting
  double answer_limit;           // a ping unanswered this long: failed
  int attempts;                  // a pair that fails before bulk: again
  int repeats;                   // runs at 0% loss (the best counts)
};

timing timing_for(mode m) {
  switch (m) {
    case mode::smoke:
      return {0.05, 0.25, 3, 20, 2.0, 0.1, 0.25, 3.0, 3, 1};
    case mode::quick:
      return {0.1, 0.5, 20, 500, 1.0, 0.2, 1.0, 5.0, 2, 1};
    case mode::full:
      break;
  }
  return {0.1, 1.0, 50, 2000, 3.0, 0.3, 2.0, 10.0, 3, 2};
}

// Rates are counted in sub-windows of this length too: the best one hints
// at what a run would give without a neighbour's load.
constexpr double sub_window = 0.25;
constexpr int max_subs = 64;

constexpr size_t udp_payload = 1200;
constexpr uint64_t udp_window_pkts = 256; // datagrams in flight, raw UDP
constexpr size_t bulk_size = 64 * 1024;
constexpr size_t ping_size = 32;
constexpr int bulk_outstanding = 16; // sends awaiting the service's answer
constexpr uint64_t relay_seed = 0x5eed'c0de'2024ull;
constexpr const char* ip_a = "10.99.0.1";
constexpr const char* ip_b = "10.99.0.2";

// Set by --scheduler=sharing (an experiment: CAF's condition-variable
// scheduler instead of the default work stealing, which polls and sleeps).
bool sharing_scheduler = false;

double now_s() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts); // one clock for every process
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// -- what the processes share ---------------------------------------------------

// One anonymous shared page, mapped before fork(): flags and results.
struct shared_area {
  std::atomic<uint32_t> b_ready{0};
  std::atomic<uint32_t> relay_ready{0};
  uint16_t b_port = 0;
  uint16_t relay_port = 0;
  std::atomic<uint32_t> stop{0};   // the receiver's window closed
  std::atomic<uint32_t> abort{0};  // the parent says: everyone out
  std::atomic<uint32_t> a_ping_done{0};
  std::atomic<uint32_t> b_done{0};
  std::atomic<uint32_t> a_failed{0};
  std::atomic<double> bulk_started{0};      // when A began bulk
  std::atomic<uint64_t> max_seq{0};         // raw UDP: highest seq + 1 seen
  std::atomic<uint64_t> relay_forwarded{0};
  std::atomic<uint64_t> relay_dropped{0};
  // The receiver's counting window: 1 open, 2 closed. Each side notes its
  // CPU time (all threads) at both edges: CPU per MB, whatever the load.
  std::atomic<uint32_t> window{0};
  double a_cpu[2] = {-1, -1};
  double b_cpu[2] = {-1, -1};
  // results
  double connect_s = 0;
  uint32_t pings = 0;
  double p50_us = 0, p99_us = 0;
  uint64_t bytes = 0;
  double secs = 0;
  uint64_t sub_bytes[max_subs] = {0};
  int subs = 0;
  char a_error[240] = {0};
  char b_error[240] = {0};
};

shared_area* area = nullptr;

double cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// The sender's side of the CPU count: call often while sending.
void note_sender_cpu() {
  auto w = area->window.load(std::memory_order_acquire);
  if (w >= 1 && area->a_cpu[0] < 0)
    area->a_cpu[0] = cpu_s();
  if (w >= 2 && area->a_cpu[1] < 0)
    area->a_cpu[1] = cpu_s();
}

// The receiver's count: from the first arrival, `warm` seconds uncounted,
// then `window` seconds counted (and split into sub-windows).
struct window_counter {
  double warm, window;
  double first = 0, start = 0, end = 0;
  uint64_t bytes = 0;
  uint64_t subs[max_subs] = {0};
  int n = 1;

  window_counter(double w, double len) : warm(w), window(len) {
    n = std::clamp(int(std::lround(window / sub_window)), 1, max_subs);
  }

  bool started() const {
    return first != 0;
  }

  void begin(double now) {
    first = now;
    start = first + warm;
    end = start + window;
  }

  void add(double now, size_t size) {
    if (!started())
      begin(now);
    if (now >= start && area->window == 0) {
      area->b_cpu[0] = cpu_s();
      area->window = 1;
    }
    if (now >= start && now < end) {
      bytes += size;
      auto i = std::min(n - 1, int((now - start) / window * n));
      subs[i] += size;
    }
  }

  bool closed(double now) const {
    return started() && now >= end;
  }

  // Into the shared page; `upto` cuts the window short (the peer is gone).
  void publish(double upto = 0) {
    area->b_cpu[1] = cpu_s();
    area->window = 2;
    area->bytes = bytes;
    area->secs = upto > start ? std::min(window, upto - start) : window;
    area->subs = n;
    std::copy(subs, subs + n, area->sub_bytes);
  }
};

void set_error(char* where, const char* fmt, ...) {
  if (where[0])
    return; // the first error is the one that matters
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(where, sizeof(shared_area::a_error), fmt, ap);
  va_end(ap);
}

// -- processes ----------------------------------------------------------------

std::vector<pid_t> children;
volatile sig_atomic_t interrupted = 0;

void on_signal(int) {
  interrupted = 1;
}

bool enter_netns(const std::string& ns) {
  auto path = "/var/run/netns/" + ns;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = ::setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return ok;
}

// Runs `body` in a child process (in namespace `ns` when given); the child
// dies with the parent and after `limit_s` at the latest.
pid_t spawn(const std::string& ns, unsigned limit_s,
            const std::function<int()>& body) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::alarm(limit_s);
    if (!ns.empty() && !enter_netns(ns)) {
      std::fprintf(stderr, "rudp_bench: cannot enter namespace %s\n",
                   ns.c_str());
      ::_exit(3);
    }
    int rc = body();
    std::fflush(stdout);
    std::fflush(stderr);
    // No teardown: the actor systems (and their sockets) end with the
    // process; the figures are already in the shared page.
    ::_exit(rc);
  }
  children.push_back(pid);
  return pid;
}

// Waits until `cond` holds; false after `limit_s` or on ^C.
bool wait_for(const std::function<bool()>& cond, double limit_s) {
  auto deadline = now_s() + limit_s;
  while (!cond()) {
    if (interrupted || now_s() > deadline)
      return false;
    ::usleep(1000);
  }
  return true;
}

// Collects every child: asks them out, then kills the ones that linger.
void reap_all(double grace_s = 2.0) {
  area->abort = 1;
  auto deadline = now_s() + grace_s;
  for (auto pid : children) {
    for (;;) {
      int status;
      auto r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno != EINTR))
        break;
      if (now_s() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      ::usleep(1000);
    }
  }
  children.clear();
}

// -- sockets ------------------------------------------------------------------

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
  int size = 4 * 1024 * 1024; // as transports/udp_socket.cpp
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

// -- raw UDP ------------------------------------------------------------------

int udp_receiver(const std::string& ip, const timing& t) {
  uint16_t port = 0;
  int fd = udp_socket(ip, port);
  if (fd < 0) {
    set_error(area->b_error, "receiver: bind %s: %s", ip.c_str(),
              std::strerror(errno));
    return 1;
  }
  area->b_port = port;
  area->b_ready = 1;
  constexpr int batch = 64;
  static char bufs[batch][2048];
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
    }
    int got = ::recvmmsg(fd, msgs, batch, MSG_WAITFORONE, nullptr);
    auto now = now_s();
    if (got > 0) {
      for (int i = 0; i < got; ++i) {
        uint64_t seq;
        std::memcpy(&seq, bufs[i], sizeof(seq));
        max_seq = std::max(max_seq, seq + 1);
        wc.add(now, msgs[i].msg_len);
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
               uint16_t to_port) {
  uint16_t port = 0;
  int fd = udp_socket(ip, port);
  if (fd < 0) {
    set_error(area->a_error, "sender: bind %s: %s", ip.c_str(),
              std::strerror(errno));
    return 1;
  }
  auto to = v4(to_ip, to_port);
  constexpr int batch = 32;
  static char bufs[batch][udp_payload];
  std::memset(bufs, 0xab, sizeof(bufs));
  mmsghdr msgs[batch];
  iovec iov[batch];
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
    int n = static_cast<int>(
      std::min<uint64_t>(batch, udp_window_pkts - in_flight));
    for (int i = 0; i < n; ++i) {
      uint64_t s = seq + i;
      std::memcpy(bufs[i], &s, sizeof(s));
      iov[i] = {bufs[i], udp_payload};
      std::memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &to;
      msgs[i].msg_hdr.msg_namelen = sizeof(to);
    }
    int sent = ::sendmmsg(fd, msgs, n, 0);
    if (sent > 0)
      seq += sent;
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

// -- crust ----------------------------------------------------------------------

crust::service_options bench_options(const std::string& ip) {
  crust::service_options o;
  o.listen_address = ip;
  o.upnp = false;
  o.beacon = false;
  o.peer_exchange = false;
  o.min_connections = 0;
  auto most = std::numeric_limits<uint32_t>::max();
  o.max_bytes_per_sec = most;
  o.max_bytes_per_sec_per_ip = most;
  o.max_records_per_sec = most;
  o.max_records_per_sec_per_ip = most;
  return o;
}

// Whatever else a service tells its handler: ignored, without an answer.
auto ignore_rest() {
  return caf::others >> [](caf::message_view&) -> caf::result<caf::message> {
    return caf::delegated<caf::message>{};
  };
}

// Spawns a service on `ip`; its handler is `self`. Returns its port (0 and
// an error in `err` when it fails).
uint16_t start_service(caf::actor_system& sys, caf::scoped_actor& self,
                       const std::string& ip, caf::actor& svc, char* err,
                       const char* role) {
  auto s = crust::spawn_service(sys, bench_options(ip), caf::actor{self});
  if (!s) {
    set_error(err, "%s: spawn_service: %s", role, sys.render(s.error()).c_str());
    return 0;
  }
  svc = *s;
  uint16_t port = 0;
  bool timed_out = false;
  while (port == 0 && !timed_out)
    self->receive(
      [&](crust::listening& l) {
        for (auto& e : l.endpoints)
          port = e.port;
      },
      [&](crust::service_failed& f) {
        set_error(err, "%s: service failed: %s", role, f.reason.c_str());
        timed_out = true;
      },
      ignore_rest(), caf::after(10s) >> [&] { timed_out = true; });
  if (port == 0)
    set_error(err, "%s: the service did not listen within 10 s", role);
  return port;
}

// B: keeps whoever connects, echoes small messages, counts big ones.
int crust_server(const std::string& ip, const timing& t) {
  // Never destroyed: the process ends with _exit() (an actor system's
  // destructor would wait for the service, which never stops by itself).
  auto& cfg = *new crust::config;
  if (sharing_scheduler)
    cfg.set("scheduler.policy", caf::atom("sharing"));
  auto& sys = *new caf::actor_system{cfg};
  auto& self = *new caf::scoped_actor{sys};
  caf::actor svc;
  auto port = start_service(sys, self, ip, svc, area->b_error, "listener");
  if (port == 0)
    return 1;
  area->b_port = port;
  area->b_ready = 1;
  window_counter wc{t.bulk_warm, t.bulk_window};
  while (!area->abort) {
    bool done = false, lost = false;
    self->receive(
      [&](crust::new_peer& np) { self->send(svc, crust::keep{np.peer}); },
      [&](crust::message& m) {
        if (m.bytes.size() <= 64) {
          self->send(svc, crust::send{m.peer, std::move(m.bytes),
                                      crust::priority::normal});
          return;
        }
        wc.add(now_s(), m.bytes.size());
      },
      [&](crust::peer_lost& pl) {
        set_error(area->b_error, "listener: peer lost: %s", pl.reason.c_str());
        lost = true;
      },
      [&](crust::misbehaving& x) {
        set_error(area->b_error, "listener: misbehaving(%s): %s",
                  crust::to_string(x.kind).c_str(), x.detail.c_str());
      },
      ignore_rest(), caf::after(20ms) >> [] {});
    auto now = now_s();
    done = wc.closed(now);
    // Bulk began and nothing arrived for long: report zero.
    double began = area->bulk_started;
    if (!wc.started() && began != 0
        && now > began + t.bulk_warm + t.bulk_window + 5) {
      set_error(area->b_error, "listener: no bulk message arrived");
      done = true;
    }
    if (done || lost) {
      wc.publish(lost ? now : 0);
      area->b_done = 1;
      area->stop = 1;
      return lost ? 1 : 0;
    }
  }
  return 1;
}

double percentile(std::vector<double>& xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto rank = static_cast<size_t>(std::ceil(q * double(xs.size())));
  return xs[std::min(xs.size(), std::max<size_t>(rank, 1)) - 1];
}

// A: dials B, ping-pongs, then sends bulk until B's window closed.
int crust_client(const std::string& ip, const crust::endpoint& target,
                 const timing& t) {
  // Never destroyed: the process ends with _exit() (an actor system's
  // destructor would wait for the service, which never stops by itself).
  auto& cfg = *new crust::config;
  if (sharing_scheduler)
    cfg.set("scheduler.policy", caf::atom("sharing"));
  auto& sys = *new caf::actor_system{cfg};
  auto& self = *new caf::scoped_actor{sys};
  caf::actor svc;
  if (start_service(sys, self, ip, svc, area->a_error, "dialer") == 0) {
    area->a_failed = 1;
    return 1;
  }
  auto t0 = now_s();
  self->send(svc, crust::connect{target});
  std::optional<crust::peer_id> peer;
  bool failed = false;
  while (!peer && !failed && !area->abort)
    self->receive(
      [&](crust::new_peer& np) { peer = np.peer; },
      [&](crust::connection_failed& f) {
        set_error(area->a_error, "dialer: connect %s: %s", f.target.c_str(),
                  f.reason.c_str());
        failed = true;
      },
      [&](crust::misbehaving& x) {
        set_error(area->a_error, "dialer: misbehaving(%s): %s",
                  crust::to_string(x.kind).c_str(), x.detail.c_str());
      },
      ignore_rest(), caf::after(30s) >> [&] {
        set_error(area->a_error, "dialer: connect: no answer in 30 s");
        failed = true;
      });
  if (!peer) {
    area->a_failed = 1;
    return 1;
  }
  self->request(svc, 10s, crust::keep{*peer})
    .receive([](caf::ok_atom) {},
             [&](caf::error& e) {
               set_error(area->a_error, "dialer: keep: %s", sys.render(e).c_str());
               failed = true;
             });
  if (failed) {
    area->a_failed = 1;
    return 1;
  }
  area->connect_s = now_s() - t0;

  // Ping-pong: one 32-byte message in flight; B echoes it.
  std::vector<double> rtts;
  auto deadline = now_s() + t.ping_limit;
  for (uint32_t n = 0; n < uint32_t(t.pings_warm + t.pings) && !failed; ++n) {
    if (n == uint32_t(t.pings_warm))
      deadline = now_s() + t.ping_limit; // the limit counts measured pings
    else if (n > uint32_t(t.pings_warm) && now_s() > deadline)
      break;
    std::vector<uint8_t> ping(ping_size, 0x50);
    std::memcpy(ping.data(), &n, sizeof(n));
    auto sent_at = now_s();
    self->send(svc, crust::send{*peer, std::move(ping), crust::priority::normal});
    bool back = false;
    while (!back && !failed)
      self->receive(
        [&](crust::message& m) {
          uint32_t echo = ~0u;
          if (m.bytes.size() == ping_size)
            std::memcpy(&echo, m.bytes.data(), sizeof(echo));
          if (echo == n) {
            back = true;
            if (n >= uint32_t(t.pings_warm))
              rtts.push_back((now_s() - sent_at) * 1e6);
          }
        },
        [&](caf::error& e) {
          set_error(area->a_error, "dialer: ping send: %s", sys.render(e).c_str());
          failed = true;
        },
        [&](crust::peer_lost& pl) {
          set_error(area->a_error, "dialer: peer lost: %s", pl.reason.c_str());
          failed = true;
        },
        ignore_rest(),
        caf::after(std::chrono::duration_cast<caf::timespan>(
          std::chrono::duration<double>(t.answer_limit))) >> [&] {
          set_error(area->a_error, "dialer: a ping got no answer in %.0f s", t.answer_limit);
          failed = true;
        });
  }
  area->pings = static_cast<uint32_t>(rtts.size());
  area->p50_us = percentile(rtts, 0.50);
  area->p99_us = percentile(rtts, 0.99);
  area->a_ping_done = 1;
  if (failed) {
    area->a_failed = 1;
    return 1;
  }

  // Bulk: keep the send queue full. Sends go as requests (a plain send
  // gets no answer), a few in flight; send_queue_full means not queued:
  // give the queue a moment.
  std::vector<uint8_t> payload(bulk_size);
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
  area->bulk_started = now_s();
  using handle = decltype(self->request(svc, 10s, crust::send{}));
  std::deque<handle> pending;
  while (!area->stop && !area->abort && !failed) {
    note_sender_cpu();
    while (pending.size() < size_t(bulk_outstanding))
      pending.push_back(self->request(
        svc, 10s, crust::send{*peer, payload, crust::priority::normal}));
    bool full = false;
    pending.front().receive(
      [&](caf::ok_atom) {},
      [&](caf::error& e) {
        if (e.category() == crust::error_category
            && e.code() == static_cast<uint8_t>(crust::errc::send_queue_full)) {
          full = true;
        } else if (area->stop) {
          // The window is over and the listener may be gone already: its
          // connection's end is no failure of the run.
          failed = false;
        } else {
          set_error(area->a_error, "dialer: bulk send: %s", sys.render(e).c_str());
          failed = true;
        }
      });
    pending.pop_front();
    if (full)
      std::this_thread::sleep_for(1ms);
  }
  note_sender_cpu();
  if (failed)
    area->a_failed = 1;
  return failed ? 1 : 0;
}

// -- network namespaces ------------------------------------------------------------

bool run_cmd(const std::string& cmd, const std::string& input = {}) {
  auto full = cmd + " >/dev/null 2>&1";
  if (input.empty())
    return std::system(full.c_str()) == 0;
  FILE* p = ::popen(full.c_str(), "w");
  if (!p)
    return false;
  std::fwrite(input.data(), 1, input.size(), p);
  return ::pclose(p) == 0;
}

// TSO/GSO/GRO off: every skb the nft rule sees is one wire packet.
bool offloads_off(const std::string& ns, const char* dev) {
  int self_ns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self_ns < 0 || !enter_netns(ns))
    return false;
  bool ok = true;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  for (uint32_t cmd : {ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO}) {
    ethtool_value v{cmd, 0};
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
    ifr.ifr_data = reinterpret_cast<char*>(&v);
    ok &= ::ioctl(fd, SIOCETHTOOL, &ifr) == 0;
  }
  ::close(fd);
  ok &= ::setns(self_ns, CLONE_NEWNET) == 0;
  ::close(self_ns);
  return ok;
}

struct netns_pair {
  std::string a, b;
  bool up = false;

  // Namespaces of earlier runs whose process is gone.
  static void clean_stale() {
    FILE* p = ::popen("ip netns list 2>/dev/null", "r");
    if (!p)
      return;
    char line[256];
    std::set<std::string> stale;
    while (std::fgets(line, sizeof(line), p)) {
      int pid = 0;
      char side = 0;
      if (std::sscanf(line, "crbench-%d-%c", &pid, &side) == 2
          && ::kill(pid, 0) != 0 && errno == ESRCH)
        stale.insert(std::string{line, std::strcspn(line, " \n")});
    }
    ::pclose(p);
    for (auto& ns : stale)
      run_cmd("ip netns del " + ns);
  }

  bool create() {
    clean_stale();
    auto id = "crbench-" + std::to_string(::getpid());
    a = id + "-a";
    b = id + "-b";
    up = true; // from here on, destroy() has something to do
    bool ok = run_cmd("ip netns add " + a) && run_cmd("ip netns add " + b)
              && run_cmd("ip -n " + a + " link add va type veth peer name vb netns " + b)
              && run_cmd("ip -n " + a + " addr add " + ip_a + "/24 dev va")
              && run_cmd("ip -n " + b + " addr add " + ip_b + "/24 dev vb")
              && run_cmd("ip -n " + a + " link set lo up")
              && run_cmd("ip -n " + b + " link set lo up")
              && run_cmd("ip -n " + a + " link set va up")
              && run_cmd("ip -n " + b + " link set vb up")
              && offloads_off(a, "va") && offloads_off(b, "vb");
    return ok && loss(0);
  }

  // `percent` of the packets each namespace receives are dropped.
  bool loss(int percent) {
    for (auto& ns : {a, b}) {
      std::string rules = "table inet crbench\ndelete table inet crbench\n"
                          "table inet crbench {\n chain in {\n"
                          "  type filter hook input priority 0; policy accept;\n";
      if (percent > 0)
        rules += "  numgen random mod 100 < " + std::to_string(percent)
                 + " counter drop\n";
      rules += " }\n}\n";
      if (!run_cmd("ip netns exec " + ns + " nft -f -", rules))
        return false;
    }
    return true;
  }

  void destroy() {
    if (!up)
      return;
    up = false;
    run_cmd("ip netns del " + a);
    run_cmd("ip netns del " + b);
  }
};

netns_pair lab;

// -- one measurement ----------------------------------------------------------------

enum class proto { udp, rudp, tcp };

const char* name_of(proto p) {
  return p == proto::udp ? "raw UDP" : p == proto::rudp ? "rudp" : "TCP";
}

struct path {
  std::string label;   // for the table
  std::string key;     // for the JSON
  int loss = 0;        // percent
  bool netns = false;  // A in lab.a (ip_a), B in lab.b (ip_b)
  bool relay = false;  // through the lossy relay on loopback
};

struct figures {
  bool ran = false, ok = false;
  double mbps = 0;         // payload MB/s delivered
  double best_mbps = 0;    // in the best sub-window
  double mb_per_cpu = 0;   // MB delivered per CPU-second, both sides
  uint64_t bytes = 0;
  double secs = 0;
  int attempts = 1;        // pairs started (retries included)
  int runs = 1;            // measurements merged (best counts)
  std::string earlier;     // why failed attempts failed
  double p50 = 0, p99 = 0; // µs
  uint32_t pings = 0;
  double connect_s = 0;
  uint64_t relay_fwd = 0, relay_drop = 0;
  std::string error;
};

void reset_area() {
  area->~shared_area();
  new (area) shared_area{};
}

figures measure(proto p, const path& where, const timing& t) {
  figures f;
  f.ran = true;
  reset_area();
  std::string ns_a = where.netns ? lab.a : "", ns_b = where.netns ? lab.b : "";
  std::string a_ip = where.netns ? ip_a : "127.0.0.1";
  std::string b_ip = where.netns ? ip_b : "127.0.0.1";
  // Generous per-process limits; the parent's deadline below is tighter.
  unsigned limit = 60;
  if (p == proto::udp)
    spawn(ns_b, limit, [&] { return udp_receiver(b_ip, t); });
  else
    spawn(ns_b, limit, [&] { return crust_server(b_ip, t); });
  if (!wait_for([] { return area->b_ready.load() != 0; }, 15)) {
    f.error = area->b_error[0] ? area->b_error : "receiver did not start";
    reap_all();
    return f;
  }
  std::string to_ip = b_ip;
  uint16_t to_port = area->b_port;
  if (where.relay) {
    double loss = where.loss / 100.0;
    spawn("", limit, [&] { return relay(loss, b_ip, area->b_port); });
    if (!wait_for([] { return area->relay_ready.load() != 0; }, 5)) {
      f.error = "relay did not start";
      reap_all();
      return f;
    }
    to_ip = "127.0.0.1";
    to_port = area->relay_port;
  }
  if (p == proto::udp) {
    spawn(ns_a, limit, [&] { return udp_sender(a_ip, to_ip, to_port); });
  } else {
    crust::endpoint target{p == proto::rudp ? crust::transport::rudp
                                            : crust::transport::tcp,
                           to_ip, to_port, {}};
    spawn(ns_a, limit, [&] { return crust_client(a_ip, target, t); });
  }
  // Connect (loss may cost retransmissions) + pings + bulk, with margin.
  double budget = 10 + t.ping_limit + t.bulk_warm + t.bulk_window + 8;
  bool done = wait_for(
    [] { return area->b_done.load() != 0 || area->a_failed.load() != 0; },
    budget);
  f.relay_fwd = area->relay_forwarded;
  f.relay_drop = area->relay_dropped;
  reap_all();
  if (area->a_error[0])
    f.error = area->a_error;
  if (area->b_error[0])
    f.error += (f.error.empty() ? "" : "; ") + std::string{area->b_error};
  if (f.error.empty() && !done)
    f.error = interrupted ? "interrupted" : "no result before the deadline";
  if (area->b_done && area->secs > 0) {
    f.bytes = area->bytes;
    f.secs = area->secs;
    f.mbps = double(area->bytes) / area->secs / 1e6;
    double each = area->secs / area->subs;
    for (int i = 0; i < area->subs; ++i)
      f.best_mbps = std::max(f.best_mbps, area->sub_bytes[i] / each / 1e6);
    double cpu = 0;
    bool known = true;
    for (auto* c : {area->a_cpu, area->b_cpu}) {
      known &= c[0] >= 0 && c[1] >= c[0];
      cpu += c[1] - c[0];
    }
    if (known && cpu > 0)
      f.mb_per_cpu = double(area->bytes) / 1e6 / cpu;
  }
  if (area->a_ping_done) {
    f.pings = area->pings;
    f.p50 = area->p50_us;
    f.p99 = area->p99_us;
  }
  f.connect_s = area->connect_s;
  f.ok = f.error.empty() && area->b_done && area->bytes > 0
         && (p == proto::udp || (area->a_ping_done && area->pings > 0));
  return f;
}

// A crust pair that fails before its bulk phase (connect, pings) runs
// again, and says why (rudp's SELECT race: see the report).
figures measure_retrying(proto p, const path& where, const timing& t) {
  auto f = measure(p, where, t);
  for (int n = 1; n < t.attempts && !f.ok && f.bytes == 0 && !interrupted;
       ++n) {
    auto why = f.error.empty() ? std::string{"no result"} : f.error;
    auto again = measure(p, where, t);
    again.attempts = f.attempts + 1;
    again.earlier = f.earlier.empty() ? why : f.earlier + "; " + why;
    f = std::move(again);
  }
  return f;
}

// Of several runs the best counts (load only ever slows a run): the best
// rate, and the round trips of the run with the lowest median.
void merge(figures& into, const figures& f) {
  if (!into.ran) {
    into = f;
    into.runs = 1;
    return;
  }
  int runs = into.runs + 1;
  auto earlier = into.earlier;
  if (f.attempts > 1)
    earlier += (earlier.empty() ? "" : "; ") + f.earlier;
  int attempts = into.attempts + f.attempts;
  if (f.ok && (!into.ok || f.mbps > into.mbps)) {
    into.mbps = f.mbps;
    into.mb_per_cpu = f.mb_per_cpu;
    into.bytes = f.bytes;
    into.secs = f.secs;
    into.relay_fwd = f.relay_fwd;
    into.relay_drop = f.relay_drop;
  }
  into.best_mbps = std::max(into.best_mbps, f.best_mbps);
  if (f.pings > 0 && (into.pings == 0 || f.p50 < into.p50)) {
    into.p50 = f.p50;
    into.p99 = f.p99;
    into.pings = f.pings;
    into.connect_s = f.connect_s;
  }
  if (f.ok && !into.ok) {
    into.ok = true;
    into.error.clear();
  } else if (!f.ok && !f.error.empty()) {
    earlier += (earlier.empty() ? "" : "; ") + f.error;
  }
  into.runs = runs;
  into.attempts = attempts;
  into.earlier = earlier;
}

// -- report ---------------------------------------------------------------------------

struct row {
  path where;
  figures udp, rudp, tcp;
};

std::string cell(const figures& f, double v, const char* fmt) {
  if (!f.ran)
    return "–";
  if (!f.ok && v == 0)
    return "fail";
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

std::string ratio(const figures& x, const figures& y) {
  if (!x.ran || !y.ran || y.mbps <= 0)
    return "–";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f%%", 100 * x.mbps / y.mbps);
  return buf;
}

void print_table(const std::vector<row>& rows) {
  std::printf(
    "\n| path | loss | raw UDP MB/s | rudp MB/s | TCP MB/s | rudp/UDP | "
    "rudp/TCP | rudp RTT p50/p99 µs | TCP RTT p50/p99 µs |\n"
    "|---|---|---|---|---|---|---|---|---|\n");
  for (auto& r : rows) {
    auto rtt = [](const figures& f) {
      if (!f.ran)
        return std::string{"–"};
      if (f.pings == 0)
        return std::string{"fail"};
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.0f / %.0f", f.p50, f.p99);
      return std::string{buf};
    };
    std::printf("| %s | %d%% | %s | %s | %s | %s | %s | %s | %s |\n",
                r.where.label.c_str(), r.where.loss,
                cell(r.udp, r.udp.mbps, "%.1f").c_str(),
                cell(r.rudp, r.rudp.mbps, "%.1f").c_str(),
                cell(r.tcp, r.tcp.mbps, "%.1f").c_str(),
                ratio(r.rudp, r.udp).c_str(), ratio(r.rudp, r.tcp).c_str(),
                rtt(r.rudp).c_str(), rtt(r.tcp).c_str());
  }
}

void json_figures(FILE* out, const char* name, const figures& f, bool rtt,
                  bool last) {
  if (!f.ran) {
    std::fprintf(out, "      \"%s\": null%s\n", name, last ? "" : ",");
    return;
  }
  std::fprintf(out,
               "      \"%s\": {\"ok\": %s, \"mb_per_s\": %.2f, "
               "\"best_sub_window_mb_per_s\": %.2f, "
               "\"mb_per_cpu_second\": %.1f, \"bytes\": %llu, "
               "\"seconds\": %.3f, \"runs\": %d, \"pairs_started\": %d",
               name, f.ok ? "true" : "false", f.mbps, f.best_mbps,
               f.mb_per_cpu, (unsigned long long)f.bytes, f.secs, f.runs, f.attempts);
  if (rtt)
    std::fprintf(out,
                 ", \"rtt_p50_us\": %.1f, \"rtt_p99_us\": %.1f, \"pings\": %u, "
                 "\"connect_s\": %.3f",
                 f.p50, f.p99, f.pings, f.connect_s);
  if (f.relay_fwd + f.relay_drop > 0)
    std::fprintf(out, ", \"relay_forwarded\": %llu, \"relay_dropped\": %llu",
                 (unsigned long long)f.relay_fwd,
                 (unsigned long long)f.relay_drop);
  auto text = [](const std::string& x) {
    std::string e;
    for (char c : x)
      if (c != '"' && c != '\\' && c >= 0x20)
        e += c;
    return e;
  };
  if (!f.error.empty())
    std::fprintf(out, ", \"error\": \"%s\"", text(f.error).c_str());
  if (!f.earlier.empty())
    std::fprintf(out, ", \"failed_attempts\": \"%s\"",
                 text(f.earlier).c_str());
  std::fprintf(out, "}%s\n", last ? "" : ",");
}

void write_json(const std::string& file, const std::vector<row>& rows,
                mode m, const char* loss_via, const timing& t,
                const std::string& load_start, const std::string& load_end) {
  auto dir = file.substr(0, file.find_last_of('/'));
  if (dir != file)
    run_cmd("mkdir -p '" + dir + "'");
  FILE* out = std::fopen(file.c_str(), "w");
  if (!out) {
    std::fprintf(stderr, "rudp_bench: cannot write %s\n", file.c_str());
    return;
  }
  char host[128] = "?";
  ::gethostname(host, sizeof(host));
  std::fprintf(out,
               "{\n  \"bench\": \"rudp\",\n  \"mode\": \"%s\",\n"
               "  \"unix_time\": %lld,\n  \"host\": \"%s\",\n  \"cpus\": %ld,\n"
               "  \"loss_via\": \"%s\",\n  \"processes\": \"fork: each side "
               "its own process and actor system\",\n"
               "  \"caf_scheduler\": \"%s\",\n"
               "  \"crust_options\": \"defaults, per-peer rate limits raised "
               "to the maximum\",\n"
               "  \"best_of_runs_at_0_percent_loss\": %d,\n"
               "  \"load_average_start\": \"%s\",\n"
               "  \"load_average_end\": \"%s\",\n"
               "  \"udp_payload_bytes\": %zu,\n  \"bulk_message_bytes\": %zu,\n"
               "  \"ping_message_bytes\": %zu,\n  \"bulk_window_s\": %.2f,\n"
               "  \"udp_window_s\": %.2f,\n  \"pings\": %d,\n"
               "  \"mb\": \"10^6 bytes of payload\",\n  \"rows\": [\n",
               m == mode::full ? "full" : m == mode::quick ? "quick" : "smoke",
               (long long)::time(nullptr), host, ::sysconf(_SC_NPROCESSORS_ONLN),
               loss_via, sharing_scheduler ? "sharing" : "work-stealing",
               t.repeats, load_start.substr(0, load_start.find('\n')).c_str(),
               load_end.substr(0, load_end.find('\n')).c_str(), udp_payload, bulk_size, ping_size, t.bulk_window,
               t.udp_window, t.pings);
  for (size_t i = 0; i < rows.size(); ++i) {
    auto& r = rows[i];
    std::fprintf(out, "    {\n      \"path\": \"%s\",\n      \"loss_percent\": %d,\n",
                 r.where.key.c_str(), r.where.loss);
    json_figures(out, "raw_udp", r.udp, false, false);
    json_figures(out, "rudp", r.rudp, true, false);
    json_figures(out, "tcp", r.tcp, true, true);
    std::fprintf(out, "    }%s\n", i + 1 < rows.size() ? "," : "");
  }
  std::fprintf(out, "  ]\n}\n");
  std::fclose(out);
}

// The machine may be shared: the figures say how busy it was.
std::string load_average() {
  char buf[128] = "?\n";
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (!std::fgets(buf, sizeof(buf), f))
      std::snprintf(buf, sizeof(buf), "?\n");
    std::fclose(f);
  }
  return buf;
}

bool has_prefix(const char* arg, const char* prefix, std::string& value) {
  auto n = std::strlen(prefix);
  if (std::strncmp(arg, prefix, n) != 0)
    return false;
  value = arg + n;
  return true;
}

int usage() {
  std::fprintf(stderr,
               "usage: crust-bench-rudp [--quick | --smoke] [--json=PATH] "
               "[--loss-via=auto|netns|relay] [--only=udp|rudp|tcp]... "
               "[--bulk-seconds=S] [--loopback-only] [--scheduler=sharing]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  mode m = mode::full;
  std::string json = std::string{CRUST_SOURCE_DIR} + "/bench/results/rudp.json";
  std::string loss_via = "auto", v;
  std::set<proto> only;
  double bulk_seconds = 0;
  bool loopback_only = false, json_given = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick"))
      m = mode::quick;
    else if (!std::strcmp(argv[i], "--smoke"))
      m = mode::smoke;
    else if (has_prefix(argv[i], "--json=", v))
      json = v, json_given = true;
    else if (has_prefix(argv[i], "--loss-via=", v)
             && (v == "auto" || v == "netns" || v == "relay"))
      loss_via = v;
    else if (has_prefix(argv[i], "--only=", v) && (v == "udp" || v == "rudp" || v == "tcp"))
      only.insert(v == "udp" ? proto::udp : v == "rudp" ? proto::rudp : proto::tcp);
    else if (has_prefix(argv[i], "--bulk-seconds=", v) && std::atof(v.c_str()) > 0)
      bulk_seconds = std::atof(v.c_str());
    else if (!std::strcmp(argv[i], "--loopback-only"))
      loopback_only = true;
    else if (!std::strcmp(argv[i], "--scheduler=sharing"))
      sharing_scheduler = true;
    else
      return usage();
  }
  auto t = timing_for(m);
  if (bulk_seconds > 0)
    t.bulk_window = bulk_seconds;
  auto wanted = [&](proto p) { return only.empty() || only.count(p) > 0; };

  void* page = ::mmap(nullptr, sizeof(shared_area), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  area = new (page) shared_area{};
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // Where loss comes from.
  bool root = ::geteuid() == 0;
  bool use_netns = false;
  std::string netns_note;
  if (m != mode::smoke && loss_via != "relay" && !loopback_only) {
    if (!root) {
      netns_note = "not root: loss figures for TCP need root (network "
                   "namespaces + nftables); UDP and rudp loss through the "
                   "userspace relay";
    } else if (lab.create()) {
      use_netns = true;
    } else {
      netns_note = "root, but the veth/nft lab could not be built; UDP and "
                   "rudp loss through the userspace relay, none for TCP";
      lab.destroy();
    }
    if (loss_via == "netns" && !use_netns) {
      std::fprintf(stderr, "rudp_bench: --loss-via=netns: %s\n",
                   netns_note.c_str());
      lab.destroy();
      return 1;
    }
  }
  const char* via = use_netns ? "netns" : "relay";

  std::vector<row> rows;
  rows.push_back({{"loopback", "loopback", 0, false, false}, {}, {}, {}});
  std::vector<int> losses;
  if (loopback_only)
    ; // profiling: the headline path only
  else if (m == mode::full)
    losses = {1, 5};
  else if (m == mode::quick)
    losses = {5};
  else
    losses = {1}; // smoke: the relay, so ctest runs its code too
  if (use_netns) {
    if (m == mode::full) // the loss rows' baseline
      rows.push_back({{"veth", "veth", 0, true, false}, {}, {}, {}});
    for (int l : losses)
      rows.push_back({{"veth+nft", "veth", l, true, false}, {}, {}, {}});
  } else {
    for (int l : losses)
      rows.push_back({{"loopback+relay", "relay", l, false, true}, {}, {}, {}});
  }

  auto t_start = now_s();
  std::printf("rudp bench (%s): every side in a process of its own; loss %s\n",
              m == mode::full ? "full" : m == mode::quick ? "quick" : "smoke",
              use_netns ? "by nft in two namespaces joined by a veth "
                          "(offloads off), both directions"
                        : "by a seeded userspace relay, both directions");
  if (!netns_note.empty())
    std::printf("note: %s\n", netns_note.c_str());
  auto load_start = load_average();
  std::printf("load average at start: %s", load_start.c_str());
  std::fflush(stdout);
  bool all_ok = true;
  for (auto& r : rows) {
    if (interrupted)
      break;
    if (r.where.netns && !lab.loss(r.where.loss)) {
      std::fprintf(stderr, "rudp_bench: nft loss rule failed\n");
      all_ok = false;
      break;
    }
    // Runs alternate between the three, so a neighbour's burst of load
    // does not fall on one of them only; at 0% loss the best run counts.
    int reps = r.where.loss == 0 ? t.repeats : 1;
    for (int k = 0; k < reps && !interrupted; ++k)
      for (auto p : {proto::udp, proto::rudp, proto::tcp}) {
        if (!wanted(p) || interrupted)
          continue;
        if (p == proto::tcp && r.where.relay)
          continue; // a userspace relay cannot drop TCP segments
        auto t_pair = now_s();
        auto f = measure_retrying(p, r.where, t);
        std::printf("  %-15s %2d%%  %-7s  %7.1f MB/s (best %5.1f, %5.0f "
                    "MB/CPU-s)",
                    r.where.label.c_str(), r.where.loss, name_of(p), f.mbps,
                    f.best_mbps, f.mb_per_cpu);
        if (p != proto::udp)
          std::printf("   rtt p50 %6.0f µs  p99 %7.0f µs  (%u pings)", f.p50,
                      f.p99, f.pings);
        if (f.relay_fwd + f.relay_drop > 0)
          std::printf("   relay dropped %.2f%%",
                      100.0 * f.relay_drop / double(f.relay_fwd + f.relay_drop));
        if (!f.error.empty())
          std::printf("   [%s]", f.error.c_str());
        if (f.attempts > 1)
          std::printf("   (attempt %d; before: %s)", f.attempts,
                      f.earlier.c_str());
        std::printf("   %.1f s\n", now_s() - t_pair);
        std::fflush(stdout);
        merge(p == proto::udp ? r.udp : p == proto::rudp ? r.rudp : r.tcp, f);
      }
    for (auto* f : {&r.udp, &r.rudp, &r.tcp})
      all_ok &= !f->ran || f->ok;
  }
  lab.destroy();
  if (interrupted) {
    std::fprintf(stderr, "rudp_bench: interrupted\n");
    return 130;
  }

  print_table(rows);
  auto& head = rows.front();
  if (head.udp.ran && head.rudp.ran && head.udp.mbps > 0) {
    double r = head.rudp.mbps / head.udp.mbps;
    std::printf("\nheadline: rudp / raw UDP payload rate on loopback at 0%% "
                "loss = %.0f%% (target >= 50%%)%s\n",
                100 * r, r >= 0.5 ? "" : "  MISSED");
  }
  if (head.tcp.ran && head.rudp.ran && head.tcp.mbps > 0)
    std::printf("rudp / TCP bulk on loopback at 0%% loss = %.0f%%\n",
                100 * head.rudp.mbps / head.tcp.mbps);
  if (!use_netns && m != mode::smoke && !loopback_only)
    std::printf("TCP under loss: not measured (needs root for the veth/nft "
                "lab; a userspace relay cannot drop TCP segments)\n");
  std::printf("MB = 10^6 bytes of payload; raw UDP %zu-byte datagrams "
              "(sendmmsg/recvmmsg, %llu in flight); bulk %zu KiB messages "
              "over %.2f s after %.2f s warm-up; ping %zu bytes, %d measured "
              "(at most %.1f s); took %.0f s\n",
              udp_payload, (unsigned long long)udp_window_pkts, bulk_size / 1024,
              t.bulk_window, t.bulk_warm, ping_size, t.pings, t.ping_limit,
              now_s() - t_start);
  auto load_end = load_average();
  std::printf("load average at end: %s", load_end.c_str());
  if (m == mode::smoke) {
    std::printf("smoke: %s\n", all_ok ? "every pair moved messages" : "FAILED");
    return all_ok ? 0 : 1;
  }
  // The default file holds the full run only; a partial or quick run
  // writes where --json says.
  bool partial = m != mode::full || !only.empty() || loopback_only
                 || bulk_seconds > 0 || sharing_scheduler;
  if (!partial || json_given) {
    write_json(json, rows, m, via, t, load_start, load_end);
    std::printf("wrote %s\n", json.c_str());
  }
  return 0;
}
