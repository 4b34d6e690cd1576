// crust-bench-rudp: settings and timing, the shared page, the processes.
#include "bench/rudp_bench_shared.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace rudp_bench {

// -- settings -----------------------------------------------------------------

timing timing_for(mode m) {
  switch (m) {
    case mode::smoke:
      return {0.05, 0.25, 3, 20, 2.0, 0.1, 0.25, 3.0, 3, 1};
    case mode::quick:
      return {0.1, 0.5, 20, 500, 1.0, 0.2, 1.0, 5.0, 2, 1};
    case mode::full:
      break;
  }
  return {0.1, 1.0, 50, 2000, 3.0, 0.3, 2.0, 10.0, 3, 2};
}

// Set by --scheduler=sharing (an experiment: CAF's condition-variable
// scheduler instead of the default work stealing, which polls and sleeps).
bool sharing_scheduler = false;

double now_s() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts); // one clock for every process
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// -- what the processes share ---------------------------------------------------

shared_area* area = nullptr;

double cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// The sender's side of the CPU count: call often while sending.
void note_sender_cpu() {
  auto w = area->window.load(std::memory_order_acquire);
  if (w >= 1 && area->a_cpu[0] < 0)
    area->a_cpu[0] = cpu_s();
  if (w >= 2 && area->a_cpu[1] < 0)
    area->a_cpu[1] = cpu_s();
}

void set_error(char* where, const char* fmt, ...) {
  if (where[0])
    return; // the first error is the one that matters
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(where, sizeof(shared_area::a_error), fmt, ap);
  va_end(ap);
}

// -- processes ----------------------------------------------------------------

namespace {

std::vector<pid_t> children;

} // namespace

volatile sig_atomic_t interrupted = 0;

void on_signal(int) {
  interrupted = 1;
}

bool enter_netns(const std::string& ns) {
  auto path = "/var/run/netns/" + ns;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = ::setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return ok;
}

// Runs `body` in a child process (in namespace `ns` when given); the child
// dies with the parent and after `limit_s` at the latest.
pid_t spawn(const std::string& ns, unsigned limit_s,
            const std::function<int()>& body) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::alarm(limit_s);
    if (!ns.empty() && !enter_netns(ns)) {
      std::fprintf(stderr, "rudp_bench: cannot enter namespace %s\n",
                   ns.c_str());
      ::_exit(3);
    }
    int rc = body();
    std::fflush(stdout);
    std::fflush(stderr);
    // No teardown: the actor systems (and their sockets) end with the
    // process; the figures are already in the shared page.
    ::_exit(rc);
  }
  children.push_back(pid);
  return pid;
}

// Waits until `cond` holds; false after `limit_s` or on ^C.
bool wait_for(const std::function<bool()>& cond, double limit_s) {
  auto deadline = now_s() + limit_s;
  while (!cond()) {
    if (interrupted || now_s() > deadline)
      return false;
    ::usleep(1000);
  }
  return true;
}

// Collects every child: asks them out, then kills the ones that linger.
void reap_all(double grace_s) {
  area->abort = 1;
  auto deadline = now_s() + grace_s;
  for (auto pid : children) {
    for (;;) {
      int status;
      auto r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno != EINTR))
        break;
      if (now_s() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      ::usleep(1000);
    }
  }
  children.clear();
}

// The machine may be shared: the figures say how busy it was.
std::string load_average() {
  char buf[128] = "?\n";
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (!std::fgets(buf, sizeof(buf), f))
      std::snprintf(buf, sizeof(buf), "?\n");
    std::fclose(f);
  }
  return buf;
}

double percentile(std::vector<double>& xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto rank = static_cast<size_t>(std::ceil(q * double(xs.size())));
  return xs[std::min(xs.size(), std::max<size_t>(rank, 1)) - 1];
}

std::vector<uint8_t> stream_payload(size_t size) {
  std::vector<uint8_t> msg(size);
  for (size_t i = 0; i < msg.size(); ++i)
    msg[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
  if (!msg.empty())
    msg[0] = 'S';
  return msg;
}

void publish_pings(shared_area& a, std::vector<double>& rtts) {
  a.pings = static_cast<uint32_t>(rtts.size());
  a.p50_us = percentile(rtts, 0.50);
  a.p99_us = percentile(rtts, 0.99);
  a.a_ping_done = 1;
}

} // namespace rudp_bench
