// crust-bench-peers: CAF's remote actors over BASP (caf::io::publish and
// remote_actor), unencrypted: what a CAF user would write instead of
// crust. The server publishes one actor; the client's scoped actor sends
// it std::vector<char> messages (a CAF built-in type, serialised as
// bytes). BASP has no backpressure of its own, so the server acknowledges
// every 8th message and the client keeps at most a window unacknowledged,
// as an application would have to; pings are requests.
//
// BASP keeps one connection per pair of actor systems (remote_actor to a
// node it already knows reuses the connection). So for idle memory each
// connection is a CAF node of its own: the dialling processes hold many
// actor systems (one scheduler thread each), made before the baseline, and
// each dials the server once and says hello, which the server counts. The
// connection rate is not measured: a node connects to another once, and
// 0.17's middleman has no call that closes a connection to a node (only
// a published port), so dialling anew means a new actor system.
#include <thread>
#include <chrono>
#include <cstring>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "bench/peers_bench.hpp"

using ping_atom = caf::atom_constant<caf::atom("bping")>;
using ack_atom = caf::atom_constant<caf::atom("back")>;
using hello_atom = caf::atom_constant<caf::atom("bhello")>;

namespace peers_bench {

using namespace std::chrono_literals;

namespace {

constexpr uint64_t ack_every = 8;

struct basp_config : caf::actor_system_config {
  explicit basp_config(bool small = false) {
    load<caf::io::middleman>();
    // An idle node needs no worker pool: one scheduler thread, which
    // sleeps on a condition variable (the default work stealing polls:
    // a thousand of them would load the machine).
    if (small) {
      set("scheduler.max-threads", 1);
      set("scheduler.policy", caf::atom("sharing"));
    }
  }
};

// Never destroyed: the process ends with _exit() (see spawn()).
caf::actor_system& actor_system_here() {
  return *new caf::actor_system{*new basp_config};
}

struct sink_state {
  uint64_t got = 0;
};

// `every`: an argument because CAF 0.17 spawns a function without any
// through an empty shared tuple (undefined behaviour, UBSan stops it).
caf::behavior sink(caf::stateful_actor<sink_state>* self, uint64_t every) {
  return {
    [](ping_atom, std::vector<char>& b) { return std::move(b); },
    [](hello_atom) { shared->completed.fetch_add(1); },
    [=](std::vector<char>& b) {
      shared->rx_bytes.fetch_add(b.size(), std::memory_order_relaxed);
      shared->rx_msgs.fetch_add(1, std::memory_order_relaxed);
      if (++self->state.got % every == 0)
        self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                   ack_atom::value, self->state.got);
    },
  };
}

} // namespace

int caf_server(const job&) {
  auto& sys = actor_system_here();
  auto a = sys.spawn(sink, ack_every);
  auto port = sys.middleman().publish(a, 0, "127.0.0.1");
  if (!port) {
    PEERS_ERROR("caf server: publish: %s", sys.render(port.error()).c_str());
    return 1;
  }
  shared->port = *port;
  shared->server_ready = 1;
  rudp_bench::wait_for([] { return shared->base.abort.load() != 0; }, 110);
  return 0;
}

int caf_client(const job& j) {
  auto& sys = actor_system_here();
  auto& self = *new caf::scoped_actor{sys};
  auto remote = sys.middleman().remote_actor("127.0.0.1", shared->port);
  if (!remote) {
    PEERS_ERROR("caf client: remote_actor: %s",
                sys.render(remote.error()).c_str());
    return 1;
  }
  auto dst = *remote;
  bool pinged = ping_pong(j, [&](int) {
    bool ok = true;
    std::vector<char> ping(ping_size, char(ping_mark));
    self->request(dst, 5s, ping_atom::value, std::move(ping))
      .receive([&](std::vector<char>&) {},
               [&](caf::error& e) {
                 PEERS_ERROR("caf client: ping: %s", sys.render(e).c_str());
                 ok = false;
               });
    return ok;
  });
  if (!pinged)
    return 1;
  auto payload = rudp_bench::stream_payload(j.size);
  std::vector<char> msg(payload.begin(), payload.end());
  uint64_t window = j.size >= 4096 ? 16 : 512;
  uint64_t sent = 0, acked = 0;
  shared->streaming = 1;
  while (!shared->base.stop && !shared->base.abort) {
    while (sent - acked < window) {
      self->send(dst, msg);
      ++sent;
    }
    self->receive([&](ack_atom, uint64_t n) { acked = std::max(acked, n); },
                  caf::after(200ms) >> [] {});
  }
  return 0;
}

// Idle only: this process's share of the nodes, each connected once.
int caf_dialer(const job& j) {
  int count = j.conns / j.clients;
  std::vector<caf::actor_system*> nodes;
  for (int i = 0; i < count && !shared->base.abort; ++i)
    nodes.push_back(new caf::actor_system{*new basp_config{true}});
  shared->clients_ready.fetch_add(1);
  if (!rudp_bench::wait_for([] { return shared->go.load() != 0; }, 60))
    return 1;
  for (auto* sys : nodes) {
    auto remote = sys->middleman().remote_actor("127.0.0.1", shared->port);
    if (!remote) {
      PEERS_ERROR("caf dialer: remote_actor: %s",
                  sys->render(remote.error()).c_str());
      return 1;
    }
    caf::anon_send(*remote, hello_atom::value);
    shared->client_conns.fetch_add(1);
  }
  shared->clients_holding.fetch_add(1);
  rudp_bench::wait_for([] { return shared->base.abort.load() != 0; }, 150);
  return 0;
}

} // namespace peers_bench
