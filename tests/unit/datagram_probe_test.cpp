// The datagram channel's hole-punching probes and its STUN questions.
#define CAF_SUITE datagram_channel
#include <caf/test/unit_test.hpp>

#include "tests/unit/datagram_pair.hpp"

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
