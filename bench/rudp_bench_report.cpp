// crust-bench-rudp: the table on stdout and the JSON file.
#include "bench/rudp_bench_shared.hpp"

#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace rudp_bench {

// -- report ---------------------------------------------------------------------------

namespace {

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

} // namespace

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

namespace {

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

} // namespace

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
    if (r.udp_gso.ran)
      json_figures(out, "raw_udp_gso", r.udp_gso, false, false);
    json_figures(out, "rudp", r.rudp, true, false);
    json_figures(out, "tcp", r.tcp, true, true);
    std::fprintf(out, "    }%s\n", i + 1 < rows.size() ? "," : "");
  }
  std::fprintf(out, "  ]\n}\n");
  std::fclose(out);
}

} // namespace rudp_bench
