// crust-bench-peers (see peers_bench.cpp): crust against what a user would
// pick instead, in one run. What its files share:
//   peers_bench.cpp         main(): the systems, the repetitions
//   peers_bench_runs.cpp    one pair's run and the parent's sampling
//   peers_bench_proc.cpp    /proc figures, percentiles, the shared page
//   peers_bench_crypto.cpp  libsodium ceilings (ChaCha20-Poly1305, X25519)
//   peers_bench_tcp.cpp     raw TCP with crust's record framing, no crypto
//   peers_bench_crust.cpp   crust services (tcp:// or udp://) on both ends
//   peers_bench_noise.cpp   many crust dialers at once: a raw Noise client
//   peers_bench_zmq.cpp     ZeroMQ with CURVE security
//   peers_bench_caf.cpp     CAF remote actors over BASP
//   peers_bench_report.cpp  the markdown table, the headline, the JSON
// Processes and the page they share come from crust-bench-rudp
// (rudp_bench_shared.hpp): spawn(), wait_for(), reap_all(), area->abort.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/rudp_bench_shared.hpp"

namespace peers_bench {

using rudp_bench::now_s;

enum class mode { full, quick, smoke };

// What one pair of processes measures.
enum class test {
  stream,  // pings (when asked), then messages of `size` one way
  connect, // new connections with a full handshake, closed again
  idle,    // `conns` connections held open, nothing sent
};

struct job {
  test what = test::stream;
  size_t size = 64;        // stream: bytes per message
  int pings_warm = 0;      // stream: unmeasured pings first
  int pings = 0;           // stream: measured pings (0: none)
  double ping_limit = 1;   // ...for at most this long
  int conns = 0;           // idle: connections, over all clients
  int in_flight = 16;      // connect: handshakes at once
  int clients = 1;         // idle: client processes
  int client = 0;          // idle: which one this is
};

// Bytes of a ping, and the first byte that tells a ping from a stream
// message (servers echo pings, count the rest).
constexpr size_t ping_size = 64;
constexpr uint8_t ping_mark = 'P';

// The page every process of a pair shares; `base` is crust-bench-rudp's,
// whose process helpers this bench reuses (its abort flag, its errors,
// its ping figures).
struct page {
  rudp_bench::shared_area base;
  std::atomic<uint32_t> server_ready{0};
  uint16_t port = 0;
  std::atomic<uint64_t> rx_bytes{0};   // stream: payload the server got
  std::atomic<uint64_t> rx_msgs{0};
  std::atomic<uint64_t> completed{0};  // connect/idle: connections done
  std::atomic<uint32_t> streaming{0};  // a client began its stream
  std::atomic<uint32_t> clients_ready{0};   // idle: set up, not dialled
  std::atomic<uint32_t> go{0};              // idle: the parent says dial
  std::atomic<uint32_t> clients_holding{0}; // idle: all dialled
  std::atomic<uint64_t> client_conns{0};    // idle: held by clients
  char zmq_public[41] = {0};   // the ZeroMQ server's CURVE key pair
  char zmq_secret[41] = {0};
};

extern page* shared;

// -- the sides: each runs in a child process, returns its exit code -------

// Raw TCP (peers_bench_tcp.cpp).
int tcp_server(const job& j);
int tcp_client(const job& j);

// crust (peers_bench_crust.cpp): `rudp` picks udp:// over tcp://.
int crust_server(const job& j, bool rudp);
int crust_client(const job& j, bool rudp);

// Many crust dialers in one process (peers_bench_noise.cpp): Noise XX
// with an identity per connection, against crust_server.
int noise_client(const job& j);

// ZeroMQ CURVE (peers_bench_zmq.cpp); the parent makes the server's keys.
bool zmq_make_keys();
int zmq_server(const job& j);
int zmq_client(const job& j);

// CAF BASP (peers_bench_caf.cpp).
int caf_server(const job& j);
int caf_client(const job& j);
// Idle only: many CAF nodes (actor systems), one connection each.
int caf_dialer(const job& j);

// -- one measurement (peers_bench_runs.cpp) ----------------------------------

struct timing {
  double warm, window;    // stream and connect: uncounted, counted
  int pings_warm, pings;  // ping-pong before the bulk stream
  double ping_limit;
  int reps;
  std::vector<int> idle_counts;
};

// One system: its two sides, and why a figure is not measured.
struct system_def {
  std::string key;
  std::function<int(const job&)> server, client; // the stream runs
  std::function<int(const job&)> connector, holder; // connect, idle runs
  std::string no_connect;         // why there is no connector
  int idle_per_process = 1 << 30; // connections per holding process
  int idle_max = 1 << 30;         // more idle connections than this...
  std::string no_idle;            // ...are not measured, because
};

// What one pair of processes gave; -1: not measured (error says why).
struct pair_out {
  std::string error;
  double mbps = -1, msgs_per_s = -1, cpu_per_gb = -1;
  double p50 = -1, p99 = -1, conn_per_s = -1, server_cpu_us = -1;
  double server_kib = -1, both_kib = -1;
};

// Enough handshakes at once that the server, not the round trips, sets
// the pace (crust and ZeroMQ level off between 128 and 256); --in-flight.
extern int connect_in_flight;

// Pings (for 64 KiB), then a stream of `size`-byte messages, counted over
// the window.
pair_out run_stream(const system_def& sys, size_t size, const timing& t);
// New connections (handshake included) per second, counted at the server.
pair_out run_connect(const system_def& sys, const timing& t);
// `n` connections held open: RSS growth of both ends, per connection.
pair_out run_idle(const system_def& sys, int n);

// -- helpers (peers_bench_proc.cpp) -----------------------------------------

// CPU seconds (user + system, all threads) of process `pid`; -1 if gone.
double cpu_of(pid_t pid);

// Resident set of process `pid` in KiB; -1 if gone.
double rss_kib(pid_t pid);

// Raises this process's open-file limit to its hard limit; returns it.
long raise_fd_limit();

using rudp_bench::load_average;
using rudp_bench::percentile;

// The ping-pong every system runs: round(n) sends ping n and waits for
// its echo, false when that failed (it said why). The rounds after the
// warm-up are timed, for at most j.ping_limit seconds (the warm-up 30),
// and their round trips go into the page. False when a round failed.
bool ping_pong(const job& j, const std::function<bool(int)>& round);

// The first error of a side goes to the page.
#define PEERS_ERROR(...) \
  rudp_bench::set_error(shared->base.a_error, __VA_ARGS__)

// -- crypto ceilings (peers_bench_crypto.cpp) ---------------------------------

struct ceilings {
  double aead_mbps = 0;       // ChaCha20-Poly1305 IETF seal, 16 KiB records
  double x25519_per_s = 0;    // crypto_scalarmult_curve25519
  double x25519_base_per_s = 0; // ...with the base point (ephemeral key)
  double pk_convert_per_s = 0;  // Ed25519 public key to X25519
  double ed_sign_per_s = 0;
  double ed_verify_per_s = 0;
  double handshake_per_s = 0;   // one side's Noise XX, one core
  std::string formula;
};

ceilings measure_ceilings(double seconds_each);

// Each figure's median over several measurements (the machine may be
// shared: measured between the runs, like them).
ceilings median_ceilings(const std::vector<ceilings>& all);

std::string formula(const ceilings& c); // the handshake ceiling, in words

// -- results and report (peers_bench_report.cpp) -------------------------------

// One figure of one system over the repetitions.
struct series {
  std::vector<double> runs;
  std::string note; // why it is missing or what to know
  double median() const;
  double min() const;
  double max() const;
};

// metric -> system -> series
using results = std::map<std::string, std::map<std::string, series>>;

struct metric_info {
  std::string key, label, unit;
  bool higher_better;
};

const std::vector<metric_info>& metrics();
const std::vector<std::string>& systems(); // crust first

void print_report(const results& r, const ceilings& c, mode m, int reps,
                  const std::string& idle_note);
void write_json(const std::string& file, const results& r, const ceilings& c,
                mode m, int reps, const std::string& idle_note,
                const std::string& load_start, const std::string& load_end);

} // namespace peers_bench
