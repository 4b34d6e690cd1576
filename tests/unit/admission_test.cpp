#define CAF_SUITE admission
#include <caf/test/unit_test.hpp>

#include "node/admission.hpp"

using namespace crust;
using verdict = admission::verdict;

CAF_TEST(half open handshakes are capped per address and in total) {
  admission a{{100, 2, 3}};
  CAF_CHECK(a.admit("1.1.1.1") == verdict::admit);
  CAF_CHECK(a.admit("1.1.1.1") == verdict::admit);
  CAF_CHECK(a.admit("1.1.1.1") == verdict::too_many_half_open_ip);
  CAF_CHECK(a.admit("2.2.2.2") == verdict::admit);
  CAF_CHECK(a.admit("3.3.3.3") == verdict::too_many_half_open_total);
  a.established("1.1.1.1"); // one handshake finished: room again
  CAF_CHECK(a.admit("3.3.3.3") == verdict::admit);
  CAF_CHECK_EQUAL(a.half_open(), 3u);
}

CAF_TEST(connections are capped per address and closing frees them) {
  admission a{{2, 10, 10}};
  CAF_CHECK(a.admit("1.1.1.1") == verdict::admit);
  a.established("1.1.1.1");
  CAF_CHECK(a.admit("1.1.1.1") == verdict::admit);
  CAF_CHECK(a.admit("1.1.1.1") == verdict::too_many_connections);
  a.closed("1.1.1.1", true); // the established one goes
  CAF_CHECK(a.admit("1.1.1.1") == verdict::admit);
  CAF_CHECK(a.admit("1.1.1.1") == verdict::too_many_connections);
  a.closed("1.1.1.1", false); // a half-open one goes
  CAF_CHECK(a.admit("1.1.1.1") == verdict::admit);
}

CAF_TEST(the blacklist takes peers addresses and ranges and refuses them) {
  admission a{{}};
  auto peer = peer_id::random();
  auto added = a.blacklist({peer.to_hex(), "192.0.2.7", "10.0.0.0/8"});
  CAF_REQUIRE(added);
  CAF_CHECK_EQUAL(*added, 3u);
  CAF_CHECK(a.blocked(peer));
  CAF_CHECK(!a.blocked(peer_id::random()));
  CAF_CHECK(a.admit("192.0.2.7") == verdict::blacklisted);
  CAF_CHECK(a.admit("10.200.1.1") == verdict::blacklisted);
  CAF_CHECK(a.admit("192.0.2.8") == verdict::admit);
  auto removed = a.unblacklist({"10.0.0.0/8", peer.to_hex()});
  CAF_REQUIRE(removed);
  CAF_CHECK_EQUAL(*removed, 2u);
  CAF_CHECK(a.admit("10.200.1.1") == verdict::admit);
  CAF_CHECK(!a.blocked(peer));
}

CAF_TEST(a bad entry is refused by name and nothing is added) {
  admission a{{}};
  auto added = a.blacklist({"10.0.0.1", "not-an-address"});
  CAF_REQUIRE(!added);
  CAF_CHECK(added.error().context().get_as<std::string>(0).find(
              "not-an-address")
            != std::string::npos);
  CAF_CHECK(!a.blocked("10.0.0.1"));
}

CAF_TEST(allow list of ranges refuses other addresses before the handshake) {
  admission a{{}};
  CAF_CHECK(!a.allow_mode());
  CAF_REQUIRE(!a.allow_only({"192.0.2.0/24"}));
  CAF_CHECK(a.allow_mode());
  CAF_CHECK(a.admit("192.0.2.9") == verdict::admit);
  CAF_CHECK(a.admit("198.51.100.1") == verdict::not_allowed);
  CAF_CHECK(a.allowed("192.0.2.9", peer_id::random()));
  CAF_CHECK(!a.allowed("198.51.100.1", peer_id::random()));
}

CAF_TEST(allow list of peer ids admits any address and judges the id) {
  admission a{{}};
  auto friend_id = peer_id::random();
  CAF_REQUIRE(!a.allow_only({friend_id.to_hex()}));
  CAF_CHECK(a.admit("198.51.100.1") == verdict::admit); // could be the friend
  CAF_CHECK(a.allowed("198.51.100.1", friend_id));
  CAF_CHECK(!a.allowed("198.51.100.1", peer_id::random()));
}

CAF_TEST(an empty allow list ends the mode and a bad one changes nothing) {
  admission a{{}};
  CAF_REQUIRE(!a.allow_only({"192.0.2.0/24"}));
  CAF_CHECK(a.allow_only({"192.0.2.0/24", "bogus"}));
  CAF_CHECK(a.admit("198.51.100.1") == verdict::not_allowed); // unchanged
  CAF_REQUIRE(!a.allow_only({}));
  CAF_CHECK(!a.allow_mode());
  CAF_CHECK(a.admit("198.51.100.1") == verdict::admit);
}

CAF_TEST(connections are capped in total across addresses) {
  admission a{{100, 100, 100, 3}};
  for (auto ip : {"1.1.1.1", "2.2.2.2", "3.3.3.3"}) {
    CAF_REQUIRE(a.admit(ip) == verdict::admit);
    a.established(ip);
  }
  CAF_CHECK(a.admit("4.4.4.4") == verdict::too_many_connections_total);
  a.closed("2.2.2.2", true);
  CAF_CHECK(a.admit("4.4.4.4") == verdict::admit);
}

CAF_TEST(refused addresses leave no trace) {
  admission a{{100, 1, 1}};
  CAF_REQUIRE(a.admit("1.1.1.1") == verdict::admit);
  // Distinct refused addresses must not grow the table.
  for (int i = 0; i < 1000; ++i)
    CAF_CHECK(a.admit("10.0." + std::to_string(i / 250) + "."
                      + std::to_string(i % 250))
              == verdict::too_many_half_open_total);
  CAF_CHECK_EQUAL(a.addresses(), 1u);
  a.closed("1.1.1.1", false);
  CAF_CHECK_EQUAL(a.addresses(), 0u);
}
