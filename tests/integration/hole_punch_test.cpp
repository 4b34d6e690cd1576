// Hole punching over real sockets on 127.0.0.1: a mutual peer M keeps A
// and B; A asks to connect to B by id; M forwards the signals and both
// punch a TCP path from their listen ports (simultaneous open or the
// listener's accept, as the kernel decides), PUNCH_HELLO first, Noise
// roles by peer id. No NAT here (the lab has them): this proves the
// signalling, the sockets and the joining, end to end. Every wait is
// bounded and waits on events.
#define CAF_SUITE hole_punch
#include <caf/test/unit_test.hpp>

#include "tests/integration/node.hpp"

CAF_TEST_FIXTURE_SCOPE(hole_punch_tests, fixture)

CAF_TEST(a mutual peer introduces two nodes and they punch through) {
  auto quiet = [](crust::service_options& o) {
    o.beacon = false;
    o.peer_exchange = false; // the introduction must be what connects them
  };
  node m{sys, quiet}, a{sys, quiet}, b{sys, quiet};
  join(a, m);
  join(b, m);
  CAF_REQUIRE(!has_peer(a, b.id()));
  a.handler->send(a.svc, crust::connect_peer{b.id(), caf::none});
  CAF_REQUIRE(a.wait_until([&] { return has_peer(a, b.id()); }));
  CAF_REQUIRE(b.wait_until([&] { return has_peer(b, a.id()); }));
  auto at_a = find_peer(a, b.id());
  auto at_b = find_peer(b, a.id());
  CAF_CHECK(at_a->info.from == crust::origin::punched);
  CAF_CHECK(at_b->info.from == crust::origin::punched);
  // Both punch from their listen ports: the path joins the two.
  CAF_CHECK_EQUAL(at_a->info.local.port, a.endpoint().port);
  CAF_CHECK_EQUAL(at_b->info.local.port, b.endpoint().port);
  // Traffic on the punched path, both ways.
  a.keep(b.id());
  b.keep(a.id());
  CAF_CHECK(!a.send(b.id(), text("through the hole")));
  CAF_REQUIRE(b.wait_until([&] { return !b.msgs.empty(); }));
  CAF_CHECK(b.msgs[0].bytes == text("through the hole"));
  CAF_CHECK(!b.send(a.id(), text("and back")));
  CAF_REQUIRE(a.wait_until([&] { return !a.msgs.empty(); }));
  CAF_CHECK(a.msgs[0].bytes == text("and back"));
  CAF_CHECK(a.failed.empty());
  // Each side reports how its punch went: TCP, in the first round.
  CAF_REQUIRE(a.wait_until([&] { return !a.punches.empty(); }));
  CAF_REQUIRE(b.wait_until([&] { return !b.punches.empty(); }));
  for (auto* p : {&a.punches[0], &b.punches[0]}) {
    CAF_CHECK(p->proto == crust::transport::tcp);
    CAF_CHECK_EQUAL(p->round, 1u);
    CAF_CHECK_LESS(p->millis, 10000u);
  }
  CAF_CHECK(a.punches[0].peer == b.id());
  CAF_CHECK(b.punches[0].peer == a.id());
}

CAF_TEST(without tcp the two punch a udp path and talk over it) {
  auto udp_only = [](crust::service_options& o) {
    o.beacon = false;
    o.peer_exchange = false;
    o.punch_tcp = false; // only the probes can connect them
  };
  node m{sys, udp_only}, a{sys, udp_only}, b{sys, udp_only};
  join(a, m);
  join(b, m);
  a.handler->send(a.svc, crust::connect_peer{b.id(), caf::none});
  CAF_REQUIRE(a.wait_until([&] { return has_peer(a, b.id()); }));
  CAF_REQUIRE(b.wait_until([&] { return has_peer(b, a.id()); }));
  auto at_a = find_peer(a, b.id());
  auto at_b = find_peer(b, a.id());
  CAF_CHECK(at_a->info.proto == crust::transport::rudp);
  CAF_CHECK(at_b->info.proto == crust::transport::rudp);
  CAF_CHECK(at_a->info.from == crust::origin::punched);
  CAF_CHECK(at_b->info.from == crust::origin::punched);
  // One side started the handshake (the smaller id), the other took it.
  CAF_CHECK_NOT_EQUAL(at_a->info.inbound, at_b->info.inbound);
  CAF_CHECK_EQUAL(at_a->info.inbound, b.id() < a.id());
  a.keep(b.id());
  b.keep(a.id());
  CAF_CHECK(!a.send(b.id(), text("through the udp hole")));
  CAF_REQUIRE(b.wait_until([&] { return !b.msgs.empty(); }));
  CAF_CHECK(b.msgs[0].bytes == text("through the udp hole"));
  CAF_CHECK(!b.send(a.id(), text("and back")));
  CAF_REQUIRE(a.wait_until([&] { return !a.msgs.empty(); }));
  CAF_CHECK(a.failed.empty());
  CAF_REQUIRE(a.wait_until([&] { return !a.punches.empty(); }));
  CAF_CHECK(a.punches[0].proto == crust::transport::rudp);
  CAF_CHECK(a.punches[0].round >= 1 && a.punches[0].round <= 3);
}

CAF_TEST(two nodes punch through with halves the application carried) {
  auto quiet = [](crust::service_options& o) {
    o.beacon = false;
    o.peer_exchange = false;
  };
  node a{sys, quiet}, b{sys, quiet}; // no mutual peer: the test carries
  auto half_a = a.prepare_info();
  auto half_b = b.prepare_info();
  CAF_REQUIRE(!half_a.empty() && !half_b.empty());
  a.handler->send(a.svc, crust::connect_with{half_a, half_b});
  b.handler->send(b.svc, crust::connect_with{half_b, half_a});
  CAF_REQUIRE(a.wait_until([&] { return has_peer(a, b.id()); }));
  CAF_REQUIRE(b.wait_until([&] { return has_peer(b, a.id()); }));
  CAF_CHECK(find_peer(a, b.id())->info.from == crust::origin::punched);
  CAF_CHECK(find_peer(b, a.id())->info.from == crust::origin::punched);
  a.keep(b.id());
  b.keep(a.id());
  CAF_CHECK(!a.send(b.id(), text("carried by hand")));
  CAF_REQUIRE(b.wait_until([&] { return !b.msgs.empty(); }));
  CAF_CHECK(a.failed.empty() && b.failed.empty());
  // A half is good once; a half that is not ours, or altered, is refused.
  node c{sys, quiet};
  auto half_c = c.prepare_info();
  a.handler->send(a.svc, crust::connect_with{half_a, half_c});
  a.handler->send(a.svc, crust::connect_with{half_b, half_c});
  auto altered = half_c;
  altered[altered.find("\",\"kind\"") - 1] ^= 1; // a candidate's port
  a.handler->send(a.svc, crust::connect_with{a.prepare_info(), altered});
  CAF_REQUIRE(a.wait_until([&] { return a.failed.size() >= 3; }));
  CAF_CHECK(a.failed[0].reason.find("not one this node prepared")
            != std::string::npos);
  CAF_CHECK(a.failed[1].reason.find("not one this node prepared")
            != std::string::npos);
  CAF_CHECK_EQUAL(a.failed[0].target, "peer:" + to_string(c.id()));
  CAF_MESSAGE("altered: " << a.failed[2].reason);
  CAF_CHECK(a.failed[2].reason.find("signature") != std::string::npos);
  CAF_CHECK_EQUAL(a.failed[2].target, "connection-info");
}

CAF_TEST(without a mutual peer the attempt fails cleanly) {
  auto quiet = [](crust::service_options& o) {
    o.beacon = false;
    o.peer_exchange = false;
  };
  node m{sys, quiet}, a{sys, quiet}, b{sys, quiet};
  join(a, m); // M keeps A only: it cannot introduce B
  a.handler->send(a.svc, crust::connect_peer{b.id(), caf::none});
  CAF_REQUIRE(a.wait_until([&] { return !a.failed.empty(); }, 15s));
  CAF_CHECK_EQUAL(a.failed[0].target, "peer:" + to_string(b.id()));
  CAF_MESSAGE("reason: " << a.failed[0].reason);
  CAF_CHECK(a.failed[0].reason.find("no mutual peer") != std::string::npos);
  CAF_CHECK(!has_peer(a, b.id()));
  // And with no kept peer at all, at once.
  node lone{sys, quiet};
  lone.handler->send(lone.svc, crust::connect_peer{b.id(), caf::none});
  CAF_REQUIRE(lone.wait_until([&] { return !lone.failed.empty(); }));
  CAF_CHECK(lone.failed[0].reason.find("no kept peer") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
