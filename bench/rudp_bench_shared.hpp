// crust-bench-rudp (see rudp_bench.cpp): what its files share. Settings and
// timing, the shared page the processes write their figures to, the process
// helpers, and what each file offers the others:
//   rudp_bench_shared.cpp  settings, the shared page, processes
//   rudp_bench_udp.cpp     raw UDP sender and receiver, the lossy relay
//   rudp_bench_crust.cpp   the crust listener and dialer
//   rudp_bench_netns.cpp   the veth/nft lab in two network namespaces
//   rudp_bench_report.cpp  the table and the JSON
//   rudp_bench.cpp         one measurement, and main()
#pragma once

#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <new>
#include <string>
#include <vector>

namespace crust {
struct endpoint;
} // namespace crust

namespace rudp_bench {

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

timing timing_for(mode m);

// Rates are counted in sub-windows of this length too: the best one hints
// at what a run would give without a neighbour's load.
constexpr double sub_window = 0.25;
constexpr int max_subs = 64;

constexpr size_t udp_payload = 1200;
constexpr uint64_t udp_window_pkts = 256; // datagrams in flight, raw UDP
constexpr size_t bulk_size = 64 * 1024;
constexpr size_t ping_size = 32;
constexpr uint64_t bulk_in_flight = 16 * bulk_size; // plain sends unconfirmed
constexpr uint64_t relay_seed = 0x5eed'c0de'2024ull;
constexpr const char* ip_a = "10.99.0.1";
constexpr const char* ip_b = "10.99.0.2";

// Set by --scheduler=sharing (an experiment: CAF's condition-variable
// scheduler instead of the default work stealing, which polls and sleeps).
extern bool sharing_scheduler;

// Seconds on CLOCK_MONOTONIC: one clock for every process.
double now_s();

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

extern shared_area* area;

// CPU seconds of this process (all threads).
double cpu_s();

// The sender's side of the CPU count: call often while sending.
void note_sender_cpu();

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

// Into `where` (a_error or b_error), unless an error is already there.
void set_error(char* where, const char* fmt, ...);

// -- processes ----------------------------------------------------------------

extern volatile sig_atomic_t interrupted; // set by on_signal (^C, SIGTERM)

void on_signal(int);

// Into /var/run/netns/<ns>; false when that fails.
bool enter_netns(const std::string& ns);

// Runs `body` in a child process (in namespace `ns` when given); the child
// dies with the parent and after `limit_s` at the latest.
pid_t spawn(const std::string& ns, unsigned limit_s,
            const std::function<int()>& body);

// Waits until `cond` holds; false after `limit_s` or on ^C.
bool wait_for(const std::function<bool()>& cond, double limit_s);

// Collects every child: asks them out, then kills the ones that linger.
void reap_all(double grace_s = 2.0);

// -- the sides: each runs in a child process, returns its exit code -------------

// Raw UDP (rudp_bench_udp.cpp): B counts what arrives, A sends paced by a
// window on B's highest sequence number.
// With `gso`, runs of datagrams go and come as one buffer (UDP_SEGMENT,
// UDP_GRO).
int udp_receiver(const std::string& ip, const timing& t, bool gso);
int udp_sender(const std::string& ip, const std::string& to_ip,
               uint16_t to_port, bool gso);

// Forwards datagrams between one client (whoever sends to its front
// socket) and `target`, dropping `loss` of them in each direction with a
// seeded generator. Runs until abort.
int relay(double loss, const std::string& target_ip, uint16_t target_port);

// crust (rudp_bench_crust.cpp). B: keeps whoever connects, echoes small
// messages, counts big ones.
int crust_server(const std::string& ip, const timing& t);
// A: dials B, ping-pongs, then sends bulk until B's window closed.
int crust_client(const std::string& ip, const crust::endpoint& target,
                 const timing& t);

// -- network namespaces (rudp_bench_netns.cpp) ----------------------------------

// Runs `cmd` through the shell, its output discarded, `input` on its stdin
// when given; true when it exits 0.
bool run_cmd(const std::string& cmd, const std::string& input = {});

struct netns_pair {
  std::string a, b;
  bool up = false;

  // Namespaces of earlier runs whose process is gone.
  static void clean_stale();

  bool create();

  // `percent` of the packets each namespace receives are dropped.
  bool loss(int percent);

  void destroy();
};

extern netns_pair lab;

// -- one measurement ----------------------------------------------------------------

// udp_gso: raw UDP that hands the kernel runs of datagrams at once (UDP
// GSO) and takes them so (GRO), as rudp's socket does: the fairer ceiling
// for rudp, measured on the first row only.
enum class proto { udp, udp_gso, rudp, tcp };

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

// -- report (rudp_bench_report.cpp) -------------------------------------------------

struct row {
  path where;
  figures udp, udp_gso, rudp, tcp;
};

void print_table(const std::vector<row>& rows);

void write_json(const std::string& file, const std::vector<row>& rows,
                mode m, const char* loss_via, const timing& t,
                const std::string& load_start, const std::string& load_end);

// The machine may be shared: the figures say how busy it was.
std::string load_average();

// q in [0, 1] of `xs` (sorts it); 0 when empty.
double percentile(std::vector<double>& xs, double q);

// Writes the pings' round trips (µs) into `a`: count, p50, p99, done.
void publish_pings(shared_area& a, std::vector<double>& rtts);

/// A T in memory the forked sides share with the parent (anonymous, shared
/// mapping), or nullptr (perror said why).
template <class T>
T* shared_page() {
  void* mem = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::perror("mmap");
    return nullptr;
  }
  return new (mem) T{};
}

/// A stream message of `size` bytes: the same pseudo-random bytes for
/// every system, the first one 'S' (not a ping).
std::vector<uint8_t> stream_payload(size_t size);

} // namespace rudp_bench
