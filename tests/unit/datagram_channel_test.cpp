#define CAF_SUITE datagram_channel
#include <caf/test/unit_test.hpp>

#include <cstring>
#include <random>

#include "transports/datagram/channel.hpp"
#include "transports/datagram/packet.hpp"
#include "transports/identity.hpp"
#include "transports/datagram/sctp_link.hpp"
#include "tests/unit/stun_server.hpp"
#include "tests/unit/test_wall_clock.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

using clock_type = datagram_channel::clock;

datagram_channel::settings settings_for(const identity& me) {
  datagram_channel::settings s;
  s.static_key = me.noise_static();
  s.local = hello{me.id(), 42, false};
  s.network_name = "test";
  s.cookie_threshold = 4;
  s.max_half_open = 64;
  return s;
}

// Two channels (a at 10.0.0.1:1000, b at 10.0.0.2:2000) on an in-memory
// wire with seeded loss, a clock we advance (usrsctp's ticks and its
// gettimeofday with it: test_wall_clock.hpp), and strangers who may write
// to b.
struct wire_pair {
  test::frozen_wall_clock wall; // first: outlives the channels
  identity ida = identity::ephemeral();
  identity idb = identity::ephemeral();
  clock_type::time_point now = clock_type::now();
  datagram_channel a{settings_for(ida), now};
  datagram_channel b{settings_for(idb), now};
  ip_endpoint at_a{"10.0.0.1", 1000};
  ip_endpoint at_b{"10.0.0.2", 2000};
  std::mt19937_64 rng{7};
  double loss = 0;
  std::vector<datagram_channel::outgoing> to_strangers;
  std::vector<std::vector<uint8_t>> seen_by_b; // every datagram for b

  size_t carry(datagram_channel& from, const ip_endpoint& src,
               datagram_channel& to, const ip_endpoint& dst) {
    from.flush(now);
    auto packets = std::move(from.out());
    from.out().clear();
    for (auto& p : packets) {
      if (!(p.to == dst)) {
        to_strangers.push_back(std::move(p));
        continue;
      }
      if (loss > 0 && std::uniform_real_distribution<>(0, 1)(rng) < loss)
        continue;
      if (&to == &b)
        seen_by_b.push_back(p.bytes);
      to.receive(src, p.bytes.data(), p.bytes.size(), now);
    }
    return packets.size();
  }

  void step() {
    auto moved = carry(a, at_a, b, at_b) + carry(b, at_b, a, at_a);
    if (moved == 0) {
      now += 1ms;
      wall.advance(1ms);
      sctp_stack::instance().tick(1);
      a.tick(now);
      b.tick(now);
    }
  }

  template <class Done>
  bool run_until(Done done, int max_steps = 400000) {
    for (int i = 0; i < max_steps && !done(); ++i)
      step();
    return done();
  }

  // Steps until `ch` reports `session` down; its reason ("" if never).
  std::string down_reason(datagram_channel& ch, uint32_t session,
                          int max_steps = 400000) {
    std::string why;
    run_until([&] {
      for (auto& ev : ch.events())
        if (ev.what == datagram_channel::event::down && ev.session == session)
          why = ev.reason;
      ch.events().clear();
      return !why.empty();
    }, max_steps);
    return why;
  }

  // Both sides up; returns a's and b's session indices.
  std::pair<uint32_t, uint32_t> connect() {
    auto sa = a.dial(at_b, idb.id(), false, now);
    CAF_REQUIRE(sa != 0);
    uint32_t sb = 0;
    bool a_up = false;
    CAF_REQUIRE(run_until([&] {
      for (auto& ev : a.events())
        a_up |= ev.what == datagram_channel::event::up && ev.session == sa;
      for (auto& ev : b.events())
        if (ev.what == datagram_channel::event::up)
          sb = ev.session;
      a.events().clear();
      b.events().clear();
      return a_up && sb != 0;
    }));
    return {sa, sb};
  }
};

std::vector<uint8_t> numbered(uint32_t n, size_t size) {
  std::vector<uint8_t> m(size, static_cast<uint8_t>(n));
  std::memcpy(m.data(), &n, sizeof(n));
  return m;
}

// Sends `count` messages a -> b on two streams and checks every one
// arrives once, in order per stream.
void transfer(wire_pair& w, uint32_t sa, int count, size_t size) {
  int sent = 0;
  uint32_t next[2] = {0, 0};
  int got = 0;
  bool ordered = true;
  CAF_REQUIRE(w.run_until([&] {
    while (sent < count) {
      auto stream = static_cast<uint16_t>(sent % 2);
      auto m = numbered(static_cast<uint32_t>(sent / 2), size);
      if (!w.a.send(sa, stream, m.data(), m.size()))
        break;
      ++sent;
    }
    for (auto& ev : w.b.events()) {
      if (ev.what != datagram_channel::event::frame)
        continue;
      uint32_t n;
      std::memcpy(&n, ev.bytes.data(), sizeof(n));
      ordered &= ev.bytes.size() == size && n == next[ev.stream]++;
      ++got;
    }
    w.b.events().clear();
    return got == count;
  }, 4000000));
  CAF_CHECK(ordered);
}

} // namespace

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

// -- hole punching: probes ------------------------------------------------------

namespace {

const attempt_id attempt{{7, 7, 7}};
const probe_key pkey{{1, 2, 3}};

std::vector<datagram_channel::event> take_events(datagram_channel& ch) {
  std::vector<datagram_channel::event> evs(ch.events().begin(),
                                           ch.events().end());
  ch.events().clear();
  return evs;
}

// What `ch` wants sent, taken.
std::vector<datagram_channel::outgoing> take_out(datagram_channel& ch) {
  auto out = std::move(ch.out());
  ch.out().clear();
  return out;
}

} // namespace

CAF_TEST(a probe is answered to its source and the ack tells the prober) {
  wire_pair w;
  CAF_REQUIRE(w.a.watch(attempt, pkey, true));
  CAF_REQUIRE(w.b.watch(attempt, pkey, false));
  CAF_REQUIRE(w.a.probe(attempt, w.at_b));
  auto out = take_out(w.a);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(out[0].to, w.at_b);
  CAF_CHECK_EQUAL(out[0].bytes.size(), datagram::probe_size);
  // b sees the probe from a NAT's mapping of a, answers there.
  ip_endpoint mapped{"198.51.100.1", 40001};
  w.b.receive(mapped, out[0].bytes.data(), out[0].bytes.size(), w.now);
  auto evs = take_events(w.b);
  CAF_REQUIRE_EQUAL(evs.size(), 1u);
  CAF_CHECK(evs[0].what == datagram_channel::event::probed);
  CAF_CHECK(evs[0].attempt == attempt);
  CAF_CHECK_EQUAL(evs[0].remote, mapped);
  auto ack = take_out(w.b);
  CAF_REQUIRE_EQUAL(ack.size(), 1u);
  CAF_CHECK_EQUAL(ack[0].to, mapped);
  CAF_CHECK_LESS_OR_EQUAL(ack[0].bytes.size(), out[0].bytes.size());
  w.a.receive(w.at_b, ack[0].bytes.data(), ack[0].bytes.size(), w.now);
  evs = take_events(w.a);
  CAF_REQUIRE_EQUAL(evs.size(), 1u);
  CAF_CHECK(evs[0].what == datagram_channel::event::acked);
  CAF_CHECK_EQUAL(evs[0].remote, w.at_b);
  CAF_CHECK_EQUAL(evs[0].observed, mapped);
  // The same ack again answers nothing we still wait for.
  w.a.receive(w.at_b, ack[0].bytes.data(), ack[0].bytes.size(), w.now);
  CAF_CHECK(take_events(w.a).empty());
  CAF_CHECK_EQUAL(w.a.stats().probes_refused, 1u);
}

CAF_TEST(probes that do not prove the attempt get silence) {
  wire_pair w;
  CAF_REQUIRE(w.b.watch(attempt, pkey, false));
  datagram::probe_nonce nonce{{5}};
  auto forged = datagram::encode_probe(attempt, probe_key{{9}}, true, nonce);
  auto unknown = datagram::encode_probe(attempt_id{{8}}, pkey, true, nonce);
  auto reflected = datagram::encode_probe(attempt, pkey, false, nonce);
  auto flipped = datagram::encode_probe(attempt, pkey, true, nonce);
  flipped[20] ^= 1;
  auto unasked = datagram::encode_probe_ack(attempt, pkey, true, nonce,
                                            w.at_b);
  for (auto* p : {&forged, &unknown, &reflected, &flipped, &unasked})
    w.b.receive(w.at_a, p->data(), p->size(), w.now);
  CAF_CHECK(take_events(w.b).empty());
  CAF_CHECK(take_out(w.b).empty());
  CAF_CHECK_EQUAL(w.b.stats().probes_refused, 5u);
  // Unwatched, even a good probe is a stranger's.
  auto good = datagram::encode_probe(attempt, pkey, true, nonce);
  w.b.unwatch(attempt);
  w.b.receive(w.at_a, good.data(), good.size(), w.now);
  CAF_CHECK(take_out(w.b).empty());
  CAF_CHECK_EQUAL(w.b.stats().probes_refused, 6u);
}

CAF_TEST(an attempt answers and sends a bounded number of probes) {
  wire_pair w;
  CAF_REQUIRE(w.b.watch(attempt, pkey, false));
  datagram::probe_nonce nonce{{5}};
  auto good = datagram::encode_probe(attempt, pkey, true, nonce);
  for (uint32_t i = 0; i < datagram_channel::max_acks_per_attempt + 10; ++i)
    w.b.receive(w.at_a, good.data(), good.size(), w.now);
  CAF_CHECK_EQUAL(take_out(w.b).size(),
                  size_t{datagram_channel::max_acks_per_attempt});
  CAF_CHECK_EQUAL(w.b.stats().probes_refused, 10u);
  size_t sent = 0;
  while (w.b.probe(attempt, w.at_a) && sent < 100000)
    ++sent;
  CAF_CHECK_EQUAL(sent, size_t{datagram_channel::max_probes_per_attempt});
  // At most max_watched attempts at once.
  for (uint8_t i = 1; i < datagram_channel::max_watched; ++i)
    CAF_CHECK(w.b.watch(attempt_id{{i}}, pkey, false));
  CAF_CHECK(!w.b.watch(attempt_id{{200}}, pkey, false));
}

CAF_TEST(a session from where the probes came belongs to the punch) {
  wire_pair w;
  CAF_REQUIRE(w.a.watch(attempt, pkey, true));
  CAF_REQUIRE(w.b.watch(attempt, pkey, false));
  CAF_REQUIRE(w.a.probe(attempt, w.at_b));
  auto out = take_out(w.a);
  w.b.receive(w.at_a, out[0].bytes.data(), out[0].bytes.size(), w.now);
  take_events(w.b);
  take_out(w.b);
  auto [sa, sb] = w.connect();
  CAF_REQUIRE(w.b.info(sb));
  CAF_CHECK(w.b.info(sb)->punched);
  CAF_CHECK(!w.a.info(sa)->punched); // a dialled: the service knows
}

CAF_TEST(probe packets read back what was written) {
  datagram::probe_nonce nonce{{1, 2, 3, 4, 5, 6, 7, 8}};
  auto p = datagram::encode_probe(attempt, pkey, true, nonce);
  auto got = datagram::open_probe(p.data(), p.size(), pkey);
  CAF_REQUIRE(got);
  CAF_CHECK(!got->ack);
  CAF_CHECK(got->from_offerer);
  CAF_CHECK(got->nonce == nonce);
  for (auto ip : {"198.51.100.7", "2001:db8::5"}) {
    auto a = datagram::encode_probe_ack(attempt, pkey, false, nonce,
                                        ip_endpoint{ip, 5483});
    CAF_REQUIRE_EQUAL(a.size(), datagram::probe_ack_size);
    auto r = datagram::open_probe(a.data(), a.size(), pkey);
    CAF_REQUIRE(r);
    CAF_CHECK(r->ack);
    CAF_CHECK(!r->from_offerer);
    CAF_CHECK_EQUAL(r->observed, (ip_endpoint{ip, 5483}));
  }
  // Padding that carries something, a short one, the wrong key.
  auto padded = p;
  padded.back() = 1;
  CAF_CHECK(!datagram::open_probe(padded.data(), padded.size(), pkey));
  CAF_CHECK(!datagram::open_probe(p.data(), p.size() - 1, pkey));
  CAF_CHECK(!datagram::open_probe(p.data(), p.size(), probe_key{}));
  CAF_CHECK(datagram::encode_probe_ack(attempt, pkey, true, nonce,
                                       ip_endpoint{"nowhere", 1})
              .empty());
}

// -- STUN from the channel's socket ---------------------------------------------

CAF_TEST(stun asked from the channel tells where the server sees it) {
  wire_pair w;
  ip_endpoint server{"198.18.0.100", 3478};
  auto q = w.a.ask_stun(server, w.now);
  CAF_REQUIRE(q != 0);
  CAF_CHECK(w.a.busy());
  auto out = take_out(w.a);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].to == server);
  CAF_CHECK(datagram::is_stun(out[0].bytes.data(), out[0].bytes.size()));
  auto reply = test::stun_answer(out[0].bytes, {"198.18.0.12", 61002});
  // From anyone but the server asked: dropped, counted, no answer.
  w.a.receive({"198.18.0.66", 3478}, reply.data(), reply.size(), w.now);
  CAF_CHECK(take_events(w.a).empty());
  CAF_CHECK_EQUAL(w.a.stats().stun_ignored, 1u);
  // A damaged answer from the server: the same.
  auto damaged = reply;
  damaged[25] ^= 0xff;
  damaged.resize(damaged.size() - 1);
  w.a.receive(server, damaged.data(), damaged.size(), w.now);
  CAF_CHECK(take_events(w.a).empty());
  w.a.receive(server, reply.data(), reply.size(), w.now);
  auto evs = take_events(w.a);
  CAF_REQUIRE_EQUAL(evs.size(), 1u);
  CAF_CHECK(evs[0].what == datagram_channel::event::stun_answered);
  CAF_CHECK_EQUAL(evs[0].session, q);
  CAF_CHECK(evs[0].reason.empty());
  CAF_CHECK(evs[0].observed == (ip_endpoint{"198.18.0.12", 61002}));
  CAF_CHECK(!w.a.busy());
  // A replay of the answer is a stranger's datagram now.
  w.a.receive(server, reply.data(), reply.size(), w.now);
  CAF_CHECK(take_events(w.a).empty());
  CAF_CHECK_EQUAL(w.a.stats().stun_ignored, 3u);
}

CAF_TEST(an unanswered stun question is retried and ends within 8 s) {
  wire_pair w;
  ip_endpoint server{"198.18.0.100", 3478};
  auto q = w.a.ask_stun(server, w.now);
  CAF_REQUIRE(q != 0);
  size_t sent = take_out(w.a).size();
  std::vector<datagram_channel::event> evs;
  for (int ms = 0; ms < 9000 && evs.empty(); ms += 50) {
    w.now += 50ms;
    w.a.tick(w.now);
    sent += take_out(w.a).size();
    evs = take_events(w.a);
  }
  CAF_CHECK_EQUAL(sent, 5u);
  CAF_REQUIRE_EQUAL(evs.size(), 1u);
  CAF_CHECK_EQUAL(evs[0].session, q);
  CAF_CHECK_EQUAL(evs[0].reason, "no answer from 198.18.0.100:3478");
  CAF_CHECK(!w.a.busy());
}

CAF_TEST(stun questions open at once are bounded) {
  wire_pair w;
  for (size_t i = 0; i < datagram::stun_queries::max_open; ++i)
    CAF_CHECK(w.a.ask_stun({"198.18.0.100", 3478}, w.now) != 0);
  CAF_CHECK_EQUAL(w.a.ask_stun({"198.18.0.100", 3478}, w.now), 0u);
}
