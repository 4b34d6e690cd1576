#define CAF_SUITE punch_attempt
#include <caf/test/unit_test.hpp>

#include "nat/punch/attempt.hpp"

using namespace crust;
using namespace std::chrono_literals;
using ph = punch_attempt::phase;
using path = punch_attempt::path;

namespace {

punch_attempt::local_info info(std::string ip, nat_mapping m,
                               uint8_t caps = cap_tcp | cap_udp,
                               bool udp_dialer = false) {
  punch_attempt::local_info li;
  li.mapping = m;
  li.caps = caps;
  li.udp_dialer = udp_dialer;
  li.candidates = {
    {transport::tcp, {ip, 5483}, candidate_kind::reflexive, 9},
    {transport::rudp, {ip, 5483}, candidate_kind::reflexive, 8},
    {transport::tcp, {ip, 6000}, candidate_kind::port_guess, 1},
  };
  return li;
}

// Two attempts whose signals a mutual peer carries with a one-way delay,
// on a clock the test steps.
struct fixture {
  punch_attempt::clock::time_point now{};
  punch_attempt::duration hop = 40ms; // offerer <-> answerer, one way
  attempt_id id{{1, 2, 3}};
  probe_key key{{9, 9, 9}};
  punch_attempt a{punch_attempt::role::offerer, id, key, {}, now};
  punch_attempt b{punch_attempt::role::answerer, id, probe_key{}, {}, now};
  struct in_flight {
    punch_attempt::clock::time_point at;
    bool to_b;
    punch_signal s;
  };
  std::vector<in_flight> wire;
  std::optional<punch_attempt::plan> plan_a, plan_b;
  std::optional<punch_attempt::clock::time_point> started_a, started_b;
  bool dialer = false; // whether a starts UDP handshakes

  void drain() {
    while (auto s = a.poll_signal())
      wire.push_back({now + hop, true, *s});
    while (auto s = b.poll_signal())
      wire.push_back({now + hop, false, *s});
    if (auto p = a.poll_plan()) {
      plan_a = p;
      started_a = now;
    }
    if (auto p = b.poll_plan()) {
      plan_b = p;
      started_b = now;
    }
  }

  // Steps the clock by `dt` in 1 ms ticks, delivering and timing out.
  void run(punch_attempt::duration dt) {
    auto end = now + dt;
    while (now < end) {
      now += 1ms;
      for (size_t i = 0; i < wire.size();) {
        if (wire[i].at <= now) {
          auto m = wire[i];
          wire.erase(wire.begin() + static_cast<ptrdiff_t>(i));
          (m.to_b ? b : a).handle_signal(m.s, now);
        } else {
          ++i;
        }
      }
      for (auto* x : {&a, &b})
        if (auto t = x->poll_timeout(); t && *t <= now)
          x->handle_timeout(now);
      drain();
    }
  }

  void start(nat_mapping ma = nat_mapping::endpoint_independent,
             nat_mapping mb = nat_mapping::endpoint_independent,
             uint8_t caps_a = cap_tcp | cap_udp,
             uint8_t caps_b = cap_tcp | cap_udp) {
    a.start(info("198.18.0.1", ma, caps_a, dialer), now);
    drain();
    run(hop);
    b.start(info("198.18.0.2", mb, caps_b), now);
    drain();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(punch_attempt_tests, fixture)

CAF_TEST(both sides start punching together) {
  start();
  CAF_CHECK(a.state() == ph::offered);
  CAF_CHECK(b.state() == ph::answered);
  CAF_CHECK(b.key() == key); // the offerer's key MACs the probes
  run(200ms);
  CAF_REQUIRE(plan_a && plan_b);
  CAF_CHECK(a.state() == ph::punching);
  CAF_CHECK(b.state() == ph::punching);
  CAF_REQUIRE(a.rtt());
  CAF_CHECK_EQUAL(a.rtt()->count(), punch_attempt::duration{80ms}.count());
  // The offerer waited half the round trip, the time SYNC takes to cross.
  auto skew = *started_a > *started_b ? *started_a - *started_b
                                      : *started_b - *started_a;
  CAF_CHECK_LESS_OR_EQUAL(skew, 2ms);
  // Round 1: all of each other's candidates, port guesses included.
  CAF_CHECK_EQUAL(plan_a->remote.size(), 3u);
  CAF_CHECK_EQUAL(plan_a->remote.front().at.ip, "198.18.0.2");
  CAF_CHECK_EQUAL(plan_b->remote.front().at.ip, "198.18.0.1");
  CAF_CHECK(plan_a->tcp && plan_a->udp);
  CAF_CHECK_EQUAL(plan_a->birthday_sockets + plan_a->birthday_probes, 0);
}

CAF_TEST(an authenticated path connects at once whichever it is) {
  start();
  run(200ms);
  a.handle_path_opened(path::tcp, now);
  CAF_CHECK(a.state() == ph::handshaking);
  a.handle_path_authenticated(path::tcp, now);
  CAF_CHECK(a.state() == ph::connected);
  CAF_CHECK(a.chosen() == path::tcp);
  b.handle_path_authenticated(path::udp, now);
  CAF_CHECK(b.state() == ph::connected);
  CAF_CHECK(b.chosen() == path::udp);
  CAF_CHECK(!a.poll_timeout());
  CAF_CHECK(!b.poll_timeout());
  CAF_CHECK(a.poll_probes(now).empty());
}

CAF_TEST(the peers path may prove it before we start punching) {
  // A public offerer: the answerer punches on SYNC while the offerer
  // still waits out half the round trip, and its SYN is accepted.
  start();
  run(hop + 1ms); // the ANSWER arrived: SYNC sent, waiting RTT/2
  CAF_REQUIRE(a.state() == ph::synced);
  a.handle_path_authenticated(path::tcp, now);
  CAF_CHECK(a.state() == ph::connected);
  CAF_CHECK(!a.poll_timeout());
  CAF_CHECK(!a.poll_plan());
}

CAF_TEST(udp probes go out in bounded bursts from the start of a round) {
  start();
  run(200ms);
  // The fixture's run() does not poll probes: count them here.
  size_t bursts = 0;
  std::vector<ip_endpoint> first;
  for (int ms = 0; ms < 3500; ++ms) {
    auto to = a.poll_probes(now);
    if (!to.empty()) {
      if (bursts++ == 0)
        first = to;
    }
    now += 1ms;
    if (auto t = a.poll_timeout(); t && *t <= now)
      a.handle_timeout(now);
  }
  // Every UDP candidate of the peer's (one here), every 100 ms of the
  // 3 s round (which began before the loop did); none after it.
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  CAF_CHECK_EQUAL(first.front(), (ip_endpoint{"198.18.0.2", 5483}));
  auto left = *started_a + 3s - (now - 3500ms);
  CAF_CHECK_EQUAL(bursts, size_t(left / 100ms) + 1);
  CAF_CHECK_LESS_OR_EQUAL(bursts, 30u);
}

CAF_TEST(a peer reflexive address joins the probes at once) {
  start();
  run(200ms);
  CAF_CHECK_EQUAL(a.poll_probes(now).size(), 1u);
  a.handle_probed({"203.0.113.9", 40000}, now);
  auto to = a.poll_probes(now);
  CAF_REQUIRE_EQUAL(to.size(), 2u);
  CAF_CHECK_EQUAL(to.back(), (ip_endpoint{"203.0.113.9", 40000}));
  // The same address again adds nothing.
  a.handle_probed({"203.0.113.9", 40000}, now);
  now += 100ms;
  CAF_CHECK_EQUAL(a.poll_probes(now).size(), 2u);
}

CAF_TEST(the dialer waits the tcp grace before the udp handshake) {
  dialer = true;
  start();
  run(200ms);
  a.handle_probe_acked({"198.18.0.2", 5483}, {"198.18.0.1", 41000}, now);
  CAF_CHECK(a.state() == ph::handshaking);
  CAF_REQUIRE(a.reflexive());
  CAF_CHECK_EQUAL(a.reflexive()->port, 41000);
  CAF_CHECK(a.poll_probes(now).empty()); // answered: probing stops
  CAF_CHECK(!a.poll_udp_dial());
  run(199ms);
  CAF_CHECK(!a.poll_udp_dial());
  run(2ms);
  auto at = a.poll_udp_dial();
  CAF_REQUIRE(at);
  CAF_CHECK_EQUAL(*at, (ip_endpoint{"198.18.0.2", 5483}));
  CAF_CHECK(!a.poll_udp_dial()); // once
  a.handle_path_authenticated(path::udp, now);
  CAF_CHECK(a.chosen() == path::udp);
}

CAF_TEST(tcp within the grace means no udp handshake) {
  dialer = true;
  start();
  run(200ms);
  a.handle_probe_acked({"198.18.0.2", 5483}, {"198.18.0.1", 41000}, now);
  run(50ms);
  a.handle_path_authenticated(path::tcp, now);
  run(300ms);
  CAF_CHECK(a.chosen() == path::tcp);
  CAF_CHECK(!a.poll_udp_dial());
}

CAF_TEST(without tcp the dialer starts the udp handshake at once) {
  dialer = true;
  start(nat_mapping::endpoint_independent, nat_mapping::endpoint_independent,
        cap_udp, cap_udp | cap_tcp);
  run(200ms);
  CAF_REQUIRE(plan_a);
  CAF_CHECK(!plan_a->tcp);
  a.handle_probe_acked({"198.18.0.2", 5483}, {"198.18.0.1", 41000}, now);
  CAF_CHECK(a.poll_udp_dial());
  // The answerer (not the dialer) never dials: the handshake comes to it.
  b.handle_probe_acked({"198.18.0.1", 5483}, {"198.18.0.2", 42000}, now);
  run(300ms);
  CAF_CHECK(!b.poll_udp_dial());
  CAF_CHECK(b.state() == ph::handshaking);
}

CAF_TEST(a failed udp handshake resumes probing) {
  dialer = true;
  start(nat_mapping::endpoint_independent, nat_mapping::endpoint_independent,
        cap_udp, cap_udp);
  run(200ms);
  CAF_CHECK(!a.poll_probes(now).empty());
  a.handle_probe_acked({"198.18.0.2", 5483}, {"198.18.0.1", 41000}, now);
  CAF_REQUIRE(a.poll_udp_dial());
  CAF_CHECK(a.poll_probes(now + 1s).empty());
  a.handle_path_failed(path::udp, now);
  CAF_CHECK(a.state() == ph::punching);
  CAF_CHECK_EQUAL(a.poll_probes(now).size(), 1u);
  // A second answer validates the path again.
  a.handle_probe_acked({"198.18.0.2", 5483}, {"198.18.0.1", 41000}, now);
  CAF_CHECK(a.poll_udp_dial());
}

CAF_TEST(failed rounds change strategy and end in a clean failure) {
  start(nat_mapping::endpoint_dependent, nat_mapping::endpoint_independent,
        cap_tcp | cap_udp | cap_birthday, cap_tcp | cap_udp | cap_birthday);
  run(200ms);
  CAF_REQUIRE(plan_a);
  CAF_CHECK_EQUAL(plan_a->round, 1);
  // A path opens and fails; the round goes on.
  a.handle_path_opened(path::tcp, now);
  CAF_CHECK(a.state() == ph::handshaking);
  a.handle_path_failed(path::tcp, now);
  CAF_CHECK(a.state() == ph::punching);
  plan_a.reset();
  plan_b.reset();
  run(3100ms);
  CAF_REQUIRE(plan_a && plan_b);
  CAF_CHECK_EQUAL(plan_a->round, 2);
  CAF_CHECK_EQUAL(plan_b->round, 2);
  CAF_CHECK_EQUAL(plan_a->remote.size(), 3u);
  // Round 2: the offerer starts on the answer, the answerer on SYNC.
  CAF_CHECK(*started_b > *started_a);
  // Birthday from round 2: the endpoint-dependent side opens sockets, the
  // other sprays probes at its NAT's address, in bursts, a moment later.
  CAF_CHECK_EQUAL(plan_a->birthday_sockets, 256);
  CAF_CHECK_EQUAL(plan_b->birthday_probes, 1024);
  CAF_CHECK(!a.poll_spray(now + 1s));
  CAF_CHECK(!b.poll_spray(now));
  size_t sprayed = 0, bursts = 0;
  for (int ms = 0; ms <= 1000; ++ms)
    if (auto sp = b.poll_spray(now + std::chrono::milliseconds(ms))) {
      CAF_CHECK_EQUAL(sp->ip, "198.18.0.1");
      CAF_CHECK_LESS_OR_EQUAL(sp->count, 128);
      sprayed += sp->count;
      ++bursts;
    }
  CAF_CHECK_EQUAL(sprayed, 1024u);
  CAF_CHECK_EQUAL(bursts, 8u);
  plan_a.reset();
  plan_b.reset();
  run(3100ms);
  CAF_REQUIRE(plan_a && plan_b);
  CAF_CHECK_EQUAL(plan_a->round, 3);
  CAF_CHECK_EQUAL(plan_a->birthday_sockets, 256); // and once more
  run(4s);
  CAF_CHECK(a.state() == ph::failed);
  CAF_CHECK(b.state() == ph::failed);
  CAF_CHECK_EQUAL(a.reasons().size(), 3u);
  CAF_CHECK_EQUAL(a.reasons().front(), "round 1: no path");
  CAF_CHECK(!a.poll_timeout());
}

CAF_TEST(the punch timeout ends every attempt) {
  start();
  // The mutual peer stops forwarding: no answer ever comes.
  wire.clear();
  hop = 100s;
  run(10s);
  CAF_CHECK(a.state() == ph::failed);
  CAF_CHECK(b.state() == ph::failed);
  CAF_CHECK_EQUAL(a.reasons().front(), "round 1: no answer");
  CAF_CHECK_LESS_OR_EQUAL(a.reasons().size(), 4u);
}

CAF_TEST(cancel reaches the peer and stale signals are ignored) {
  start();
  run(200ms);
  punch_signal stale;
  stale.kind = signal_kind::answer;
  stale.attempt = id;
  stale.round = 2;
  a.handle_signal(stale, now); // not this round's: ignored
  CAF_CHECK(a.state() == ph::punching);
  punch_signal other = stale;
  other.kind = signal_kind::cancel;
  other.attempt = attempt_id{{7}};
  a.handle_signal(other, now); // another attempt's: ignored
  CAF_CHECK(a.state() == ph::punching);
  b.cancel("the application dropped it");
  CAF_CHECK(b.state() == ph::failed);
  drain();
  run(hop + 1ms);
  CAF_CHECK(a.state() == ph::failed);
  CAF_CHECK_EQUAL(a.reasons().back(),
                  "the peer gave up: the application dropped it");
}

CAF_TEST(only what both sides allow is planned) {
  start(nat_mapping::endpoint_independent, nat_mapping::endpoint_independent,
        cap_tcp | cap_udp, cap_tcp);
  run(200ms);
  CAF_REQUIRE(plan_a);
  CAF_CHECK(plan_a->tcp);
  CAF_CHECK(!plan_a->udp);
  for (auto& c : plan_a->remote)
    CAF_CHECK(c.proto == transport::tcp);
}


CAF_TEST(an attempt the application signalled punches at once and alone) {
  punch_attempt x{punch_attempt::role::offerer, id, key, {}, now};
  punch_signal theirs;
  theirs.kind = signal_kind::answer;
  theirs.attempt = id;
  theirs.key = key;
  theirs.caps = cap_tcp | cap_udp;
  theirs.candidates = info("198.18.0.2", nat_mapping::none).candidates;
  x.start_signalled(info("198.18.0.1", nat_mapping::none), theirs, now);
  CAF_CHECK(x.state() == ph::punching);
  auto p = x.poll_plan();
  CAF_REQUIRE(p);
  CAF_CHECK_EQUAL(p->remote.size(), 3u);
  CAF_CHECK(!x.poll_signal());
  // Signals have no path here: one that claims this attempt is ignored.
  x.handle_signal(theirs, now);
  CAF_CHECK(x.state() == ph::punching);
  // Rounds follow each other without signals, then it fails.
  for (int ms = 0; ms < 9500; ++ms) {
    now += 1ms;
    if (auto t = x.poll_timeout(); t && *t <= now)
      x.handle_timeout(now);
    if (x.poll_plan())
      CAF_CHECK(x.state() == ph::punching);
  }
  CAF_CHECK(x.state() == ph::failed);
  CAF_CHECK_EQUAL(x.round(), 3);
  CAF_CHECK(!x.poll_signal()); // not even a CANCEL
  CAF_CHECK_EQUAL(x.reasons().size(), 3u);
}

CAF_TEST_FIXTURE_SCOPE_END()
