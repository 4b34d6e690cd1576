#define CAF_SUITE nat_probe
#include <caf/test/unit_test.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <map>

#include "nat/nat_probe.hpp"
#include "tests/unit/stun_server.hpp"

using namespace crust;
using namespace crust::stun;
using namespace std::chrono_literals;

namespace {

using clock_type = nat_probe::clock;

uint8_t change_flags(const std::vector<uint8_t>& request) {
  // CHANGE-REQUEST, when present, is the first attribute.
  if (request.size() > 28 && request[20] == 0x00 && request[21] == 0x03)
    return request[27];
  return 0;
}

// A little internet: servers at .100:3478 (other .101:3479), a NAT that
// maps per destination or not, and filters by address, port, or not.
struct world {
  bool symmetric = false;
  std::string filtering = "port"; // "none", "address", "port"
  bool rfc5780 = true;
  bool blocked = false;
  bool honours_change = true;
  int next_port = 40000;
  std::map<std::string, uint16_t> mappings; // destination -> external port
  std::vector<std::string> contacted;       // destinations we sent to

  void run(nat_probe& p) {
    auto now = clock_type::time_point{} + 1s;
    for (int step = 0; step < 200 && !p.done(); ++step) {
      clock_type::time_point deadline;
      for (auto& d : p.poll(now, deadline))
        deliver(p, d, now + 10ms);
      now = deadline;
    }
  }

  void deliver(nat_probe& p, const nat_probe::datagram& d,
               clock_type::time_point at) {
    if (blocked)
      return;
    auto dest = to_string(d.to);
    contacted.push_back(dest);
    auto key = symmetric ? dest : std::string{"any"};
    if (!mappings.count(key))
      mappings[key] = static_cast<uint16_t>(next_port++);
    ip_endpoint mapped{"198.18.0.11", mappings[key]};
    std::optional<ip_endpoint> other;
    if (rfc5780)
      other = ip_endpoint{d.to.ip == "198.18.0.100" ? "198.18.0.101"
                                                        : "198.18.0.100",
                             uint16_t(d.to.port == 3478 ? 3479 : 3478)};
    auto change = change_flags(d.bytes);
    if (change && !rfc5780)
      return; // such a server answers 420; silence is the same to us
    bool from_other_ip = honours_change && (change & change_ip);
    bool from_other_port = honours_change && (change & change_port);
    auto from = d.to;
    if (from_other_ip)
      from.ip = other->ip;
    if (from_other_port)
      from.port = other->port;
    // The NAT lets in what comes from where we sent before (conntrack).
    auto sent_to = [&](const std::string& prefix) {
      return std::any_of(contacted.begin(), contacted.end(),
                         [&](const std::string& c) {
                           return c.rfind(prefix, 0) == 0;
                         });
    };
    if ((filtering == "port" && !sent_to(to_string(from)))
        || (filtering == "address" && !sent_to(from.ip + ":")))
      return;
    auto bytes = test::stun_answer(d.bytes, mapped, other);
    p.on_datagram(bytes.data(), bytes.size(), from, at);
  }
};

std::string verdict(world w, std::vector<ip_endpoint> servers
                               = {{"198.18.0.100", 3478}}) {
  nat_probe p{std::move(servers), 100ms, 3};
  w.run(p);
  CAF_CHECK(p.done());
  return p.report({{"10.1.0.2", 5000}}).nat_type;
}

} // namespace

CAF_TEST(every nat kind is told apart) {
  world w;
  CAF_CHECK_EQUAL(verdict(w), "port-restricted");
  w.filtering = "address";
  CAF_CHECK_EQUAL(verdict(w), "restricted-cone");
  w.filtering = "none";
  CAF_CHECK_EQUAL(verdict(w), "full-cone");
  w.filtering = "port";
  w.symmetric = true;
  CAF_CHECK_EQUAL(verdict(w), "symmetric");
  w.blocked = true;
  CAF_CHECK_EQUAL(verdict(w), "udp-blocked");
  CAF_CHECK_EQUAL(verdict(world{}, {}), "unknown");
}

CAF_TEST(a server that ignores change requests tells nothing of filtering) {
  world w;
  w.honours_change = false; // answers from where it was asked, passing any NAT
  CAF_CHECK_EQUAL(verdict(w), "cone");
}

CAF_TEST(two servers without rfc 5780 are two observers) {
  world w;
  w.rfc5780 = false;
  w.symmetric = true;
  std::vector<ip_endpoint> two{{"198.18.0.100", 3478}, {"198.18.0.102", 3478}};
  CAF_CHECK_EQUAL(verdict(w, two), "symmetric");
  w.symmetric = false;
  CAF_CHECK_EQUAL(verdict(w, two), "cone");
  CAF_CHECK_EQUAL(verdict(w), "unknown"); // one observer, nothing to compare
}

CAF_TEST(the rfc 5780 tests go to the server and its other address) {
  world w;
  nat_probe p{{{"198.18.0.100", 3478}}, 100ms, 3};
  w.run(p);
  auto rep = p.report({});
  CAF_REQUIRE(rep.external);
  CAF_CHECK_EQUAL(rep.external->ip, "198.18.0.11");
  CAF_CHECK_EQUAL(rep.mapping, "endpoint-independent");
  CAF_CHECK_EQUAL(rep.filtering, "address-and-port-dependent");
  CAF_CHECK(std::count(w.contacted.begin(), w.contacted.end(),
                       "198.18.0.101:3479")
            >= 1);
  CAF_REQUIRE_EQUAL(rep.servers.size(), 1u);
  CAF_CHECK_EQUAL(rep.servers[0].rtt, 10ms);
}

CAF_TEST(a mapped address that is our own means no nat) {
  nat_probe p{{{"198.18.0.100", 3478}}, 100ms, 3};
  auto now = clock_type::time_point{} + 1s;
  clock_type::time_point deadline;
  auto out = p.poll(now, deadline);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  auto a = test::stun_answer(out[0].bytes, {"198.18.0.50", 5000}, std::nullopt);
  p.on_datagram(a.data(), a.size(), out[0].to, now);
  CAF_CHECK(p.done());
  CAF_CHECK_EQUAL(p.report({{"198.18.0.50", 5000}}).nat_type, "open");
}

CAF_TEST(garbage and strangers are ignored and counted) {
  nat_probe p{{{"198.18.0.100", 3478}}, 100ms, 3};
  auto now = clock_type::time_point{} + 1s;
  clock_type::time_point deadline;
  auto out = p.poll(now, deadline);
  std::vector<uint8_t> junk(40, 0x41);
  auto server = out[0].to;
  p.on_datagram(junk.data(), junk.size(), server, now);
  auto a = test::stun_answer(out[0].bytes, {"198.18.0.11", 4000}, std::nullopt);
  auto forged = a;
  forged[19] ^= 1; // another transaction
  p.on_datagram(forged.data(), forged.size(), server, now);
  auto truncated = a;
  truncated.resize(a.size() - 2); // matching id, but malformed
  p.on_datagram(truncated.data(), truncated.size(), server, now);
  CAF_CHECK(!p.done());
  p.on_datagram(a.data(), a.size(), server, now);
  CAF_CHECK(p.done());
  auto rep = p.report({});
  CAF_CHECK_EQUAL(rep.ignored, 3u);
  CAF_REQUIRE(rep.external);
  CAF_CHECK_EQUAL(rep.external->port, 4000);
}

CAF_TEST(a change request carries the flags) {
  auto id = new_transaction_id();
  auto req = binding_request(id, change_ip | change_port);
  CAF_REQUIRE_EQUAL(req.size(), 36u);
  CAF_CHECK_EQUAL(req[3], 16);
  CAF_CHECK_EQUAL(change_flags(req), 0x06);
}
