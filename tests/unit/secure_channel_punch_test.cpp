// The secure channel on punched paths: PUNCH_HELLO first, then Noise roles
// from the peer ids, whether both ends connected (simultaneous open) or
// one end's listener took the other's SYN.
#define CAF_SUITE secure_channel_punch
#include <caf/test/unit_test.hpp>

#include "tests/unit/channel_pair.hpp"

using namespace crust;
using crust::test::channel_settings;
using crust::test::deliver;
using crust::test::received;

namespace {

using punch_path = secure_channel::punch_path;

struct punch_fixture {
  identity ia = identity::ephemeral();
  identity ib = identity::ephemeral();
  attempt_id attempt{{1, 2, 3, 4}};
  probe_key key{{7, 7, 7}};
  received ga, gb;

  secure_channel::settings punched(const identity& me, const identity& peer) {
    auto s = channel_settings(me, false);
    s.punch = punch_path{attempt, key, peer.id()};
    return s;
  }

  // An accepted connection that knows the attempts in `live`.
  secure_channel::settings accepted(const identity& me,
                                    std::vector<punch_path> live) {
    auto s = channel_settings(me, false);
    s.find_punch = [live](const attempt_id& id) -> std::optional<punch_path> {
      for (auto& p : live)
        if (p.attempt == id)
          return p;
      return std::nullopt;
    };
    return s;
  }

  void run(secure_channel& a, secure_channel& b) {
    crust::test::handshake(a, b, ga, gb);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(secure_channel_punch_tests, punch_fixture)

CAF_TEST(both ends connected: the lower id initiates) {
  secure_channel a{punched(ia, ib)};
  secure_channel b{punched(ib, ia)};
  run(a, b);
  CAF_REQUIRE(ga.established && gb.established);
  CAF_CHECK(a.remote().id == ib.id());
  CAF_CHECK(b.remote().id == ia.id());
}

CAF_TEST(the listener took the SYN: the accepted end joins the attempt) {
  // Whichever end the listener accepted, and whichever id is lower.
  for (int order = 0; order < 2; ++order) {
    auto& dialler = order == 0 ? ia : ib;
    auto& acceptor = order == 0 ? ib : ia;
    secure_channel a{punched(dialler, acceptor)};
    secure_channel b{accepted(acceptor, {{attempt, key, dialler.id()}})};
    ga = {};
    gb = {};
    run(a, b);
    CAF_REQUIRE(ga.established && gb.established);
    CAF_REQUIRE(b.punch());
    CAF_CHECK(b.punch()->attempt == attempt);
    CAF_CHECK(b.remote().id == dialler.id());
  }
}

CAF_TEST(an accepted ordinary dial is unaffected) {
  secure_channel a{channel_settings(ia, true)};
  secure_channel b{accepted(ib, {{attempt, key, ia.id()}})};
  run(a, b);
  CAF_REQUIRE(ga.established && gb.established);
  CAF_CHECK(!b.punch());
}

CAF_TEST(a hello for no live attempt or with a wrong key fails) {
  {
    secure_channel a{punched(ia, ib)};
    attempt_id other{{9}};
    secure_channel b{accepted(ib, {{other, key, ia.id()}})};
    run(a, b);
    CAF_CHECK(gb.failed);
    CAF_CHECK(b.kind() == misbehaviour::handshake_invalid);
  }
  {
    ga = {};
    gb = {};
    auto s = punched(ia, ib);
    s.punch->key[0] ^= 1;
    secure_channel a{s};
    secure_channel b{punched(ib, ia)};
    run(a, b);
    CAF_CHECK(ga.failed && gb.failed); // each refuses the other's hello
  }
  {
    // A punched end hearing an ordinary Noise message 1 first.
    ga = {};
    gb = {};
    secure_channel a{channel_settings(ia, true)};
    secure_channel b{punched(ib, ia)};
    run(a, b);
    CAF_CHECK(gb.failed);
  }
}

CAF_TEST(the punched peer must be the expected one) {
  auto mallory = identity::ephemeral();
  // Mallory knows the attempt (a forwarder read the key) but not ib's key.
  secure_channel a{punched(ia, ib)};
  secure_channel m{punched(mallory, ia)};
  run(a, m);
  // Whatever roles the ids give, a never accepts mallory as ib: it fails,
  // or both wait for the handshake timeout. (Mallory's own end may think
  // it is done: an XX initiator is, once it sent message 3.)
  CAF_CHECK(!ga.established);
}

CAF_TEST_FIXTURE_SCOPE_END()
