#include "transports/datagram/sctp_link.hpp"

#include <usrsctp.h>

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace crust {

struct sctp_callbacks {
  // usrsctp calls this synchronously from inside conninput, sendv and
  // handle_timers: only queue here, never call back into usrsctp.
  static int output(void* addr, void* buf, size_t len, uint8_t, uint8_t) {
    auto link = static_cast<sctp_link*>(addr);
    // Room around the packet for the caller's header and tag: it seals
    // the packet where it lies.
    std::vector<uint8_t> packet(link->headroom_ + len + link->tailroom_);
    std::memcpy(packet.data() + link->headroom_, buf, len);
    link->out_.push_back(std::move(packet));
    return 0;
  }

  static int receive(struct socket*, union sctp_sockstore, void* data,
                     size_t len, struct sctp_rcvinfo info, int flags,
                     void* ulp) {
    auto link = static_cast<sctp_link*>(ulp);
    if (data == nullptr) { // the association is gone
      link->down_ = true;
      return 1;
    }
    if (flags & MSG_NOTIFICATION) {
      auto n = static_cast<union sctp_notification*>(data);
      if (n->sn_header.sn_type == SCTP_ASSOC_CHANGE) {
        auto state = n->sn_assoc_change.sac_state;
        if (state == SCTP_COMM_UP || state == SCTP_RESTART)
          link->up_ = true;
        if (state == SCTP_COMM_LOST || state == SCTP_SHUTDOWN_COMP
            || state == SCTP_CANT_STR_ASSOC)
          link->down_ = true;
      }
      std::free(data); // usrsctp malloc()s what it hands the receiver
      return 1;
    }
    auto sid = info.rcv_sid;
    if (sid < link->partial_.size() && !link->down_) {
      auto& part = link->partial_[sid];
      if (part.size() + len > link->max_message_) {
        // Memory is ours to bound: a message without end breaks the link.
        link->down_ = true;
        link->error_ = "the peer sent a message longer than "
                       + std::to_string(link->max_message_) + " bytes";
        part.clear();
        part.shrink_to_fit();
        std::free(data);
        return 1;
      }
      auto bytes = static_cast<const uint8_t*>(data);
      part.insert(part.end(), bytes, bytes + len);
      if (flags & MSG_EOR) {
        link->in_.push_back(sctp_link::message{sid, std::move(part)});
        part.clear();
      }
    }
    std::free(data);
    return 1;
  }
};

namespace {

void quiet(const char*, ...) {
  // usrsctp's debug output: not wanted
}

// False, with the reason in `error`, when usrsctp refuses the option.
bool set(struct socket* s, int level, int name, const void* value,
         socklen_t len, std::string& error) {
  if (usrsctp_setsockopt(s, level, name, value, len) == 0)
    return true;
  if (error.empty())
    error = "usrsctp_setsockopt " + std::to_string(name) + ": "
            + std::strerror(errno);
  return false;
}

// SCTP's send and receive buffers: the send buffer bounds the bytes in
// flight, and the bytes in flight bound the rate to buffer / round trip.
// With an engine hop on each side a loaded round trip is milliseconds,
// where usrsctp's 256 KiB default cost about a fifth of the rate.
constexpr int buffer_bytes = 1024 * 1024;

sockaddr_conn address_of(sctp_link* link) {
  sockaddr_conn a{};
  a.sconn_family = AF_CONN;
  a.sconn_port = htons(5000); // the same on both ends: one association
  a.sconn_addr = link;
  return a;
}

} // namespace

sctp_stack::sctp_stack() : last_(std::chrono::steady_clock::now()) {
  usrsctp_init_nothreads(0, sctp_callbacks::output, quiet);
  usrsctp_sysctl_set_sctp_ecn_enable(0);
  usrsctp_enable_crc32c_offload();
  // RTO floor 40 ms: above the 20 ms a receiver may hold a SACK back (no
  // spurious resend of a lone packet), and only binding on paths whose
  // RTO would be lower anyway; at 5 % loss on a veth pair the round trip
  // p99 fell from 300-400 to 40-80 ms against a 100 ms floor.
  usrsctp_sysctl_set_sctp_rto_min_default(40);
  usrsctp_sysctl_set_sctp_rto_initial_default(300);
  usrsctp_sysctl_set_sctp_init_rto_max_default(1000);
  usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
  // Under heavy loss (20 %) usrsctp's defaults stall: its RTO backs off to
  // 60 s, a path that missed 5 timeouts becomes "potentially failed" and
  // gets no data, and 10 timeouts abort the association. The connection's
  // own heartbeat (crust.heartbeat-timeout) decides when a peer is gone;
  // SCTP only has to keep trying, at least once a second.
  usrsctp_sysctl_set_sctp_rto_max_default(1000);
  usrsctp_sysctl_set_sctp_path_pf_threshold(0xFFFF);
  usrsctp_sysctl_set_sctp_path_rtx_max_default(0xFFFF);
  usrsctp_sysctl_set_sctp_assoc_rtx_max_default(0xFFFF);
  // RFC 4960's Max.Burst of 4 packets per SACK: our SACKs come in batches
  // (the engine reads many datagrams per wake-up), so 4 starves the
  // window; 16 (19 KB) still bounds a burst. Loopback bench, interleaved:
  // 114-140 MB/s at 4, 154-170 at 16, 144-195 unbounded.
  usrsctp_sysctl_set_sctp_max_burst_default(16);
}

std::recursive_mutex& sctp_stack::lock() {
  static std::recursive_mutex mtx;
  return mtx;
}

using guard = std::lock_guard<std::recursive_mutex>;

sctp_stack& sctp_stack::instance() {
  static sctp_stack stack;
  return stack;
}

void sctp_stack::tick(uint32_t elapsed_ms) {
  guard g{lock()};
  usrsctp_handle_timers(elapsed_ms);
}

void sctp_stack::tick_to(std::chrono::steady_clock::time_point now) {
  using std::chrono::milliseconds;
  uint32_t ms = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (now > last_) {
      carry_ += now - last_;
      last_ = now;
    }
    auto whole = std::chrono::duration_cast<milliseconds>(carry_);
    carry_ -= whole;
    ms = static_cast<uint32_t>(std::min<int64_t>(whole.count(), 60000));
  }
  if (ms > 0) {
    guard g{lock()};
    usrsctp_handle_timers(ms);
  }
}

sctp_link::sctp_link(uint16_t streams, size_t max_message, room around)
  : streams_(streams),
    max_message_(max_message),
    headroom_(around.head),
    tailroom_(around.tail),
    partial_(streams) {
  sctp_stack::instance();
  guard g{sctp_stack::lock()};
  usrsctp_register_address(this);
  sock_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP,
                         sctp_callbacks::receive, nullptr, 0, this);
  if (!sock_) {
    error_ = std::string{"usrsctp_socket: "} + std::strerror(errno);
    down_ = true;
    return;
  }
  usrsctp_set_non_blocking(sock_, 1);
  linger abort_on_close{1, 0}; // close is ABORT: no lingering state
  int on = 1;
  sctp_initmsg init{};
  init.sinit_num_ostreams = streams;
  init.sinit_max_instreams = streams;
  sctp_event ev{};
  ev.se_assoc_id = SCTP_ALL_ASSOC;
  ev.se_on = 1;
  ev.se_type = SCTP_ASSOC_CHANGE;
  auto a = address_of(this);
  int buf = buffer_bytes;
  bool ok = set(sock_, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf), error_)
            && set(sock_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf), error_)
            && set(sock_, SOL_SOCKET, SO_LINGER, &abort_on_close,
                sizeof(abort_on_close), error_)
            && set(sock_, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on), error_)
            && set(sock_, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init),
                   error_)
            && set(sock_, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev), error_);
  if (ok
      && usrsctp_bind(sock_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    error_ = std::string{"usrsctp_bind: "} + std::strerror(errno);
    ok = false;
  }
  down_ = !ok;
}

sctp_link::~sctp_link() {
  guard g{sctp_stack::lock()};
  close();
  usrsctp_deregister_address(this);
}

void sctp_link::close() {
  guard g{sctp_stack::lock()};
  if (sock_) {
    usrsctp_close(sock_);
    sock_ = nullptr;
  }
  down_ = true;
}

void sctp_link::connect() {
  guard g{sctp_stack::lock()};
  auto a = address_of(this);
  if (down_)
    return;
  if (usrsctp_connect(sock_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0
      && errno != EINPROGRESS) {
    error_ = std::string{"usrsctp_connect: "} + std::strerror(errno);
    down_ = true;
    return;
  }
  // Only once the association exists: our datagrams, our path MTU.
  sctp_paddrparams pp{};
  std::memcpy(&pp.spp_address, &a, sizeof(a));
  pp.spp_flags = SPP_PMTUD_DISABLE;
  pp.spp_pathmtu = mtu;
  if (!set(sock_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp), error_))
    down_ = true;
}

void sctp_link::input(const uint8_t* data, size_t size) {
  guard g{sctp_stack::lock()};
  if (sock_)
    usrsctp_conninput(this, data, size, 0);
}

bool sctp_link::send(uint16_t stream, const uint8_t* data, size_t size) {
  guard g{sctp_stack::lock()};
  if (!up_ || down_ || !sock_ || stream >= streams_)
    return false;
  sctp_sndinfo info{};
  info.snd_sid = stream;
  info.snd_flags = SCTP_EOR;
  auto n = usrsctp_sendv(sock_, data, size, nullptr, 0, &info, sizeof(info),
                         SCTP_SENDV_SNDINFO, 0);
  return n == static_cast<ssize_t>(size);
}

} // namespace crust

namespace crust {

std::deque<std::vector<uint8_t>> sctp_link::take_output() {
  guard g{sctp_stack::lock()};
  return std::exchange(out_, {});
}

std::deque<sctp_link::message> sctp_link::take_received() {
  guard g{sctp_stack::lock()};
  return std::exchange(in_, {});
}

} // namespace crust
