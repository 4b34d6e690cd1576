// crust against what its users would pick instead, in one run, as ratios
// (issue 8). On 127.0.0.1 only:
//   crust        two crust services over tcp:// (Noise XX, ChaCha20-Poly1305)
//   raw TCP      crust's record framing without crypto: the transport limit
//   ZeroMQ CURVE DEALER to ROUTER with CURVE security: a systems programmer's
//                pick
//   CAF BASP     caf::io::publish / remote_actor, unencrypted: a CAF user's
//   libsodium    single-core ChaCha20-Poly1305 and X25519/Ed25519 rates:
//                the crypto limit
// Figures: bulk (64 KiB messages, MB/s), small messages (64 B, msgs/s),
// ping-pong round trip p50/p99 (µs, 64 B), new connections with a full
// handshake per second, RSS per idle connection at 1,000 and 10,000
// connections, CPU seconds per GB moved in bulk.
//
// Each side of a pair runs in a process of its own (fork, the helpers of
// crust-bench-rudp); the parent never starts CAF or ZeroMQ. It samples the
// server's counters and both processes' CPU time (/proc) at the edges of
// the counting window, so every system is counted the same way. Systems
// alternate within each repetition; the median and the min–max of the
// repetitions are reported.
//
//   crust-bench-peers            full run (< 3 min), JSON to
//                                bench/results/peers.json
//   crust-bench-peers --quick    shorter, idle at 1,000 only (< 1 min)
//   crust-bench-peers --smoke    a few messages per system (ctest); exit 1
//                                when a system moved nothing; no JSON
// Options: --json=PATH, --only=crust|tcp|zmq|caf (repeatable).
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <set>
#include <thread>

#include "bench/peers_bench.hpp"

#ifndef CRUST_SOURCE_DIR
#define CRUST_SOURCE_DIR "."
#endif

namespace peers_bench {

namespace {

struct timing {
  double warm, window;    // stream and connect: uncounted, counted
  int pings_warm, pings;  // ping-pong before the bulk stream
  double ping_limit;
  int reps;
  std::vector<int> idle_counts;
};

timing timing_for(mode m) {
  switch (m) {
    case mode::smoke:
      return {0.05, 0.2, 3, 20, 1.0, 1, {50}};
    case mode::quick:
      return {0.2, 0.5, 50, 500, 0.5, 2, {1000}};
    case mode::full:
      break;
  }
  return {0.3, 1.0, 100, 2000, 1.0, 3, {1000, 10000}};
}

// One system: its two sides, and why a figure is not measured.
struct system_def {
  std::string key;
  std::function<int(const job&)> server, client, dialer; // dialer: connect, idle
  std::string no_connect, no_idle;
  int idle_per_process = 1 << 30; // dialling processes for idle runs
};

std::vector<system_def> all_systems() {
  std::string caf_why =
    "BASP keeps one connection per pair of actor systems (remote_actor to a "
    "node it knows reuses it), so N connections need N actor systems "
    "(threads each): not comparable, not measured";
  return {
    {"crust", [](const job& j) { return crust_server(j, false); },
     [](const job& j) { return crust_client(j, false); }, noise_client, "", "",
     1 << 30},
    {"raw TCP", tcp_server, tcp_client, tcp_client, "", "", 1 << 30},
    {"ZeroMQ CURVE", zmq_server, zmq_client, zmq_client, "", "",
     // A ZeroMQ socket holds two descriptors (its TCP one and a mailbox):
     // 5,000 sockets per process stay under a 20,000 descriptor limit.
     5000},
    {"CAF BASP", caf_server, caf_client, nullptr, caf_why, caf_why, 1 << 30},
  };
}

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

struct pair_out {
  std::string error;
  double mbps = -1, msgs_per_s = -1, cpu_per_gb = -1;
  double p50 = -1, p99 = -1, conn_per_s = -1;
  double server_kib = -1, both_kib = -1;
};

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
// Enough handshakes at once that the server, not the round trips, sets
// the pace (crust and ZeroMQ level off between 128 and 256).
int connect_in_flight = 128; // --in-flight=N

pair_out run_connect(const system_def& sys, const timing& t) {
  pair_out o;
  reset_page();
  job j;
  j.what = test::connect;
  j.in_flight = connect_in_flight;
  auto server = start_server(sys, j);
  if (server > 0) {
    rudp_bench::spawn("", 60, [&] { return sys.dialer(j); });
    if (rudp_bench::wait_for(
          [] { return shared->clients_ready.load() != 0 || failed(); }, 20)
        && pause_for(t.warm)) {
      auto c0 = shared->completed.load();
      auto t0 = now_s();
      if (pause_for(t.window)) {
        auto c1 = shared->completed.load();
        o.conn_per_s = double(c1 - c0) / (now_s() - t0);
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
        rudp_bench::spawn("", 150, [&] { return sys.dialer(jc); }));
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

void add(results& r, const std::string& metric, const std::string& sys,
         double v, const std::string& error) {
  auto& s = r[metric][sys];
  if (v >= 0)
    s.runs.push_back(v);
  else if (s.note.empty() && !error.empty())
    s.note = error;
}

} // namespace

} // namespace peers_bench

int main(int argc, char** argv) {
  using namespace peers_bench;
  mode m = mode::full;
  std::string json = std::string{CRUST_SOURCE_DIR} + "/bench/results/peers.json";
  bool json_given = false;
  std::set<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick" || a == "quick")
      m = mode::quick;
    else if (a == "--smoke")
      m = mode::smoke;
    else if (a.rfind("--json=", 0) == 0)
      json = a.substr(7), json_given = true;
    else if (a.rfind("--in-flight=", 0) == 0 && std::atoi(a.c_str() + 12) > 0)
      connect_in_flight = std::atoi(a.c_str() + 12);
    else if (a.rfind("--only=", 0) == 0)
      only.insert(a.substr(7));
    else {
      std::fprintf(stderr, "usage: crust-bench-peers [--quick | --smoke] "
                           "[--json=PATH] [--only=crust|tcp|zmq|caf]...\n");
      return 2;
    }
  }
  auto t = timing_for(m);
  void* mem = ::mmap(nullptr, sizeof(page), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  shared = new (mem) page{};
  rudp_bench::area = &shared->base;
  struct sigaction sa{};
  sa.sa_handler = rudp_bench::on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  if (!zmq_make_keys()) {
    std::fprintf(stderr, "peers_bench: cannot make ZeroMQ CURVE keys\n");
    return 1;
  }
  auto short_key = [](const std::string& k) {
    return k == "crust" ? "crust" : k == "raw TCP" ? "tcp"
                                   : k == "ZeroMQ CURVE" ? "zmq" : "caf";
  };
  std::vector<system_def> chosen;
  for (auto& s : all_systems())
    if (only.empty() || only.count(short_key(s.key)))
      chosen.push_back(s);

  auto t_start = now_s();
  auto load_start = load_average();
  std::printf("peers bench (%s): each side in a process of its own, "
              "127.0.0.1; %d repetition%s; load average at start: %s",
              m == mode::full ? "full" : m == mode::quick ? "quick" : "smoke",
              t.reps, t.reps == 1 ? "" : "s", load_start.c_str());
  std::vector<ceilings> cs;
  results r;
  std::string idle_note;
  for (int rep = 0; rep < t.reps && !rudp_bench::interrupted; ++rep) {
    auto c = measure_ceilings(m == mode::smoke ? 0.02 : 0.1);
    std::printf("  %d libsodium, one core: ChaCha20-Poly1305 %.0f MB/s, X25519 "
                "%.0f/s (base point %.0f/s), Ed25519 sign %.0f/s verify "
                "%.0f/s\n",
                rep + 1, c.aead_mbps, c.x25519_per_s, c.x25519_base_per_s,
                c.ed_sign_per_s, c.ed_verify_per_s);
    std::fflush(stdout);
    cs.push_back(c);
    for (auto& s : chosen) {
      if (rudp_bench::interrupted)
        break;
      auto t0 = now_s();
      auto bulk = run_stream(s, 64 * 1024, t);
      add(r, "bulk_mbps", s.key, bulk.mbps, bulk.error);
      add(r, "cpu_s_per_gb", s.key, bulk.cpu_per_gb, bulk.error);
      add(r, "rtt_p50_us", s.key, bulk.p50, bulk.error);
      add(r, "rtt_p99_us", s.key, bulk.p99, bulk.error);
      auto small = run_stream(s, 64, t);
      add(r, "small_msgs_per_s", s.key, small.msgs_per_s, small.error);
      pair_out conn;
      if (s.dialer) {
        conn = run_connect(s, t);
        add(r, "conn_per_s", s.key, conn.conn_per_s, conn.error);
      } else {
        r["conn_per_s"][s.key].note = s.no_connect;
      }
      std::printf("  %d %-13s bulk %7.1f MB/s  small %9.0f msg/s  rtt p50 %6.1f "
                  "p99 %7.1f us  %7.0f conn/s  %6.2f CPU-s/GB  (%.1f s)%s%s%s\n",
                  rep + 1, s.key.c_str(), bulk.mbps, small.msgs_per_s, bulk.p50,
                  bulk.p99, conn.conn_per_s, bulk.cpu_per_gb, now_s() - t0,
                  bulk.error.empty() ? "" : ("  [bulk: " + bulk.error + "]").c_str(),
                  small.error.empty() ? "" : ("  [small: " + small.error + "]").c_str(),
                  conn.error.empty() ? "" : ("  [conn: " + conn.error + "]").c_str());
      std::fflush(stdout);
    }
  }
  auto c = median_ceilings(cs);
  // Idle memory once per count: it is not a rate, load barely moves it.
  for (int n : t.idle_counts)
    for (auto& s : chosen) {
      if (rudp_bench::interrupted)
        break;
      auto key = std::to_string(n);
      if (!s.dialer) {
        r["idle_server_kib_" + key][s.key].note = s.no_idle;
        r["idle_both_kib_" + key][s.key].note = s.no_idle;
        continue;
      }
      auto t0 = now_s();
      auto o = run_idle(s, n);
      add(r, "idle_server_kib_" + key, s.key, o.server_kib, o.error);
      add(r, "idle_both_kib_" + key, s.key, o.both_kib, o.error);
      std::printf("  idle %5d %-13s server end %6.1f KiB/conn, both ends %6.1f "
                  "KiB/conn  (%.1f s)%s\n",
                  n, s.key.c_str(), o.server_kib, o.both_kib, now_s() - t0,
                  o.error.empty() ? "" : ("  [" + o.error + "]").c_str());
      std::fflush(stdout);
    }
  if (m != mode::full)
    idle_note = "10,000 idle connections are measured in the full run only";
  if (rudp_bench::interrupted) {
    std::fprintf(stderr, "peers_bench: interrupted\n");
    return 130;
  }
  print_report(r, c, m, t.reps, idle_note);
  auto load_end = load_average();
  std::printf("took %.0f s; load average at end: %s", now_s() - t_start,
              load_end.c_str());
  if (m == mode::smoke) {
    bool all = true;
    for (auto& s : chosen)
      for (auto* k : {"bulk_mbps", "small_msgs_per_s"})
        if (r[k][s.key].runs.empty() || r[k][s.key].median() <= 0) {
          std::printf("smoke: %s moved nothing (%s): %s\n", s.key.c_str(), k,
                      r[k][s.key].note.c_str());
          all = false;
        }
    std::printf("smoke: %s\n", all ? "every system moved messages" : "FAILED");
    return all ? 0 : 1;
  }
  if ((m == mode::full && only.empty()) || json_given) {
    write_json(json, r, c, m, t.reps, idle_note, load_start, load_end);
    std::printf("wrote %s\n", json.c_str());
  }
  return 0;
}
