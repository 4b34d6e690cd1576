#define CAF_SUITE punch_candidates
#include <caf/test/unit_test.hpp>

#include <algorithm>

#include "nat/punch/candidates.hpp"

using namespace crust;

namespace {

bool has(const std::vector<candidate>& cs, transport proto,
         const std::string& ip, uint16_t port, candidate_kind kind) {
  return std::any_of(cs.begin(), cs.end(), [&](const candidate& c) {
    return c.proto == proto && c.at.ip == ip && c.at.port == port
           && c.kind == kind;
  });
}

external_address outside(std::string proto, std::string addr,
                         std::string source) {
  return external_address{std::move(proto), std::move(addr),
                          std::move(source)};
}

} // namespace

CAF_TEST(host candidates cover every interface but loopback) {
  local_view v;
  v.interface_ips = {"127.0.0.1", "192.168.1.20", "198.18.0.7"};
  v.tcp_port = 5483;
  v.udp_port = 5484;
  auto cs = gather_candidates(v);
  CAF_CHECK_EQUAL(cs.size(), 4u);
  CAF_CHECK(has(cs, transport::tcp, "192.168.1.20", 5483,
                candidate_kind::host));
  CAF_CHECK(has(cs, transport::rudp, "192.168.1.20", 5484,
                candidate_kind::host));
  CAF_CHECK(has(cs, transport::tcp, "198.18.0.7", 5483, candidate_kind::host));
  CAF_CHECK(!has(cs, transport::tcp, "127.0.0.1", 5483, candidate_kind::host));
  // The LAN address first: two hosts behind one router meet over it.
  CAF_CHECK_EQUAL(cs.front().at.ip, "192.168.1.20");
  CAF_CHECK(cs.front().proto == transport::tcp);
}

CAF_TEST(a node on loopback offers loopback) {
  local_view v;
  v.interface_ips = {"127.0.0.1"};
  v.tcp_port = 40000;
  auto cs = gather_candidates(v);
  CAF_REQUIRE_EQUAL(cs.size(), 1u); // rudp off: no UDP candidate
  CAF_CHECK(has(cs, transport::tcp, "127.0.0.1", 40000, candidate_kind::host));
}

CAF_TEST(the outside word gives mapped reflexive and guessed candidates) {
  local_view v;
  v.interface_ips = {"10.0.0.2"};
  v.tcp_port = 5483;
  v.udp_port = 5483;
  v.outside.addresses = {
    outside("tcp", "198.18.0.1:40001", "upnp"),  // the gateway's own port
    outside("udp", "198.18.0.1:5483", "stun"),   // the NAT kept our port
    outside("tcp", "198.18.0.1:61000", "peer"),  // an outbound connection's
    outside("udp", "garbage", "stun"),           // ignored
    outside("tcp", "127.0.0.1:5483", "peer"),    // ignored
  };
  auto cs = gather_candidates(v);
  CAF_CHECK(has(cs, transport::tcp, "198.18.0.1", 40001,
                candidate_kind::mapped));
  CAF_CHECK(has(cs, transport::rudp, "198.18.0.1", 5483,
                candidate_kind::reflexive));
  // An outbound connection's port says nothing of the listen port's.
  CAF_CHECK(!has(cs, transport::tcp, "198.18.0.1", 61000,
                 candidate_kind::reflexive));
  CAF_CHECK(has(cs, transport::tcp, "198.18.0.1", 5483,
                candidate_kind::port_guess));
  // The UDP guess is the reflexive candidate already: listed once.
  CAF_CHECK(!has(cs, transport::rudp, "198.18.0.1", 5483,
                 candidate_kind::port_guess));
  CAF_CHECK_EQUAL(cs.size(), 5u);
  // Highest first: LAN host, mapped, reflexive, guess.
  CAF_CHECK(cs[0].kind == candidate_kind::host);
  CAF_CHECK(cs[2].kind == candidate_kind::mapped);
  CAF_CHECK(cs[3].kind == candidate_kind::reflexive);
  CAF_CHECK(cs[4].kind == candidate_kind::port_guess);
  CAF_CHECK(std::is_sorted(cs.begin(), cs.end(),
                           [](const candidate& a, const candidate& b) {
                             return a.priority > b.priority;
                           }));
}

CAF_TEST(a lone peer echo is only worth a port guess) {
  // Behind a NAT that blocks UDP, STUN says nothing and one peer's word
  // is all there is: not trusted as our address, but guessed from.
  local_view v;
  v.interface_ips = {"10.0.0.2"};
  v.tcp_port = 5483;
  v.udp_port = 5483;
  v.lone_echoes = {"198.18.0.12:34488", "127.0.0.1:5483", "junk"};
  auto cs = gather_candidates(v);
  CAF_CHECK(has(cs, transport::tcp, "198.18.0.12", 5483,
                candidate_kind::port_guess));
  CAF_CHECK(!has(cs, transport::tcp, "198.18.0.12", 34488,
                 candidate_kind::reflexive));
  // Not for UDP: a lone echo must not aim birthday mode's spray.
  CAF_CHECK(!has(cs, transport::rudp, "198.18.0.12", 5483,
                 candidate_kind::port_guess));
  CAF_CHECK_EQUAL(cs.size(), 3u); // the host's two and the TCP guess
}

CAF_TEST(stun asked from the rudp socket names a reflexive udp candidate) {
  // An endpoint-independent NAT that did not keep our port: the fresh
  // socket's STUN port says nothing, the rudp socket's own does.
  local_view v;
  v.interface_ips = {"10.0.0.2"};
  v.tcp_port = 5483;
  v.udp_port = 5483;
  v.outside.addresses = {{"udp", "198.18.0.12:40001", "stun"},
                         {"udp", "198.18.0.12:61002", "stun-rudp"}};
  auto cs = gather_candidates(v);
  CAF_CHECK(has(cs, transport::rudp, "198.18.0.12", 61002,
                candidate_kind::reflexive));
  CAF_CHECK(!has(cs, transport::rudp, "198.18.0.12", 40001,
                 candidate_kind::reflexive));
  CAF_CHECK(has(cs, transport::rudp, "198.18.0.12", 5483,
                candidate_kind::port_guess));
  // UDP not punched: no UDP candidate from it either.
  v.udp_port = 0;
  cs = gather_candidates(v);
  CAF_CHECK(!has(cs, transport::rudp, "198.18.0.12", 61002,
                 candidate_kind::reflexive));
}

CAF_TEST(candidates are bounded per transport) {
  local_view v;
  for (int i = 1; i <= 40; ++i)
    v.interface_ips.push_back("10.0.1." + std::to_string(i));
  v.tcp_port = 1;
  v.udp_port = 2;
  auto cs = gather_candidates(v);
  CAF_CHECK_EQUAL(cs.size(), 2 * max_candidates_per_transport);
}

CAF_TEST(private addresses are told from public ones) {
  for (auto ip : {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1",
                  "100.64.0.1", "169.254.1.1", "127.0.0.1", "fd00::1",
                  "fe80::1", "::1", "::ffff:192.168.0.1"})
    CAF_CHECK(is_private_ip(ip));
  for (auto ip : {"172.32.0.1", "198.18.0.1", "8.8.8.8", "2001:db8::1",
                  "100.128.0.1", "x", ""})
    CAF_CHECK(!is_private_ip(ip));
}

CAF_TEST(nat mapping words are read) {
  CAF_CHECK(parse_nat_mapping("endpoint-independent")
            == nat_mapping::endpoint_independent);
  CAF_CHECK(parse_nat_mapping("endpoint-dependent")
            == nat_mapping::endpoint_dependent);
  CAF_CHECK(parse_nat_mapping("none") == nat_mapping::none);
  CAF_CHECK(parse_nat_mapping("unknown") == nat_mapping::unknown);
  CAF_CHECK(parse_nat_mapping("whatever") == nat_mapping::unknown);
  CAF_CHECK_EQUAL(std::string{to_string(nat_mapping::endpoint_dependent)},
                  "endpoint-dependent");
}
