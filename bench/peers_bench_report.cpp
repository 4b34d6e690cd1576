// crust-bench-peers: the report. A markdown table (median and min–max of
// the repetitions, crust's ratio to each peer and to the crypto limit),
// the targets as a MET/MISSED headline, and the same as JSON.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

#include "bench/peers_bench.hpp"

namespace peers_bench {

double series::median() const {
  if (runs.empty())
    return -1;
  auto v = runs;
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double series::min() const {
  return runs.empty() ? -1 : *std::min_element(runs.begin(), runs.end());
}

double series::max() const {
  return runs.empty() ? -1 : *std::max_element(runs.begin(), runs.end());
}

const std::vector<metric_info>& metrics() {
  static const std::vector<metric_info> all{
    {"bulk_mbps", "bulk, 64 KiB messages", "MB/s", true},
    {"small_msgs_per_s", "small messages, 64 B", "msg/s", true},
    {"rtt_p50_us", "ping-pong round trip p50, 64 B", "µs", false},
    {"rtt_p99_us", "ping-pong round trip p99, 64 B", "µs", false},
    {"conn_per_s", "new connections with full handshake", "conn/s", true},
    {"conn_server_cpu_us", "server CPU time per new connection", "µs", false},
    {"idle_server_kib_1000", "idle memory, 1,000 conns, server end", "KiB/conn", false},
    {"idle_both_kib_1000", "idle memory, 1,000 conns, both ends", "KiB/conn", false},
    {"idle_server_kib_10000", "idle memory, 10,000 conns, server end", "KiB/conn", false},
    {"idle_both_kib_10000", "idle memory, 10,000 conns, both ends", "KiB/conn", false},
    {"cpu_s_per_gb", "CPU time per GB in bulk, both processes", "CPU-s/GB", false},
  };
  return all;
}

const std::vector<std::string>& systems() {
  static const std::vector<std::string> all{"crust", "raw TCP", "ZeroMQ CURVE",
                                            "CAF BASP"};
  return all;
}

namespace {

const series* find(const results& r, const std::string& m, const std::string& s) {
  auto i = r.find(m);
  if (i == r.end())
    return nullptr;
  auto j = i->second.find(s);
  return j == i->second.end() ? nullptr : &j->second;
}

double median_of(const results& r, const std::string& m, const std::string& s) {
  auto* x = find(r, m, s);
  return x ? x->median() : -1;
}

std::string num(double v) {
  char buf[32];
  if (v < 0)
    return "–";
  if (v >= 1000)
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  else if (v >= 10)
    std::snprintf(buf, sizeof(buf), "%.1f", v);
  else
    std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

std::string cell(const series* s) {
  if (!s || s->runs.empty())
    return "n/a";
  if (s->runs.size() == 1)
    return num(s->median());
  return num(s->median()) + " (" + num(s->min()) + "–" + num(s->max()) + ")";
}

std::string ratio(double a, double b) {
  if (a <= 0 || b <= 0)
    return "–";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f×", a / b);
  return buf;
}

// The limit libsodium sets, for the figures that have one.
double limit_of(const std::string& m, const ceilings& c) {
  if (m == "bulk_mbps")
    return c.aead_mbps;
  if (m == "conn_per_s")
    return c.handshake_per_s;
  if (m == "conn_server_cpu_us" && c.handshake_per_s > 0)
    return 1e6 / c.handshake_per_s; // one side's crypto
  if (m == "cpu_s_per_gb" && c.aead_mbps > 0)
    return 2 * 1e3 / c.aead_mbps; // sealing and opening, at sealing speed
  return -1;
}

struct target {
  std::string name, rule;
  double value = -1, goal = 0; // value against goal
  bool at_most = false;
  std::string status() const {
    if (value < 0)
      return "NOT MEASURED";
    return (at_most ? value <= goal : value >= goal) ? "MET" : "MISSED";
  }
};

std::vector<target> targets(const results& r, const ceilings& c) {
  std::vector<target> t;
  auto crust = [&](const char* m) { return median_of(r, m, "crust"); };
  auto div = [](double a, double b) { return a > 0 && b > 0 ? a / b : -1; };
  t.push_back({"bulk", "crust bulk / single-core ChaCha20-Poly1305 >= 0.80",
               div(crust("bulk_mbps"), c.aead_mbps), 0.80});
  t.push_back({"small", "crust 64 B msg/s / ZeroMQ CURVE >= 1.5",
               div(crust("small_msgs_per_s"),
                   median_of(r, "small_msgs_per_s", "ZeroMQ CURVE")),
               1.5});
  t.push_back({"p99", "crust p99 round trip / raw TCP p99 <= 2.0",
               div(crust("rtt_p99_us"), median_of(r, "rtt_p99_us", "raw TCP")),
               2.0, true});
  t.push_back({"handshakes", "crust conn/s / X25519 handshake ceiling >= 0.50",
               div(crust("conn_per_s"), c.handshake_per_s), 0.50});
  t.push_back({"idle", "crust KiB per idle connection at 10,000 (server end) <= 16",
               crust("idle_server_kib_10000"), 16, true});
  return t;
}

// How each figure was made, where it matters for reading it.
const std::vector<std::string>& method_notes() {
  static const std::vector<std::string> all{
    "Every side runs in a process of its own on 127.0.0.1; rates are counted "
    "at the receiving server over the window, CPU time is both processes' "
    "(/proc/PID/stat) over the same window.",
    "crust, ZeroMQ and CAF send one message per API call; raw TCP writes "
    "crust's record framing in 256 KiB batches (the transport limit), so its "
    "small-message rate is a ceiling, not a rival.",
    "crust sends are plain sends to the connection's actor, at most 256 KiB "
    "(64 KiB messages) or 64 KiB (64 B) not yet confirmed by crust::sent "
    "(crust's backpressure); ZeroMQ is paced by its high-water "
    "mark; CAF has none, so its server acknowledges every 8th message and "
    "the client keeps at most 16 (64 KiB) or 512 (64 B) unacknowledged.",
    "New connections: 128 dials in flight, each closed once done. crust's "
    "dialers are the library's own secure_channel with an identity each "
    "(crust keeps one connection per peer id), done when the server's "
    "OBSERVED frame arrives (the connection is live at the service); "
    "ZeroMQ's: a new DEALER's first message answered; raw TCP: accept + "
    "one byte.",
    "libsodium limit column: bulk = one core sealing 16 KiB records with "
    "ChaCha20-Poly1305 (sender and receiver each have a core); conn/s = the "
    "handshake ceiling below; server CPU per connection = one side's "
    "handshake crypto (1 / ceiling); CPU per GB = sealing plus opening a GB "
    "at the sealing speed.",
    "Idle memory: growth of VmRSS (user-space resident memory) from before "
    "dialling to all connections up, divided by the connections. Kernel "
    "socket memory is not in RSS, for any system; raw TCP's figure is "
    "therefore close to zero. crust's client end is the raw Noise dialer "
    "(one secure_channel per connection); its server end is a crust "
    "service, the figure the target is about. CAF's dialling ends are actor "
    "systems, one per connection (BASP connects two nodes once).",
  };
  return all;
}

} // namespace

void print_report(const results& r, const ceilings& c, mode, int reps,
                  const std::string& idle_note) {
  std::printf("\n| figure | unit | crust | raw TCP | ZeroMQ CURVE | CAF BASP "
              "| libsodium limit | crust ÷ raw TCP | crust ÷ ZeroMQ | crust ÷ "
              "CAF | crust ÷ limit |\n|---|---|---|---|---|---|---|---|---|---"
              "|---|\n");
  for (auto& m : metrics()) {
    if (r.find(m.key) == r.end())
      continue;
    double cr = median_of(r, m.key, "crust");
    double lim = limit_of(m.key, c);
    std::printf("| %s | %s", m.label.c_str(), m.unit.c_str());
    for (auto& s : systems())
      std::printf(" | %s", cell(find(r, m.key, s)).c_str());
    std::printf(" | %s", lim > 0 ? num(lim).c_str() : "");
    for (auto& s : {"raw TCP", "ZeroMQ CURVE", "CAF BASP"})
      std::printf(" | %s", ratio(cr, median_of(r, m.key, s)).c_str());
    std::printf(" | %s |\n", lim > 0 ? ratio(cr, lim).c_str() : "");
  }
  std::printf("\nMedian (min–max) of %d repetition%s; a ratio is crust's "
              "median over the other's (above 1 is better for rates, below "
              "1 for times, memory and CPU). MB = 10^6 bytes of payload.\n",
              reps, reps == 1 ? "" : "s");
  for (auto& n : method_notes())
    std::printf("- %s\n", n.c_str());
  // Each system's reason once, with the figures it leaves out.
  std::map<std::pair<std::string, std::string>, std::string> missing;
  for (auto& m : metrics()) {
    auto i = r.find(m.key);
    if (i == r.end())
      continue;
    for (auto& [sys, s] : i->second)
      if (s.runs.empty() && !s.note.empty()) {
        auto& labels = missing[{sys, s.note}];
        labels += (labels.empty() ? "" : "; ") + m.label;
      }
  }
  std::printf("Not measured:\n");
  for (auto& [key, labels] : missing)
    std::printf("  %s, %s: %s\n", key.first.c_str(), labels.c_str(),
                key.second.c_str());
  if (!idle_note.empty())
    std::printf("  %s\n", idle_note.c_str());
  std::printf("Handshake ceiling: %s\n", c.formula.c_str());
  std::printf("\nIssue 8 targets (measured, not enforced):\n");
  for (auto& t : targets(r, c))
    std::printf("  %-12s %-68s %8s  %s\n", t.name.c_str(), t.rule.c_str(),
                t.value < 0 ? "–" : num(t.value).c_str(), t.status().c_str());
}

void write_json(const std::string& file, const results& r, const ceilings& c,
                mode m, int reps, const std::string& idle_note,
                const std::string& load_start, const std::string& load_end) {
  using nlohmann::json;
  json j;
  utsname u{};
  ::uname(&u);
  auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n')); };
  j["bench"] = "crust-bench-peers";
  j["mode"] = m == mode::full ? "full" : m == mode::quick ? "quick" : "smoke";
  j["unix_time"] = (long long)::time(nullptr);
  j["host"] = std::string{u.machine} + " " + u.release;
  j["cpus"] = ::sysconf(_SC_NPROCESSORS_ONLN);
  j["repetitions"] = reps;
  j["load_average_start"] = first_line(load_start);
  j["load_average_end"] = first_line(load_end);
  j["mb"] = "10^6 bytes of payload";
  j["ceilings"] = {{"chacha20poly1305_mbps", c.aead_mbps},
                   {"x25519_per_s", c.x25519_per_s},
                   {"x25519_base_per_s", c.x25519_base_per_s},
                   {"ed25519_pk_to_x25519_per_s", c.pk_convert_per_s},
                   {"ed25519_sign_per_s", c.ed_sign_per_s},
                   {"ed25519_verify_per_s", c.ed_verify_per_s},
                   {"handshake_per_s", c.handshake_per_s},
                   {"handshake_formula", c.formula}};
  for (auto& mi : metrics()) {
    auto i = r.find(mi.key);
    if (i == r.end())
      continue;
    json& jm = j["metrics"][mi.key];
    jm["label"] = mi.label;
    jm["unit"] = mi.unit;
    jm["higher_is_better"] = mi.higher_better;
    for (auto& [sys, s] : i->second) {
      json x;
      if (!s.runs.empty()) {
        x["median"] = s.median();
        x["min"] = s.min();
        x["max"] = s.max();
        x["runs"] = s.runs;
      }
      if (!s.note.empty())
        x["note"] = s.note;
      jm["systems"][sys] = x;
    }
    double cr = median_of(r, mi.key, "crust");
    for (auto& s : {"raw TCP", "ZeroMQ CURVE", "CAF BASP"}) {
      double o = median_of(r, mi.key, s);
      if (cr > 0 && o > 0)
        jm["crust_ratio"][s] = cr / o;
    }
    if (limit_of(mi.key, c) > 0 && cr > 0)
      jm["crust_ratio"]["libsodium limit"] = cr / limit_of(mi.key, c);
  }
  if (!idle_note.empty())
    j["idle_note"] = idle_note;
  j["method"] = method_notes();
  for (auto& t : targets(r, c))
    j["targets"].push_back({{"name", t.name},
                            {"rule", t.rule},
                            {"value", t.value < 0 ? json(nullptr) : json(t.value)},
                            {"goal", t.goal},
                            {"status", t.status()}});
  std::ofstream out(file);
  out << j.dump(2) << "\n";
}

} // namespace peers_bench
