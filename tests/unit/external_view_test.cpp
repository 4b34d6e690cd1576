#define CAF_SUITE external_view
#include <caf/test/unit_test.hpp>

#include "nat/external_view.hpp"

using namespace crust;

namespace {

size_t count(const external_endpoints& ev, const std::string& source) {
  size_t n = 0;
  for (auto& a : ev.addresses)
    n += a.source == source;
  return n;
}

external_endpoints stun_saw(const std::string& address) {
  external_endpoints ev;
  ev.nat_type = "port-restricted";
  ev.addresses.push_back(external_address{"udp", address, "stun"});
  return ev;
}

} // namespace

CAF_TEST(one peer alone is not believed) {
  std::map<std::string, std::string> echoes{{"198.18.0.102", "6.6.6.6:4000"}};
  CAF_CHECK_EQUAL(count(external_view({}, {}, echoes), "peer"), 0u);
}

CAF_TEST(an echo counts once stun agrees on the ip) {
  std::map<std::string, std::string> echoes{{"198.18.0.102", "198.18.0.11:4000"},
                                            {"198.18.0.103", "6.6.6.6:4000"}};
  auto ev = external_view(stun_saw("198.18.0.11:5000"), {}, echoes);
  CAF_REQUIRE_EQUAL(count(ev, "peer"), 1u);
  CAF_CHECK_EQUAL(ev.addresses.back().address, "198.18.0.11:4000");
  CAF_CHECK_EQUAL(ev.nat_type, "port-restricted");
}

CAF_TEST(an echo counts once two observers agree) {
  std::map<std::string, std::string> echoes{{"198.18.0.102", "198.18.0.11:4000"},
                                            {"198.18.0.103", "198.18.0.11:4001"}};
  CAF_CHECK_EQUAL(count(external_view({}, {}, echoes), "peer"), 2u);
}

CAF_TEST(a mapping adds its endpoints with its method) {
  port_mapping m{"natpmp", {"tcp://198.18.0.15:900", "udp://198.18.0.15:900"}, 60, ""};
  auto ev = external_view({}, m, {});
  CAF_REQUIRE_EQUAL(count(ev, "natpmp"), 2u);
  CAF_CHECK_EQUAL(ev.addresses[0].protocol, "tcp");
  CAF_CHECK_EQUAL(ev.addresses[0].address, "198.18.0.15:900");
  port_mapping failed{"", {}, 0, "UPnP: no device answered"};
  CAF_CHECK(external_view({}, failed, {}).addresses.empty());
}

CAF_TEST(the rudp sockets own mapping is a udp address of its own) {
  auto ev = external_view({}, {}, {}, std::string{"198.18.0.12:61002"});
  CAF_REQUIRE_EQUAL(count(ev, "stun-rudp"), 1u);
  CAF_CHECK_EQUAL(ev.addresses[0].protocol, "udp");
  CAF_CHECK_EQUAL(ev.addresses[0].address, "198.18.0.12:61002");
  CAF_CHECK(!same_view(ev, external_view({}, {}, {})));
}

CAF_TEST(echoes are ipv4 ip and port or nothing) {
  CAF_CHECK_EQUAL(valid_echo("198.18.0.11:4000"), "198.18.0.11:4000");
  for (auto bad : {"", "198.18.0.11", "198.18.0.11:", "198.18.0.11:0",
                   "198.18.0.11:65536", "198.18.0.11:123456", "host:80",
                   "[::1]:80", "198.18.0.11:80x", "1.2.3.4.5:80"})
    CAF_CHECK_EQUAL(valid_echo(bad), "");
}

CAF_TEST(the same view is no news) {
  auto a = stun_saw("198.18.0.11:5000");
  auto b = a;
  b.stun.push_back(stun_server_result{"x", "y", 3, ""}); // round trips differ
  CAF_CHECK(same_view(a, b));
  b.nat_type = "symmetric";
  CAF_CHECK(!same_view(a, b));
}
