// crust-bench-peers: crust through its public API on both ends, as an
// application uses it: spawn_service, connect, keep, send, and the
// handler's messages. The server keeps whoever connects, echoes pings and
// counts the rest; the client dials (tcp:// or udp://), ping-pongs, then
// streams. Sends go straight to the connection's actor (new_peer's link),
// as plain sends with a window of bytes in flight that crust::sent gives
// back, as crust's API advises for streams.
//
// Policy limits are raised so the bench measures the transport: the
// per-peer and per-IP rate limits to their maximum, and the connection
// limits (every dialler of the connect and idle runs is on 127.0.0.1) to
// what the runs open. Everything else is crust's default.
#include <chrono>
#include <cstring>
#include <map>
#include <limits>
#include <optional>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "bench/bench_service.hpp"
#include "bench/peers_bench.hpp"
#include "crust/crust.hpp"

namespace peers_bench {

using bench::ignore_rest;

using namespace std::chrono_literals;

namespace {

crust::service_options options() {
  crust::service_options o;
  o.listen_address = "127.0.0.1";
  o.upnp = false;
  o.beacon = false;
  o.peer_exchange = false;
  o.min_connections = 0;
  o.bootstrap_cache_file.clear();
  auto most = std::numeric_limits<uint32_t>::max();
  o.max_bytes_per_sec = most;
  o.max_bytes_per_sec_per_ip = most;
  o.max_records_per_sec = most;
  o.max_records_per_sec_per_ip = most;
  o.max_connections = 1 << 20;
  o.max_connections_per_ip = 1 << 20;
  o.max_half_open = 1 << 20;
  o.max_half_open_per_ip = 1 << 20;
  return o;
}

// Never destroyed: the process ends with _exit() (see spawn()).
caf::actor_system& actor_system_here() {
  auto& cfg = *new crust::config;
  return *new caf::actor_system{cfg};
}

// Spawns a service whose handler is `self`; its port, or 0.
uint16_t start(caf::actor_system& sys, caf::scoped_actor& self,
               caf::actor& svc, const char* role) {
  std::string why;
  auto port = bench::start_service(sys, self, options(), svc, why);
  if (port == 0)
    PEERS_ERROR("crust %s: %s", role, why.c_str());
  return port;
}

} // namespace

int crust_server(const job& j, bool) {
  raise_fd_limit();
  auto& sys = actor_system_here();
  auto& self = *new caf::scoped_actor{sys};
  caf::actor svc;
  auto port = start(sys, self, svc, "server");
  if (port == 0)
    return 1;
  shared->port = port;
  shared->server_ready = 1;
  // The connect run closes each connection at once: no keep, no drop.
  bool keep = j.what != test::connect;
  // Echoes go straight to the connection (new_peer's link), as the
  // client's sends do.
  std::map<crust::peer_id, caf::actor> links;
  while (!shared->base.abort)
    self->receive(
      [&](crust::new_peer& np) {
        if (keep) {
          self->send(svc, crust::keep{np.peer});
          links[np.peer] = np.link;
        }
        shared->completed.fetch_add(1, std::memory_order_relaxed);
      },
      [&](crust::message& m) {
        if (m.bytes.size() == ping_size && m.bytes[0] == ping_mark) {
          caf::anon_send(links[m.peer], crust::send{m.peer, std::move(m.bytes),
                                                    crust::priority::normal});
          return;
        }
        shared->rx_bytes.fetch_add(m.bytes.size(), std::memory_order_relaxed);
        shared->rx_msgs.fetch_add(1, std::memory_order_relaxed);
      },
      [&](crust::misbehaving& x) {
        if (j.what == test::stream)
          rudp_bench::set_error(shared->base.b_error,
                                "crust server: misbehaving(%s): %s",
                                crust::to_string(x.kind).c_str(),
                                x.detail.c_str());
      },
      ignore_rest(), caf::after(50ms) >> [] {});
  return 0;
}

int crust_client(const job& j, bool rudp) {
  auto& sys = actor_system_here();
  auto& self = *new caf::scoped_actor{sys};
  caf::actor svc;
  if (start(sys, self, svc, "client") == 0)
    return 1;
  crust::endpoint target{rudp ? crust::transport::rudp : crust::transport::tcp,
                         "127.0.0.1", shared->port, {}};
  self->send(svc, crust::connect{target});
  std::optional<crust::peer_id> peer;
  caf::actor link; // sends skip the service (new_peer's link)
  bool failed = false;
  while (!peer && !failed && !shared->base.abort)
    self->receive(
      [&](crust::new_peer& np) {
        peer = np.peer;
        link = np.link;
      },
      [&](crust::connection_failed& f) {
        PEERS_ERROR("crust client: connect: %s", f.reason.c_str());
        failed = true;
      },
      ignore_rest(), caf::after(20s) >> [&] {
        PEERS_ERROR("crust client: no connection in 20 s");
        failed = true;
      });
  if (!peer)
    return 1;
  // The link takes sends once the keep is answered.
  self->request(svc, caf::infinite, crust::keep{*peer})
    .receive([](caf::ok_atom) {},
             [&](caf::error& e) {
               PEERS_ERROR("crust client: keep: %s", sys.render(e).c_str());
               failed = true;
             });
  if (failed)
    return 1;

  // Ping-pong: one 64-byte message in flight, echoed by the server.
  ping_pong(j, [&](int n) {
    std::vector<uint8_t> ping(ping_size, ping_mark);
    std::memcpy(ping.data() + 1, &n, sizeof(n));
    self->send(link, crust::send{*peer, std::move(ping), crust::priority::normal});
    bool back = false;
    while (!back && !failed)
      self->receive(
        [&](crust::message& m) {
          int echo = -1;
          if (m.bytes.size() == ping_size)
            std::memcpy(&echo, m.bytes.data() + 1, sizeof(echo));
          back = echo == n;
        },
        [&](crust::peer_lost& pl) {
          PEERS_ERROR("crust client: peer lost: %s", pl.reason.c_str());
          failed = true;
        },
        ignore_rest(), caf::after(5s) >> [&] {
          PEERS_ERROR("crust client: a ping got no answer in 5 s");
          failed = true;
        });
    return back;
  });
  if (failed || j.size == 0)
    return failed ? 1 : 0;

  // The stream: plain sends, a window of bytes not yet confirmed by
  // crust::sent. Interleaved quick runs of 16 KiB to 1 MiB windows: 64 B
  // messages went fastest at 64 KiB (1.6-2.9M msg/s, 1.2-1.7M at 1 MiB);
  // 64 KiB messages did not care.
  auto payload = rudp_bench::stream_payload(j.size);
  uint64_t window = std::max<uint64_t>(64 * 1024, 4 * j.size);
  shared->streaming = 1;
  auto e = bench::pour(self, link, *peer, payload, window, [&] {
    return shared->base.stop || shared->base.abort;
  });
  if (e)
    PEERS_ERROR("crust client: stream: %s", sys.render(e).c_str());
  return e ? 1 : 0;
}

} // namespace peers_bench
