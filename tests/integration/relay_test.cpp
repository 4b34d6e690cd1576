// Relayed connections over real sockets on 127.0.0.1: M relays
// (crust.relay=true) and keeps A and B; A asks to connect to B, the hole
// punch cannot work (both ends punch nothing), and A falls back to a
// circuit through M. Both see new_peer with origin relayed and transport
// relay, and messages cross both ways, large ones too, intact and in
// order. A relay that does not relay says so. Every wait is bounded.
#define CAF_SUITE relay
#include <caf/test/unit_test.hpp>

#include "tests/integration/node.hpp"

CAF_TEST_FIXTURE_SCOPE(relay_tests, fixture)

CAF_TEST(a failed punch falls back to a relay that carries both ways) {
  node m{sys, [](crust::service_options& o) {
           o.beacon = false;
           o.peer_exchange = false;
           o.relay = true;
           o.relay_circuit_bytes_per_sec = 64 * 1024 * 1024;
           o.relay_total_bytes_per_sec = 64 * 1024 * 1024;
         }};
  node a{sys, no_punch}, b{sys, no_punch};
  join(a, m);
  join(b, m);
  a.handler->send(a.svc, crust::connect_peer{b.id(), caf::none});
  CAF_REQUIRE(a.wait_until([&] { return has_peer(a, b.id()); }, 20s));
  CAF_REQUIRE(b.wait_until([&] { return has_peer(b, a.id()); }));
  auto at_a = find_peer(a, b.id());
  auto at_b = find_peer(b, a.id());
  CAF_CHECK(at_a->info.from == crust::origin::relayed);
  CAF_CHECK(at_b->info.from == crust::origin::relayed);
  CAF_CHECK(at_a->info.proto == crust::transport::relay);
  CAF_CHECK(at_b->info.proto == crust::transport::relay);
  CAF_CHECK(!at_a->info.inbound);
  CAF_CHECK(at_b->info.inbound);
  a.keep(b.id());
  b.keep(a.id());
  CAF_CHECK(!a.send(b.id(), text("through the relay")));
  CAF_REQUIRE(b.wait_until([&] { return !b.msgs.empty(); }));
  CAF_CHECK(b.msgs[0].bytes == text("through the relay"));
  CAF_CHECK(!b.send(a.id(), text("and back")));
  CAF_REQUIRE(a.wait_until([&] { return !a.msgs.empty(); }));
  CAF_CHECK(a.msgs[0].bytes == text("and back"));
  // Many windows' worth, in order: the credit moves it along.
  std::vector<uint8_t> big(3 * 1024 * 1024);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<uint8_t>(i * 7);
  for (int k = 0; k < 3; ++k) {
    auto part = big;
    part[0] = static_cast<uint8_t>(k);
    CAF_CHECK(!a.send(b.id(), std::move(part)));
  }
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() == 4; }, 60s));
  for (int k = 0; k < 3; ++k) {
    CAF_REQUIRE_EQUAL(b.msgs[1 + k].bytes.size(), big.size());
    CAF_CHECK_EQUAL(b.msgs[1 + k].bytes[0], k);
    CAF_CHECK(std::equal(big.begin() + 1, big.end(),
                         b.msgs[1 + k].bytes.begin() + 1));
  }
  CAF_CHECK(a.failed.empty());
}

CAF_TEST(the circuit bandwidth cap holds at the receiver) {
  // 64 KiB/s through the circuit, the bucket full at the start (one
  // second's worth): 256 KiB cannot all arrive before 3 s have passed.
  // (A bound on how fast, never on how slow: a slow machine passes.)
  node m{sys, [](crust::service_options& o) {
           o.beacon = false;
           o.peer_exchange = false;
           o.relay = true;
           o.relay_circuit_bytes_per_sec = 64 * 1024;
         }};
  node a{sys, no_punch}, b{sys, no_punch};
  join(a, m);
  join(b, m);
  a.handler->send(a.svc, crust::connect_peer{b.id(), caf::none});
  CAF_REQUIRE(a.wait_until([&] { return has_peer(a, b.id()); }, 20s));
  CAF_REQUIRE(b.wait_until([&] { return has_peer(b, a.id()); }));
  a.keep(b.id());
  b.keep(a.id());
  auto start = std::chrono::steady_clock::now();
  CAF_CHECK(!a.send(b.id(), std::vector<uint8_t>(256 * 1024, 0x33)));
  CAF_REQUIRE(b.wait_until([&] { return !b.msgs.empty(); }, 30s));
  auto took = std::chrono::steady_clock::now() - start;
  CAF_CHECK_EQUAL(b.msgs[0].bytes.size(), 256u * 1024u);
  CAF_CHECK_GREATER_OR_EQUAL(
    std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 2900);
}

CAF_TEST(without a relay the failure names both reasons) {
  node m{sys, [](crust::service_options& o) {
           o.beacon = false;
           o.peer_exchange = false; // relay stays off (the default)
         }};
  node a{sys, no_punch}, b{sys, no_punch};
  join(a, m);
  join(b, m);
  a.handler->send(a.svc, crust::connect_peer{b.id(), caf::none});
  CAF_REQUIRE(a.wait_until([&] { return !a.failed.empty(); }, 20s));
  CAF_CHECK_EQUAL(a.failed[0].target, "peer:" + b.id().to_hex());
  CAF_CHECK_NOT_EQUAL(a.failed[0].reason.find("hole punching failed"),
                      std::string::npos);
  CAF_CHECK_NOT_EQUAL(a.failed[0].reason.find("relay: the relay refuses"),
                      std::string::npos);
  CAF_CHECK(!has_peer(a, b.id()));
}

namespace {

void relaying(crust::service_options& o) {
  o.beacon = false;
  o.peer_exchange = false;
  o.relay = true;
}

// Ends whose punch cannot work and ends after `punch`, with a relay asked
// for after `relay_after`.
std::function<void(crust::service_options&)>
slow_punch(caf::timespan punch, caf::timespan relay_after) {
  return [=](crust::service_options& o) {
    no_punch(o);
    o.punch_timeout = punch;
    o.relay_after = relay_after;
  };
}

} // namespace

CAF_TEST(a punch slower than relay after gets a circuit alongside) {
  // Nothing gets through the punch (both ends punch nothing) and it
  // fails only after 5 s; the relay is asked after 200 ms and carries
  // long before. The punch's failure then says nothing: the relay
  // carries.
  node m{sys, relaying};
  auto ends = slow_punch(5s, 200ms);
  node a{sys, ends}, b{sys, ends};
  join(a, m);
  join(b, m);
  auto start = std::chrono::steady_clock::now();
  a.handler->send(a.svc, crust::connect_peer{b.id(), caf::none});
  CAF_REQUIRE(a.wait_until([&] { return has_peer(a, b.id()); }, 20s));
  auto took = std::chrono::steady_clock::now() - start;
  // Before the punch could have ended: the circuit went alongside.
  CAF_CHECK_LESS(std::chrono::duration_cast<std::chrono::milliseconds>(took)
                   .count(),
                 5000);
  CAF_CHECK(find_peer(a, b.id())->info.from == crust::origin::relayed);
  CAF_REQUIRE(b.wait_until([&] { return has_peer(b, a.id()); }));
  a.keep(b.id());
  b.keep(a.id());
  CAF_CHECK(!a.send(b.id(), text("early")));
  CAF_REQUIRE(b.wait_until([&] { return !b.msgs.empty(); }));
  // The punch fails at 5 s: the application hears nothing of it.
  a.wait_until([&] { return !a.failed.empty(); }, 7s);
  CAF_CHECK(a.failed.empty());
  CAF_CHECK(a.lost.empty());
  CAF_CHECK(!a.send(b.id(), text("still")));
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() == 2; }));
}

CAF_TEST(a relay asked alongside that fails is said once with the punch) {
  node m{sys, [](crust::service_options& o) {
           o.beacon = false;
           o.peer_exchange = false; // relay stays off (the default)
         }};
  auto ends = slow_punch(1s, 1ms);
  node a{sys, ends}, b{sys, ends};
  join(a, m);
  join(b, m);
  a.handler->send(a.svc, crust::connect_peer{b.id(), caf::none});
  CAF_REQUIRE(a.wait_until([&] { return !a.failed.empty(); }, 20s));
  CAF_CHECK_NOT_EQUAL(a.failed[0].reason.find("hole punching failed"),
                      std::string::npos);
  CAF_CHECK_NOT_EQUAL(a.failed[0].reason.find("relay: the relay refuses"),
                      std::string::npos);
  a.wait_until([&] { return a.failed.size() > 1; }, 2s);
  CAF_CHECK_EQUAL(a.failed.size(), 1u);
  CAF_CHECK(!has_peer(a, b.id()));
}

CAF_TEST_FIXTURE_SCOPE_END()
