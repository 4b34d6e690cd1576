// crust-bench-rudp: the lab for loss as root. Two network namespaces joined
// by a veth (offloads off), nft dropping a share of what each receives.
#include "bench/rudp_bench_shared.hpp"

#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace rudp_bench {

// -- network namespaces ------------------------------------------------------------

bool run_cmd(const std::string& cmd, const std::string& input) {
  auto full = cmd + " >/dev/null 2>&1";
  if (input.empty())
    return std::system(full.c_str()) == 0;
  FILE* p = ::popen(full.c_str(), "w");
  if (!p)
    return false;
  std::fwrite(input.data(), 1, input.size(), p);
  return ::pclose(p) == 0;
}

namespace {

// TSO/GSO/GRO off: every skb the nft rule sees is one wire packet.
bool offloads_off(const std::string& ns, const char* dev) {
  int self_ns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self_ns < 0 || !enter_netns(ns))
    return false;
  bool ok = true;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  for (uint32_t cmd : {ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO}) {
    ethtool_value v{cmd, 0};
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
    ifr.ifr_data = reinterpret_cast<char*>(&v);
    ok &= ::ioctl(fd, SIOCETHTOOL, &ifr) == 0;
  }
  ::close(fd);
  ok &= ::setns(self_ns, CLONE_NEWNET) == 0;
  ::close(self_ns);
  return ok;
}

} // namespace

// Namespaces of earlier runs whose process is gone.
void netns_pair::clean_stale() {
  FILE* p = ::popen("ip netns list 2>/dev/null", "r");
  if (!p)
    return;
  char line[256];
  std::set<std::string> stale;
  while (std::fgets(line, sizeof(line), p)) {
    int pid = 0;
    char side = 0;
    if (std::sscanf(line, "crbench-%d-%c", &pid, &side) == 2
        && ::kill(pid, 0) != 0 && errno == ESRCH)
      stale.insert(std::string{line, std::strcspn(line, " \n")});
  }
  ::pclose(p);
  for (auto& ns : stale)
    run_cmd("ip netns del " + ns);
}

bool netns_pair::create() {
  clean_stale();
  auto id = "crbench-" + std::to_string(::getpid());
  a = id + "-a";
  b = id + "-b";
  up = true; // from here on, destroy() has something to do
  bool ok = run_cmd("ip netns add " + a) && run_cmd("ip netns add " + b)
            && run_cmd("ip -n " + a + " link add va type veth peer name vb netns " + b)
            && run_cmd("ip -n " + a + " addr add " + ip_a + "/24 dev va")
            && run_cmd("ip -n " + b + " addr add " + ip_b + "/24 dev vb")
            && run_cmd("ip -n " + a + " link set lo up")
            && run_cmd("ip -n " + b + " link set lo up")
            && run_cmd("ip -n " + a + " link set va up")
            && run_cmd("ip -n " + b + " link set vb up")
            && offloads_off(a, "va") && offloads_off(b, "vb");
  return ok && loss(0);
}

// `percent` of the packets each namespace receives are dropped.
bool netns_pair::loss(int percent) {
  for (auto& ns : {a, b}) {
    std::string rules = "table inet crbench\ndelete table inet crbench\n"
                        "table inet crbench {\n chain in {\n"
                        "  type filter hook input priority 0; policy accept;\n";
    if (percent > 0)
      rules += "  numgen random mod 100 < " + std::to_string(percent)
               + " counter drop\n";
    rules += " }\n}\n";
    if (!run_cmd("ip netns exec " + ns + " nft -f -", rules))
      return false;
  }
  return true;
}

void netns_pair::destroy() {
  if (!up)
    return;
  up = false;
  run_cmd("ip netns del " + a);
  run_cmd("ip netns del " + b);
}

netns_pair lab;

} // namespace rudp_bench
