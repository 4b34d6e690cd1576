// crust-bench-peers: what the parent reads of its children (/proc), and
// small helpers every side uses.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "bench/peers_bench.hpp"

namespace peers_bench {

page* shared = nullptr;

// /proc/PID/stat: utime and stime (fields 14 and 15) cover every thread of
// the process, so the parent can sample a child at the window's edges
// without the child's help.
double cpu_of(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", int(pid));
  FILE* f = std::fopen(path, "r");
  if (!f)
    return -1;
  char buf[1024] = {0};
  auto n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // The command name may hold spaces: fields count from its closing ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p)
    return -1;
  unsigned long long ut = 0, st = 0;
  // After ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt
  // majflt cmajflt utime(14) stime(15).
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                  &ut, &st)
      != 2)
    return -1;
  return double(ut + st) / double(::sysconf(_SC_CLK_TCK));
}

double rss_kib(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/status", int(pid));
  FILE* f = std::fopen(path, "r");
  if (!f)
    return -1;
  char line[256];
  double kib = -1;
  while (std::fgets(line, sizeof(line), f))
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kib = std::atof(line + 6);
      break;
    }
  std::fclose(f);
  return kib;
}

// 10,000 connections need more descriptors than the usual soft limit of
// 1024; the hard limit is as far as an unprivileged process may go.
long raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return -1;
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  ::getrlimit(RLIMIT_NOFILE, &rl);
  return long(rl.rlim_cur);
}

bool ping_pong(const job& j, const std::function<bool(int)>& round) {
  std::vector<double> rtts;
  auto deadline = now_s() + 30;
  bool ok = true;
  for (int n = 0; ok && n < j.pings_warm + j.pings && !shared->base.abort;
       ++n) {
    if (n == j.pings_warm)
      deadline = now_s() + j.ping_limit;
    else if (now_s() > deadline)
      break;
    auto t0 = now_s();
    ok = round(n);
    if (ok && n >= j.pings_warm)
      rtts.push_back((now_s() - t0) * 1e6);
  }
  if (j.pings > 0)
    rudp_bench::publish_pings(shared->base, rtts);
  return ok;
}

} // namespace peers_bench
