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
//   crust-bench-peers            full run: 5 repetitions (about 2 min),
//                                JSON to bench/results/peers.json
//   crust-bench-peers --quick    2 shorter repetitions, idle at 1,000
//                                only (about 25 s)
//   crust-bench-peers --smoke    a few messages per system (ctest, < 10 s);
//                                exit 1 when a system moved nothing; no JSON
// Options: --json=PATH, --only=crust|tcp|zmq|caf and
// --test=bulk|small|connect|idle (repeatable; a partial run writes JSON
// only when given a path; `bulk` includes the round trips, for profiling
// one figure at a time), --in-flight=N (dials at once in the connection
// runs, 128).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <thread>

#include "bench/peers_bench.hpp"

#ifndef CRUST_SOURCE_DIR
#define CRUST_SOURCE_DIR "."
#endif

namespace peers_bench {

namespace {

timing timing_for(mode m) {
  switch (m) {
    case mode::smoke:
      return {0.05, 0.2, 3, 20, 1.0, 1, {50}};
    case mode::quick:
      return {0.2, 0.5, 50, 500, 0.5, 2, {1000}};
    case mode::full:
      break;
  }
  return {0.3, 1.0, 100, 2000, 1.0, 5, {1000, 10000}};
}

std::vector<system_def> all_systems() {
  std::vector<system_def> all(4);
  all[0].key = "crust";
  all[0].server = [](const job& j) { return crust_server(j, false); };
  all[0].client = [](const job& j) { return crust_client(j, false); };
  all[0].connector = all[0].holder = noise_client;
  all[1].key = "raw TCP";
  all[1].server = tcp_server;
  all[1].client = all[1].connector = all[1].holder = tcp_client;
  all[2].key = "ZeroMQ CURVE";
  all[2].server = zmq_server;
  all[2].client = all[2].connector = all[2].holder = zmq_client;
  // A ZeroMQ socket holds two descriptors (its TCP one and a mailbox):
  // 5,000 sockets per process stay under a 20,000 descriptor limit.
  all[2].idle_per_process = 5000;
  all[3].key = "CAF BASP";
  all[3].server = caf_server;
  all[3].client = caf_client;
  all[3].holder = caf_dialer;
  all[3].no_connect =
    "BASP keeps one connection per pair of actor systems, and CAF 0.17's "
    "middleman has no call that closes a connection to a node (only a "
    "published port): a new connection means a new actor system, whose "
    "start-up, not the handshake, would be measured";
  // Each connection is an actor system of its own (scheduler, clock and
  // multiplexer threads): 250 per process, 1,000 in all.
  all[3].idle_per_process = 250;
  all[3].idle_max = 1000;
  all[3].no_idle =
    "each BASP connection needs an actor system of its own (at least three "
    "threads each); 10,000 of them exceed this machine's thread budget "
    "(pid_max 32,768), so CAF is measured at 1,000 only";
  return all;
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
  std::set<std::string> only, tests;
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
    else if (a.rfind("--test=", 0) == 0)
      tests.insert(a.substr(7));
    else {
      std::fprintf(stderr, "usage: crust-bench-peers [--quick | --smoke] "
                           "[--json=PATH] [--only=crust|tcp|zmq|caf]... "
                           "[--test=bulk|small|connect|idle]...\n");
      return 2;
    }
  }
  auto t = timing_for(m);
  shared = rudp_bench::shared_page<page>();
  if (!shared)
    return 1;
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
  auto wanted = [&](const char* t) { return tests.empty() || tests.count(t); };
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
      pair_out bulk, small;
      if (wanted("bulk"))
        bulk = run_stream(s, 64 * 1024, t);
      add(r, "bulk_mbps", s.key, bulk.mbps, bulk.error);
      add(r, "cpu_s_per_gb", s.key, bulk.cpu_per_gb, bulk.error);
      add(r, "rtt_p50_us", s.key, bulk.p50, bulk.error);
      add(r, "rtt_p99_us", s.key, bulk.p99, bulk.error);
      if (wanted("small"))
        small = run_stream(s, 64, t);
      add(r, "small_msgs_per_s", s.key, small.msgs_per_s, small.error);
      pair_out conn;
      if (!wanted("connect")) {
      } else if (s.connector) {
        conn = run_connect(s, t);
        add(r, "conn_per_s", s.key, conn.conn_per_s, conn.error);
        add(r, "conn_server_cpu_us", s.key, conn.server_cpu_us, conn.error);
      } else {
        r["conn_per_s"][s.key].note = s.no_connect;
        r["conn_server_cpu_us"][s.key].note = s.no_connect;
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
  for (int n : wanted("idle") ? t.idle_counts : std::vector<int>{})
    for (auto& s : chosen) {
      if (rudp_bench::interrupted)
        break;
      auto key = std::to_string(n);
      if (!s.holder || n > s.idle_max) {
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
