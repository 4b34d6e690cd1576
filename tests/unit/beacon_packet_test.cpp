#define CAF_SUITE beacon_packet
#include <caf/test/unit_test.hpp>

#include <sodium.h>

#include "discovery/beacon_packet.hpp"

using namespace crust;

namespace {

constexpr uint64_t now = 1800000000;

std::vector<endpoint> eps(size_t n) {
  std::vector<endpoint> result;
  for (size_t i = 0; i < n; ++i)
    result.push_back(endpoint{transport::tcp, "10.0.0." + std::to_string(i + 1),
                              5483, caf::none});
  return result;
}

std::string why(const caf::expected<beacon_packet>& r) {
  return r ? "" : r.error().context().get_as<std::string>(0);
}

} // namespace

CAF_TEST(an announcement reads back as its sender wrote it) {
  CAF_REQUIRE(sodium_init() >= 0);
  auto me = identity::ephemeral();
  auto bytes = encode_beacon(me, "net", beacon_packet::kind::announce, now,
                             eps(2));
  auto p = decode_beacon(bytes.data(), bytes.size(), "net", now + 3);
  CAF_REQUIRE(p);
  CAF_CHECK(p->peer == me.id());
  CAF_CHECK(p->what == beacon_packet::kind::announce);
  CAF_CHECK_EQUAL(p->time, now);
  CAF_CHECK(p->endpoints == eps(2));
}

CAF_TEST(foreign stale forged and malformed packets are refused by reason) {
  auto me = identity::ephemeral();
  auto bytes = encode_beacon(me, "net", beacon_packet::kind::announce, now,
                             eps(1));
  CAF_CHECK_EQUAL(why(decode_beacon(bytes.data(), bytes.size(), "other", now)),
                  "beacon: another network");
  CAF_CHECK_EQUAL(why(decode_beacon(bytes.data(), bytes.size(), "net",
                                    now + 61)),
                  "beacon: stale");
  auto forged = bytes;
  forged[30] ^= 1; // inside the claimed peer id
  CAF_CHECK_EQUAL(why(decode_beacon(forged.data(), forged.size(), "net", now)),
                  "beacon: bad signature");
  auto other = bytes;
  other[0] = 'x';
  CAF_CHECK(!decode_beacon(other.data(), other.size(), "net", now));
  CAF_CHECK_EQUAL(why(decode_beacon(bytes.data(), 20, "net", now)),
                  "beacon: short");
  std::vector<uint8_t> big(600, 0);
  CAF_CHECK_EQUAL(why(decode_beacon(big.data(), big.size(), "net", now)),
                  "beacon: oversize");
}

CAF_TEST(a packet holds at most four endpoints and stays small) {
  auto me = identity::ephemeral();
  auto bytes = encode_beacon(me, "net", beacon_packet::kind::answer, now,
                             eps(10));
  CAF_CHECK_LESS_OR_EQUAL(bytes.size(), beacon_max_size);
  auto p = decode_beacon(bytes.data(), bytes.size(), "net", now);
  CAF_REQUIRE(p);
  CAF_CHECK_EQUAL(p->endpoints.size(), beacon_max_endpoints);
  CAF_CHECK(p->what == beacon_packet::kind::answer);
}

CAF_TEST(the replay guard takes only newer packets and stays bounded) {
  beacon_replay_guard g{3};
  auto a = peer_id::random();
  bool first = false;
  CAF_CHECK(g.accept(a, 10, first));
  CAF_CHECK(first);
  CAF_CHECK(!g.accept(a, 10, first)); // the same packet again
  CAF_CHECK(!g.accept(a, 9, first));
  CAF_CHECK(g.accept(a, 11, first));
  CAF_CHECK(!first);
  for (int i = 0; i < 10; ++i)
    g.accept(peer_id::random(), 1, first);
  CAF_CHECK_LESS_OR_EQUAL(g.size(), 3u);
}

CAF_TEST(beacon targets are IPv4 addresses with a port) {
  auto t = parse_udp_target("127.0.0.1:5484");
  CAF_REQUIRE(t);
  CAF_CHECK_EQUAL(t->ip, "127.0.0.1");
  CAF_CHECK_EQUAL(t->port, 5484u);
  for (auto bad : {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "host:1",
                   "::1:5", "1.2.3.4:5x"})
    CAF_CHECK(!parse_udp_target(bad));
}
