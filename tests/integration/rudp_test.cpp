// Services in one process over reliable UDP (udp:// endpoints, the rudp
// engine, SCTP over sealed datagrams) on 127.0.0.1.
#define CAF_SUITE rudp
#include <caf/test/unit_test.hpp>

#include "tests/integration/node.hpp"

CAF_TEST_FIXTURE_SCOPE(rudp_tests, fixture)

CAF_TEST(services listen on udp at the tcp port and connect over rudp) {
  node a{sys}, b{sys};
  auto tcp = b.endpoint(crust::transport::tcp);
  auto udp = b.endpoint(crust::transport::rudp);
  CAF_CHECK_EQUAL(udp.port, tcp.port);
  link(a, b, crust::transport::rudp);
  CAF_CHECK(a.peers[0].info.proto == crust::transport::rudp);
  CAF_CHECK(b.peers[0].info.proto == crust::transport::rudp);
  CAF_CHECK(b.peers[0].info.inbound);
  CAF_CHECK_EQUAL(a.peers[0].peer, b.id());
  CAF_CHECK(!a.send(b.id(), text("hello b")));
  CAF_CHECK(!b.send(a.id(), text("hello a")));
  CAF_REQUIRE(b.wait_until([&] { return !b.msgs.empty(); }));
  CAF_REQUIRE(a.wait_until([&] { return !a.msgs.empty(); }));
  CAF_CHECK(b.msgs[0].bytes == text("hello b"));
  CAF_CHECK(a.msgs[0].bytes == text("hello a"));
}

CAF_TEST(one hundred megabytes arrive intact and in order) {
  node a{sys}, b{sys};
  link(a, b, crust::transport::rudp);
  // 100 messages of 1 MiB, each numbered and filled from its number, sent
  // as the queue takes them.
  constexpr uint32_t count = 100;
  auto make = [](uint32_t n) {
    std::vector<uint8_t> m(1024 * 1024);
    for (size_t i = 0; i < m.size(); ++i)
      m[i] = static_cast<uint8_t>((i * 2654435761u + n) >> 13);
    std::memcpy(m.data(), &n, sizeof(n));
    return m;
  };
  uint32_t sent = 0;
  size_t checked = 0;
  bool intact = true;
  auto check_arrived = [&] {
    for (; checked < b.msgs.size(); ++checked) {
      intact &= b.msgs[checked].bytes == make(static_cast<uint32_t>(checked));
      b.msgs[checked].bytes.clear(); // memory: checked, no longer needed
      b.msgs[checked].bytes.shrink_to_fit();
    }
  };
  while (sent < count) {
    if (a.send(b.id(), make(sent))) {
      // Queue full: let some arrive.
      CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() > checked; }, 60s));
      check_arrived();
      continue;
    }
    ++sent;
  }
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() == count; }, 120s));
  check_arrived();
  CAF_CHECK(intact);
  CAF_CHECK(a.abuse.empty() && b.abuse.empty());
}

CAF_TEST(many small messages on two priorities keep their order per lane) {
  node a{sys}, b{sys};
  link(a, b, crust::transport::rudp);
  constexpr uint32_t per_lane = 5000;
  for (uint32_t i = 0; i < per_lane; ++i)
    for (auto prio : {crust::priority::high, crust::priority::normal}) {
      std::vector<uint8_t> m(64, static_cast<uint8_t>(prio));
      std::memcpy(m.data() + 1, &i, sizeof(i));
      CAF_REQUIRE(!a.send(b.id(), m, prio));
    }
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() == 2 * per_lane; }, 60s));
  uint32_t next[2] = {0, 0};
  bool ordered = true;
  for (auto& m : b.msgs) {
    uint32_t n;
    std::memcpy(&n, m.bytes.data() + 1, sizeof(n));
    ordered &= m.bytes[0] < 2 && n == next[m.bytes[0]]++;
  }
  CAF_CHECK(ordered);
  CAF_CHECK_EQUAL(next[0], per_lane);
  CAF_CHECK_EQUAL(next[1], per_lane);
}

CAF_TEST(prefer-transport udp dials a tcp endpoint over rudp) {
  node a{sys, [](crust::service_options& o) { o.prefer_transport = "udp"; }};
  node b{sys};
  link(a, b, crust::transport::tcp);
  CAF_CHECK(a.peers[0].info.proto == crust::transport::rudp);
  CAF_CHECK(!a.send(b.id(), text("over udp")));
  CAF_REQUIRE(b.wait_until([&] { return !b.msgs.empty(); }));
}

CAF_TEST(drop and shutdown over rudp tell the peer) {
  node a{sys}, b{sys};
  link(a, b, crust::transport::rudp);
  a.handler->send(a.svc, crust::drop{b.id()});
  CAF_REQUIRE(b.wait_until([&] { return !b.lost.empty(); }));
  CAF_CHECK(b.lost[0].reason.find("dropped") != std::string::npos);
  CAF_MESSAGE("b heard: " << b.lost[0].reason);
  // A shutdown says CLOSE before the socket goes (not a heartbeat timeout
  // 20 s later).
  node c{sys}, d{sys};
  link(c, d, crust::transport::rudp);
  caf::anon_send(c.svc, crust::shutdown{});
  CAF_REQUIRE(d.wait_until([&] { return !d.lost.empty(); }, 5s));
  CAF_CHECK(d.lost[0].reason.find("shutdown") != std::string::npos);
  CAF_MESSAGE("d heard: " << d.lost[0].reason);
}

CAF_TEST(a udp endpoint nobody answers fails the dial) {
  node a{sys, [](crust::service_options& o) {
    o.handshake_timeout = 1s;
  }};
  crust::endpoint nowhere{crust::transport::rudp, "127.0.0.1", 9, {}};
  a.handler->send(a.svc, crust::connect{nowhere});
  CAF_REQUIRE(a.wait_until([&] { return !a.failed.empty(); }));
  CAF_MESSAGE("reason: " << a.failed[0].reason);
  CAF_CHECK(a.failed[0].reason.find("no answer") != std::string::npos);
}

CAF_TEST(blacklisting closes a rudp peer and refuses its next udp dial) {
  node a{sys}, b{sys};
  link(a, b, crust::transport::rudp);
  CAF_CHECK_EQUAL(b.blacklist({"127.0.0.0/8"}), 1u);
  CAF_REQUIRE(b.wait_until([&] { return !b.lost.empty(); }));
  CAF_CHECK(b.lost[0].reason.find("blacklisted") != std::string::npos);
  CAF_REQUIRE(a.wait_until([&] { return !a.lost.empty(); }));
  // Over UDP the handshake is answered before admission (docs/THREATS.md),
  // then the service refuses the connection: a never gets a kept peer.
  a.handler->send(a.svc, crust::connect{b.endpoint(crust::transport::rudp)});
  CAF_REQUIRE(a.wait_until(
    [&] { return !a.failed.empty() || a.lost.size() >= 2; }));
  CAF_CHECK_EQUAL(b.peers.size(), 1u);
  b.handler->send(b.svc, crust::connect{a.endpoint(crust::transport::rudp)});
  CAF_REQUIRE(b.wait_until([&] { return !b.failed.empty(); }));
  CAF_CHECK(b.failed[0].reason.find("blacklisted") != std::string::npos);
}

CAF_TEST(a rate limit on rudp holds a sender back) {
  // SCTP's congestion control obeys the datagrams the gate drops unread,
  // as TCP obeys a reader that pauses: the sender slows to the limit
  // instead of being closed as a flood.
  node a{sys};
  node b{sys, [](crust::service_options& o) {
    o.max_bytes_per_sec = 256 * 1024;
  }};
  link(a, b, crust::transport::rudp);
  std::vector<uint8_t> chunk(256 * 1024, 'f');
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i)
    CAF_REQUIRE(!a.send(b.id(), chunk));
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() == 4; }, 60s));
  auto took = std::chrono::steady_clock::now() - start;
  // 1 MiB at 256 KiB/s with a quarter second's burst: at least ~3.7 s.
  CAF_CHECK_GREATER(took, std::chrono::milliseconds(3000));
  CAF_CHECK(b.abuse.empty());
  CAF_MESSAGE("1 MiB at a 256 KiB/s limit took "
              << std::chrono::duration_cast<std::chrono::milliseconds>(took)
                   .count()
              << " ms");
}

CAF_TEST_FIXTURE_SCOPE_END()
