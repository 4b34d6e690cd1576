#define CAF_SUITE peer_cache
#include <caf/test/unit_test.hpp>

#include "discovery/peer_cache.hpp"

using namespace crust;

namespace {

endpoint ep(uint16_t port) {
  return endpoint{transport::tcp, "192.0.2.1", port, caf::none};
}

std::vector<peer_id> order(const peer_cache& c) {
  std::vector<peer_id> result;
  for (auto& e : c.ranked())
    result.push_back(e.peer);
  return result;
}

} // namespace

CAF_TEST(the most recent success ranks first) {
  peer_cache c{10};
  auto a = peer_id::random(), b = peer_id::random(), d = peer_id::random();
  c.succeeded(a, ep(1), 100);
  c.succeeded(b, ep(2), 300);
  c.succeeded(d, ep(3), 200);
  CAF_CHECK(order(c) == (std::vector<peer_id>{b, d, a}));
  c.succeeded(a, ep(1), 400);
  CAF_CHECK(order(c).front() == a);
}

CAF_TEST(failures rank an entry down and eight forget it) {
  peer_cache c{10};
  auto a = peer_id::random(), b = peer_id::random();
  c.succeeded(a, ep(1), 10 * 86400);
  c.succeeded(b, ep(2), 9 * 86400);
  c.failed(a);
  c.failed(a); // two failures: as if two days older than it is
  CAF_CHECK(order(c) == (std::vector<peer_id>{b, a}));
  c.succeeded(a, ep(1), 10 * 86400); // a success clears the count
  CAF_CHECK(order(c).front() == a);
  for (int i = 0; i < 8; ++i)
    c.failed(b);
  CAF_CHECK_EQUAL(c.size(), 1u);
}

CAF_TEST(the cache is bounded and evicts the worst) {
  peer_cache c{3};
  std::vector<peer_id> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(peer_id::random());
    c.succeeded(ids.back(), ep(static_cast<uint16_t>(i + 1)), 100 + i);
  }
  CAF_CHECK_EQUAL(c.size(), 3u);
  CAF_CHECK(order(c) == (std::vector<peer_id>{ids[4], ids[3], ids[2]}));
}

CAF_TEST(endpoints are kept per peer most recent first without pins) {
  peer_cache c{3};
  auto a = peer_id::random();
  auto pinned = ep(1);
  pinned.pinned = a;
  c.succeeded(a, pinned, 1);
  c.succeeded(a, ep(2), 2);
  c.succeeded(a, ep(1), 3);
  auto e = c.ranked().front();
  CAF_REQUIRE_EQUAL(e.endpoints.size(), 2u);
  CAF_CHECK_EQUAL(e.endpoints[0].port, 1u);
  CAF_CHECK(!e.endpoints[0].pinned);
  for (uint16_t p = 10; p < 30; ++p)
    c.succeeded(a, ep(p), 4);
  CAF_CHECK_EQUAL(c.ranked().front().endpoints.size(), peer_cache::max_endpoints);
}

CAF_TEST(the json form reads back the same and is bound to its network) {
  peer_cache c{10};
  auto a = peer_id::random(), b = peer_id::random();
  c.succeeded(a, ep(1), 100);
  c.succeeded(b, ep(2), 200);
  c.failed(a);
  auto text = c.to_json("net-a");
  auto back = peer_cache::from_json(text, "net-a", 10);
  CAF_REQUIRE(back);
  CAF_CHECK(order(*back) == order(c));
  auto ranked = back->ranked(); // the macro binds a reference: keep it alive
  CAF_CHECK_EQUAL(ranked.back().failures, 1u);
  CAF_CHECK(!peer_cache::from_json(text, "net-b", 10));
  auto small = peer_cache::from_json(text, "net-a", 1);
  CAF_REQUIRE(small);
  CAF_CHECK(order(*small) == std::vector<peer_id>{b});
}

CAF_TEST(unusable text is refused with a reason) {
  auto why = [](const std::string& text) {
    auto r = peer_cache::from_json(text, "n", 10);
    CAF_REQUIRE(!r);
    return r.error().context().get_as<std::string>(0);
  };
  auto id = peer_id::random().to_hex();
  auto doc = [&](const std::string& peers) {
    return R"({"format":"crust-bootstrap-cache","version":1,"network":"n","peers":)"
           + peers + "}";
  };
  CAF_CHECK_EQUAL(why("{"), "not JSON");
  CAF_CHECK_EQUAL(why("[1,2]"), "not a crust bootstrap cache");
  CAF_CHECK_EQUAL(why(R"({"format":7})"), "not a crust bootstrap cache");
  CAF_CHECK(why(R"({"format":"crust-bootstrap-cache","version":"x"})")
              .find("version") != std::string::npos);
  CAF_CHECK(why(doc(R"([{"id":"zz"}])")).find("no peer id") != std::string::npos);
  CAF_CHECK(why(doc(R"([{"id":")" + id + R"(","endpoints":["tcp://nope"],)"
                    R"("last_success":1,"failures":0}])"))
              .find("bad endpoint") != std::string::npos);
  CAF_CHECK(why(doc(R"([{"id":")" + id + R"(","endpoints":[],)"
                    R"("last_success":1,"failures":0}])"))
              .find("mistyped") != std::string::npos);
  auto entry = R"({"id":")" + id + R"(","endpoints":["tcp://192.0.2.1:1"],)"
               R"("last_success":1,"failures":0})";
  CAF_CHECK(why(doc("[" + entry + "," + entry + "]")).find("twice")
            != std::string::npos);
  CAF_CHECK(peer_cache::from_json(doc("[" + entry + "]"), "n", 10));
}

CAF_TEST(a peer whose ports moved is dialled where it listens now) {
  peer_cache c{3};
  auto a = peer_id::random();
  auto b = peer_id::random();
  c.succeeded(a, ep(4000), 10);
  c.succeeded(b, ep(5000), 20);
  // It says where it listens now: on the host we reached it at (first,
  // whatever its order) and on its LAN.
  auto lan = endpoint{transport::tcp, "10.0.0.7", 4100, caf::none};
  auto moved = ep(4100);
  moved.pinned = a; // a pin in the word is not kept
  auto udp = endpoint{transport::rudp, "192.0.2.1", 4101, caf::none};
  c.moved(a, {lan, moved, udp, moved});
  auto ranked = c.ranked();
  CAF_REQUIRE_EQUAL(ranked.size(), 2u);
  CAF_CHECK_EQUAL(ranked[1].peer, a); // its rank stays
  CAF_CHECK_EQUAL(ranked[1].last_success, 10);
  auto& eps = ranked[1].endpoints;
  CAF_REQUIRE_EQUAL(eps.size(), 3u); // the old port is gone, no twice
  CAF_CHECK_EQUAL(eps[0], ep(4100));
  CAF_CHECK(!eps[0].pinned);
  CAF_CHECK_EQUAL(eps[1], udp);
  CAF_CHECK_EQUAL(eps[2], lan);
  // Bounded like every entry.
  std::vector<endpoint> many;
  for (uint16_t p = 1; p <= 20; ++p)
    many.push_back(ep(p));
  c.moved(a, many);
  ranked = c.ranked();
  CAF_CHECK_EQUAL(ranked[1].endpoints.size(), peer_cache::max_endpoints);
  // A peer we never reached is not added on its own word, and an empty
  // word changes nothing.
  c.moved(peer_id::random(), {ep(1)});
  CAF_CHECK_EQUAL(c.size(), 2u);
  c.moved(b, {});
  ranked = c.ranked();
  CAF_REQUIRE_EQUAL(ranked[0].endpoints.size(), 1u);
  CAF_CHECK_EQUAL(ranked[0].endpoints.front(), ep(5000));
}
