#include "apps/crust-node/netcheck.hpp"

#include <caf/all.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>

#include "transports/io/interfaces.hpp"
#include "crust/crust.hpp"

namespace crust::node {

namespace {

using json = nlohmann::json;

// Long enough for SSDP, NAT-PMP and two rounds of STUN retransmissions.
constexpr auto overall_limit = std::chrono::seconds(30);
// After the mapper and STUN have spoken: time for peers to echo.
constexpr auto linger = std::chrono::milliseconds(700);

struct findings {
  std::vector<std::string> local;
  uint16_t port = 0;
  std::optional<port_mapping> mapping;
  std::optional<external_endpoints> external;
  bool stun_done = false;
  std::vector<std::string> peers; // where each peer sees us
  std::string failure;
};

void print_json(const findings& f, const service_options& opts) {
  json j;
  j["local"] = f.local;
  j["port"] = f.port;
  if (f.mapping)
    j["port_mapping"] = {{"method", f.mapping->method},
                         {"external", f.mapping->external},
                         {"lease", f.mapping->lease},
                         {"error", f.mapping->error}};
  else
    j["port_mapping"] = nullptr;
  json stun = json::array(), external = json::array();
  std::string nat = opts.stun_servers.empty() ? "unknown" : "udp-blocked";
  std::string mapping = "unknown", filtering = "unknown";
  if (f.external) {
    for (auto& s : f.external->stun)
      stun.push_back({{"server", s.server},
                      {"mapped", s.mapped},
                      {"rtt_ms", s.rtt_ms},
                      {"error", s.error}});
    for (auto& a : f.external->addresses)
      external.push_back({{"protocol", a.protocol},
                          {"address", a.address},
                          {"source", a.source}});
    j["stun_ignored"] = f.external->stun_ignored;
    nat = f.external->nat_type;
    mapping = f.external->mapping;
    filtering = f.external->filtering;
  }
  j["stun"] = stun;
  j["external"] = external;
  j["nat_type"] = nat;
  j["mapping"] = mapping;
  j["filtering"] = filtering;
  j["error"] = f.failure;
  auto text = j.dump();
  std::printf("%s\n", text.c_str());
}

void print_words(const findings& f, const service_options& opts) {
  std::printf("crust netcheck\n");
  std::printf("  local addresses: %s (port %u)\n", join(f.local).c_str(),
              f.port);
  if (!opts.upnp)
    std::printf("  port mapping:    off (crust.upnp=false)\n");
  else if (!f.mapping)
    std::printf("  port mapping:    no answer\n");
  else if (f.mapping->method.empty())
    std::printf("  port mapping:    none: %s\n", f.mapping->error.c_str());
  else
    std::printf("  port mapping:    %s mapped %s, lease %u s (removed at "
                "exit)\n",
                f.mapping->method == "upnp" ? "UPnP" : "NAT-PMP",
                join(f.mapping->external).c_str(), f.mapping->lease);
  if (opts.stun_servers.empty())
    std::printf("  STUN:            no servers (set crust.stun-servers)\n");
  if (f.external)
    for (auto& s : f.external->stun)
      if (s.mapped.empty())
        std::printf("  STUN:            %s: %s\n", s.server.c_str(),
                    s.error.c_str());
      else
        std::printf("  STUN:            %s sees us at %s (%u ms)\n",
                    s.server.c_str(), s.mapped.c_str(), s.rtt_ms);
  if (f.external) {
    std::printf("  NAT type:        %s (mapping %s, filtering %s)\n",
                f.external->nat_type.c_str(), f.external->mapping.c_str(),
                f.external->filtering.c_str());
    std::printf("  external:        %s\n",
                f.external->addresses.empty()
                  ? "unknown"
                  : join(describe(f.external->addresses)).c_str());
  }
  for (auto& p : f.peers)
    std::printf("  peer:            %s\n", p.c_str());
  if (!f.failure.empty())
    std::printf("  error:           %s\n", f.failure.c_str());
}

} // namespace

std::string join(const std::vector<std::string>& xs, const std::string& sep) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : sep) + x;
  return out;
}

std::vector<std::string> describe(const std::vector<external_address>& xs) {
  std::vector<std::string> out;
  for (auto& a : xs)
    out.push_back(a.protocol + " " + a.address + " (" + a.source + ")");
  return out;
}

int netcheck(caf::actor_system& sys, service_options opts, bool as_json) {
  opts.bootstrap_cache_file.clear(); // a look around, not a node's life
  opts.beacon = false;
  findings f;
  caf::scoped_actor self{sys};
  auto svc = spawn_service(sys, opts, caf::actor_cast<caf::actor>(self));
  if (!svc) {
    f.failure = sys.render(svc.error());
    as_json ? print_json(f, opts) : print_words(f, opts);
    return 1;
  }
  self->monitor(*svc);
  bool loopback = is_loopback(opts.listen_address);
  bool want_mapping = opts.upnp && !loopback;
  bool want_stun = !opts.stun_servers.empty() && !loopback;
  auto start = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> settled;
  bool running = true;
  while (running) {
    auto now = std::chrono::steady_clock::now();
    if (!settled && (!want_mapping || f.mapping) && (!want_stun || f.stun_done))
      settled = now;
    auto until = settled ? *settled + linger : start + overall_limit;
    if (now >= until)
      break;
    self->receive(
      [&](const listening& ev) {
        for (auto& ep : ev.endpoints) {
          f.local.push_back(ep.host);
          f.port = ep.port;
        }
      },
      [&](const port_mapping& ev) { f.mapping = ev; },
      [&](const external_endpoints& ev) {
        f.external = ev;
        if (!ev.stun.empty())
          f.stun_done = true;
        f.peers.clear();
        for (auto& a : ev.addresses)
          if (a.source == "peer")
            f.peers.push_back("a peer sees us at " + a.address);
      },
      [&](const new_peer& ev) { self->send(*svc, keep{ev.peer}); },
      [&](const service_failed& ev) {
        f.failure = ev.reason;
        running = false;
      },
      [&](const caf::down_msg&) { running = false; },
      // Other events (messages, warnings...) are not netcheck's business.
      [&](const message&) {}, [&](const warning&) {},
      [&](const peer_lost&) {}, [&](const bootstrap_finished&) {},
      [&](const bootstrap_failed&) {}, [&](const connection_failed&) {},
      caf::after(until - now) >> [] {});
  }
  if (want_stun && !f.stun_done && f.failure.empty())
    f.failure = "no STUN report within "
                + std::to_string(overall_limit.count()) + " s";
  // Shut down first: the mapping is removed before we say it was.
  self->send(*svc, shutdown{});
  self->receive([](const caf::down_msg&) {},
                caf::after(std::chrono::seconds(10)) >> [] {});
  as_json ? print_json(f, opts) : print_words(f, opts);
  std::fflush(stdout);
  return f.failure.empty() ? 0 : 1;
}

} // namespace crust::node
