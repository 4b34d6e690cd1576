#define CAF_SUITE datagram_channel
#include <caf/test/unit_test.hpp>

#include "tests/unit/datagram_pair.hpp"


CAF_TEST(handshake over datagrams proves both ids) {
  wire_pair w;
  auto [sa, sb] = w.connect();
  CAF_REQUIRE(w.a.info(sa) && w.b.info(sb));
  CAF_CHECK_EQUAL(w.a.info(sa)->peer.id, w.idb.id());
  CAF_CHECK_EQUAL(w.b.info(sb)->peer.id, w.ida.id());
  CAF_CHECK(w.b.info(sb)->inbound);
  CAF_CHECK(w.b.info(sb)->remote == w.at_a);
  CAF_CHECK_EQUAL(w.b.half_open(), 0u);
  CAF_CHECK_EQUAL(w.a.stats().garbage + w.b.stats().garbage, 0u);
  // The INIT is never smaller than the RESPONSE it asks for.
  CAF_CHECK_EQUAL(w.seen_by_b.front().size(), datagram::init_size);
}

CAF_TEST(messages arrive intact and in order per stream) {
  wire_pair w;
  auto sa = w.connect().first;
  transfer(w, sa, 2000, 1000);
  transfer(w, sa, 40, 60000);
}

CAF_TEST(lossy wire: every message once and in order) {
  wire_pair w;
  w.loss = 0.05;
  auto sa = w.connect().first;
  transfer(w, sa, 600, 700);
}

CAF_TEST(a pinned dial to the wrong peer fails) {
  wire_pair w;
  auto other = identity::ephemeral();
  auto sa = w.a.dial(w.at_b, other.id(), false, w.now);
  auto why = w.down_reason(w.a, sa);
  CAF_CHECK(why.find("expected peer") != std::string::npos);
}

CAF_TEST(no answer: the dial ends at the handshake timeout) {
  wire_pair w;
  auto sa = w.a.dial(ip_endpoint{"10.9.9.9", 9}, std::nullopt, false, w.now);
  auto start = w.now;
  auto why = w.down_reason(w.a, sa, 20000000);
  CAF_CHECK(why.find("no answer") != std::string::npos);
  CAF_CHECK(w.now - start >= 10s);
  // Retransmitted with backoff: a handful of INITs, not thousands.
  CAF_CHECK_GREATER_OR_EQUAL(w.to_strangers.size(), 4u);
  CAF_CHECK_LESS_OR_EQUAL(w.to_strangers.size(), 12u);
}

CAF_TEST(spoofed INITs meet cookies while a real peer still connects) {
  wire_pair w;
  // 200 INITs from sources that never answer (their replies are lost).
  std::vector<uint8_t> m1(datagram::message1_size, 9);
  for (uint32_t i = 0; i < 200; ++i) {
    ip_endpoint fake{"10.1." + std::to_string(i / 250) + "."
                       + std::to_string(i % 250 + 1),
                     static_cast<uint16_t>(4000 + i)};
    auto init = datagram::encode_init(i + 1, m1.data(), nullptr);
    w.b.receive(fake, init.data(), init.size(), w.now);
  }
  w.b.flush(w.now);
  size_t cookies = 0, responses = 0;
  for (auto& p : w.b.out()) {
    cookies += p.bytes[0] == static_cast<uint8_t>(datagram::kind::cookie);
    responses += p.bytes[0] == static_cast<uint8_t>(datagram::kind::response);
  }
  w.b.out().clear();
  CAF_CHECK_EQUAL(responses, 4u); // up to the threshold
  CAF_CHECK_EQUAL(cookies, 196u);
  CAF_CHECK_EQUAL(w.b.stats().cookies_sent, 196u);
  CAF_CHECK_EQUAL(w.b.half_open(), 4u);
  // The honest initiator gets a cookie, repeats its INIT with it, and
  // connects although b is still under load.
  auto [sa, sb] = w.connect();
  CAF_CHECK_EQUAL(w.b.info(sb)->peer.id, w.ida.id());
  CAF_CHECK_GREATER_OR_EQUAL(w.b.stats().cookies_sent, 197u);
  // The spoofed half-open handshakes expire.
  w.run_until([&] { return w.b.half_open() == 0; }, 20000000);
  CAF_CHECK_EQUAL(w.b.half_open(), 0u);
  transfer(w, sa, 10, 100);
}

CAF_TEST(garbage is counted and replays and forgeries dropped) {
  wire_pair w;
  auto sa = w.connect().first;
  transfer(w, sa, 20, 100);
  auto before = w.b.stats();
  uint8_t junk[40] = {0x17, 1, 2, 3};
  w.b.receive(w.at_a, junk, sizeof(junk), w.now);
  // Every DATA b has seen, again: all refused by the window.
  size_t data = 0;
  for (auto& p : w.seen_by_b)
    if (p[0] == static_cast<uint8_t>(datagram::kind::data)) {
      w.b.receive(w.at_a, p.data(), p.size(), w.now);
      ++data;
    }
  // A DATA with a fresh counter and a flipped bit.
  auto forged = w.seen_by_b.back();
  forged[5] = 0x7f; // counter's high byte: new, so it reaches the AEAD
  forged.back() ^= 1;
  w.b.receive(w.at_a, forged.data(), forged.size(), w.now);
  CAF_CHECK_EQUAL(w.b.stats().garbage, before.garbage + 1);
  CAF_CHECK_EQUAL(w.b.stats().replayed, before.replayed + data);
  CAF_CHECK_EQUAL(w.b.stats().forged, before.forged + 1);
  for (auto& ev : w.b.events())
    CAF_CHECK(ev.what != datagram_channel::event::frame);
  // The session still works.
  transfer(w, sa, 10, 100);
}

CAF_TEST(closing one end tells the other) {
  wire_pair w;
  auto [sa, sb] = w.connect();
  w.a.close(sa);
  CAF_CHECK(!w.down_reason(w.b, sb).empty());
  CAF_CHECK_EQUAL(w.b.sessions(), 0u);
}

CAF_TEST(a quiet session sends keepalives often enough for NATs) {
  wire_pair w;
  auto sa = w.connect().first;
  transfer(w, sa, 1, 10);
  // 60 s of silence from the application, in 100 ms steps: a's keepalives
  // (empty DATA) at least every 25 s.
  w.a.flush(w.now);
  w.a.out().clear();
  std::vector<clock_type::duration> gaps;
  auto last = w.now;
  for (int i = 0; i < 600; ++i) {
    w.now += 100ms;
    w.wall.advance(100ms);
    sctp_stack::instance().tick(100);
    w.a.tick(w.now);
    w.a.flush(w.now);
    for (auto& p : w.a.out())
      if (p.bytes[0] == static_cast<uint8_t>(datagram::kind::data)) {
        gaps.push_back(w.now - last);
        last = w.now;
      }
    w.a.out().clear();
  }
  CAF_REQUIRE(!gaps.empty());
  for (auto g : gaps)
    CAF_CHECK_LESS_OR_EQUAL(g, clock_type::duration{25s});
  CAF_CHECK_LESS_OR_EQUAL(w.now - last, clock_type::duration{25s});
}
