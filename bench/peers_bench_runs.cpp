// crust-bench-peers: one pair's run. The parent starts the server, then
// the client(s), and samples the page's counters and the processes' CPU
// time and RSS (/proc) at the edges of the counting window: the same
// count for every system, whatever it is built on.
#include <cstring>
#include <new>
#include <string>

#include "bench/peers_bench.hpp"

namespace peers_bench {

namespace {

// A fresh page for each pair; the ZeroMQ server keys stay.
void reset_page() {
  std::string pub = shared->zmq_public, sec = shared->zmq_secret;
  shared->~page();
  new (shared) page{};
  std::strncpy(shared->zmq_public, pub.c_str(), 40);
  std::strncpy(shared->zmq_secret, sec.c_str(), 40);
  rudp_bench::area = &shared->base;
}

std::string errors() {
  std::string e = shared->base.a_error;
  if (shared->base.b_error[0])
    e += (e.empty() ? "" : "; ") + std::string{shared->base.b_error};
  return e;
}

bool failed() {
  return shared->base.a_error[0] || shared->base.b_error[0];
}

// Sleeps `s` seconds unless a side fails or ^C.
bool pause_for(double s) {
  return !rudp_bench::wait_for([] { return failed(); }, s) && !failed()
         && !rudp_bench::interrupted;
}

pid_t start_server(const system_def& sys, const job& j) {
  auto pid = rudp_bench::spawn("", 120, [&] { return sys.server(j); });
  if (!rudp_bench::wait_for(
        [] { return shared->server_ready.load() != 0 || failed(); }, 20)
      || !shared->server_ready)
    return -1;
  return pid;
}

} // namespace

// Pings, then a stream of `size`-byte messages counted over the window.
pair_out run_stream(const system_def& sys, size_t size, const timing& t) {
  pair_out o;
  reset_page();
  job j;
  j.size = size;
  bool pings = size > 1024; // the bulk pair ping-pongs first
  j.pings_warm = pings ? t.pings_warm : 0;
  j.pings = pings ? t.pings : 0;
  j.ping_limit = t.ping_limit;
  auto server = start_server(sys, j);
  pid_t client = -1;
  if (server > 0) {
    client = rudp_bench::spawn("", 120, [&] { return sys.client(j); });
    rudp_bench::wait_for(
      [] { return shared->streaming.load() != 0 || failed(); },
      20 + t.ping_limit * 2);
  }
  if (server > 0 && shared->streaming && pause_for(t.warm)) {
    auto cpu0 = cpu_of(server) + cpu_of(client);
    auto b0 = shared->rx_bytes.load(), m0 = shared->rx_msgs.load();
    auto t0 = now_s();
    if (pause_for(t.window)) {
      auto t1 = now_s();
      auto cpu1 = cpu_of(server) + cpu_of(client);
      auto db = shared->rx_bytes.load() - b0;
      auto dm = shared->rx_msgs.load() - m0;
      o.mbps = double(db) / (t1 - t0) / 1e6;
      o.msgs_per_s = double(dm) / (t1 - t0);
      if (db > 0 && cpu1 >= cpu0)
        o.cpu_per_gb = (cpu1 - cpu0) / (double(db) / 1e9);
      if (db == 0)
        o.error = "nothing arrived in the window";
    }
  }
  if (pings && shared->base.a_ping_done && shared->base.pings > 0) {
    o.p50 = shared->base.p50_us;
    o.p99 = shared->base.p99_us;
  }
  shared->base.stop = 1;
  rudp_bench::reap_all();
  auto e = errors();
  if (!e.empty())
    o.error = e;
  else if (o.mbps < 0)
    o.error = server < 0 ? "server did not start" : "no stream";
  return o;
}

// New connections (handshake included) per second, counted at the server.
int connect_in_flight = 128;

pair_out run_connect(const system_def& sys, const timing& t) {
  pair_out o;
  reset_page();
  job j;
  j.what = test::connect;
  j.in_flight = connect_in_flight;
  auto server = start_server(sys, j);
  if (server > 0) {
    rudp_bench::spawn("", 60, [&] { return sys.connector(j); });
    if (rudp_bench::wait_for(
          [] { return shared->clients_ready.load() != 0 || failed(); }, 20)
        && pause_for(t.warm)) {
      auto c0 = shared->completed.load();
      auto cpu0 = cpu_of(server);
      auto t0 = now_s();
      if (pause_for(t.window)) {
        auto c1 = shared->completed.load();
        auto cpu1 = cpu_of(server);
        o.conn_per_s = double(c1 - c0) / (now_s() - t0);
        // The server may use more than one core: its CPU time per
        // connection compares with one side's crypto cost directly.
        if (c1 > c0 && cpu1 >= cpu0)
          o.server_cpu_us = (cpu1 - cpu0) / double(c1 - c0) * 1e6;
      }
    }
  }
  shared->base.stop = 1;
  rudp_bench::reap_all();
  auto e = errors();
  if (!e.empty())
    o.error = e;
  else if (o.conn_per_s <= 0)
    o.error = server < 0 ? "server did not start" : "no connection completed";
  return o;
}

// `n` connections held open: RSS growth of both ends, per connection.
pair_out run_idle(const system_def& sys, int n) {
  pair_out o;
  reset_page();
  job j;
  j.what = test::idle;
  j.in_flight = 64;
  j.clients = (n + sys.idle_per_process - 1) / sys.idle_per_process;
  j.conns = n / j.clients * j.clients;
  auto server = start_server(sys, j);
  std::vector<pid_t> clients;
  if (server > 0) {
    for (int c = 0; c < j.clients; ++c) {
      auto jc = j;
      jc.client = c;
      clients.push_back(
        rudp_bench::spawn("", 150, [&] { return sys.holder(jc); }));
    }
    auto k = uint32_t(j.clients);
    if (rudp_bench::wait_for(
          [k] { return shared->clients_ready.load() == k || failed(); }, 60)
        && pause_for(0.3)) {
      double s0 = rss_kib(server), c0 = 0;
      for (auto pid : clients)
        c0 += rss_kib(pid);
      shared->go = 1;
      auto want = uint64_t(j.conns);
      if (rudp_bench::wait_for(
            [k, want] {
              return (shared->clients_holding.load() == k
                      && shared->completed.load() >= want)
                     || failed();
            },
            120)
          && pause_for(0.5)) {
        double s1 = rss_kib(server), c1 = 0;
        for (auto pid : clients)
          c1 += rss_kib(pid);
        o.server_kib = (s1 - s0) / j.conns;
        o.both_kib = (s1 - s0 + c1 - c0) / j.conns;
      } else if (!failed()) {
        o.error = "server saw " + std::to_string(shared->completed.load())
                  + " of " + std::to_string(j.conns) + " connections, clients "
                  + std::to_string(shared->client_conns.load());
      }
    }
  }
  rudp_bench::reap_all(5);
  auto e = errors();
  if (!e.empty())
    o.error = e;
  else if (o.server_kib < 0 && o.error.empty())
    o.error = server < 0 ? "server did not start" : "clients did not start";
  return o;
}

} // namespace peers_bench
