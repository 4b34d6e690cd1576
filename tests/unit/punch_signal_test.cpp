#define CAF_SUITE punch_signal
#include <caf/test/unit_test.hpp>

#include <sodium.h>

#include "nat/punch/signal.hpp"

using namespace crust;

namespace {

struct fixture {
  fixture() : alice(make()), bob(make()) {
    for (uint8_t i = 0; i < 16; ++i)
      offer.attempt[i] = i;
    offer.kind = signal_kind::offer;
    offer.round = 1;
    offer.mapping = nat_mapping::endpoint_independent;
    offer.caps = cap_tcp | cap_udp;
    offer.key.fill(0x5a);
    offer.candidates = {
      {transport::tcp, {"192.168.1.20", 5483}, candidate_kind::host, 7},
      {transport::rudp, {"198.18.0.1", 5484}, candidate_kind::reflexive, 5},
      {transport::tcp, {"2001:db8::1", 5483}, candidate_kind::mapped, 3},
    };
  }

  static identity make() {
    if (sodium_init() < 0)
      abort();
    return identity::ephemeral();
  }

  caf::expected<punch_signal> round_trip(const punch_signal& s) {
    auto bytes = encode_signal(alice, bob.id(), "net", s);
    return decode_signal(alice.id(), bob.id(), "net", bytes.data(),
                         bytes.size());
  }

  identity alice;
  identity bob;
  punch_signal offer;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(punch_signal_tests, fixture)

CAF_TEST(every kind of signal survives the wire) {
  auto o = round_trip(offer);
  CAF_REQUIRE(o);
  CAF_CHECK(o->kind == signal_kind::offer);
  CAF_CHECK(o->attempt == offer.attempt);
  CAF_CHECK(o->mapping == nat_mapping::endpoint_independent);
  CAF_CHECK_EQUAL(o->caps, cap_tcp | cap_udp);
  CAF_CHECK(o->key == offer.key);
  CAF_CHECK(o->candidates == offer.candidates);
  auto answer = offer;
  answer.kind = signal_kind::answer;
  answer.round = 2;
  auto a = round_trip(answer);
  CAF_REQUIRE(a);
  CAF_CHECK_EQUAL(a->round, 2);
  CAF_CHECK(a->key == probe_key{}); // the key is the offerer's alone
  punch_signal sync;
  sync.kind = signal_kind::sync;
  sync.attempt = offer.attempt;
  sync.round = 3;
  auto s = round_trip(sync);
  CAF_REQUIRE(s);
  CAF_CHECK(s->kind == signal_kind::sync);
  CAF_CHECK(s->candidates.empty());
  punch_signal cancel = sync;
  cancel.kind = signal_kind::cancel;
  cancel.reason = std::string(500, 'x');
  auto c = round_trip(cancel);
  CAF_REQUIRE(c);
  CAF_CHECK_EQUAL(c->reason.size(), max_cancel_reason);
}

CAF_TEST(a forwarder can neither forge nor redirect a signal) {
  auto bytes = encode_signal(alice, bob.id(), "net", offer);
  CAF_CHECK(decode_signal(alice.id(), bob.id(), "net", bytes.data(),
                          bytes.size()));
  // Another receiver, another network, another claimed sender.
  CAF_CHECK(!decode_signal(alice.id(), alice.id(), "net", bytes.data(),
                           bytes.size()));
  CAF_CHECK(!decode_signal(alice.id(), bob.id(), "other", bytes.data(),
                           bytes.size()));
  CAF_CHECK(!decode_signal(bob.id(), bob.id(), "net", bytes.data(),
                           bytes.size()));
  // Any byte changed.
  for (size_t i = 0; i < bytes.size(); i += 7) {
    auto forged = bytes;
    forged[i] ^= 0x01;
    CAF_CHECK(!decode_signal(alice.id(), bob.id(), "net", forged.data(),
                             forged.size()));
  }
  attempt_id peeked;
  CAF_REQUIRE(peek_attempt(bytes.data(), bytes.size(), peeked));
  CAF_CHECK(peeked == offer.attempt);
  CAF_CHECK(!peek_attempt(bytes.data(), 16, peeked));
}

CAF_TEST(bounds are kept on both sides) {
  for (int i = 0; i < 50; ++i)
    offer.candidates.push_back(
      {transport::tcp, {"10.0.0." + std::to_string(i + 1), 1},
       candidate_kind::host, 1});
  offer.candidates.push_back(
    {transport::tcp, {"not an address", 1}, candidate_kind::host, 1});
  auto o = round_trip(offer);
  CAF_REQUIRE(o);
  CAF_CHECK_EQUAL(o->candidates.size(), max_signal_candidates);
  CAF_CHECK_LESS_OR_EQUAL(encode_signal(alice, bob.id(), "net", offer).size(),
                          max_signal_size);
  CAF_CHECK_EQUAL(max_signal_size, 917u); // docs/PROTOCOL.md says so
  auto bad_round = offer;
  bad_round.round = 0;
  CAF_CHECK(!round_trip(bad_round));
  bad_round.round = max_punch_rounds + 1;
  CAF_CHECK(!round_trip(bad_round));
  auto bad_caps = offer;
  bad_caps.caps = 0x80;
  CAF_CHECK(!round_trip(bad_caps));
  std::vector<uint8_t> huge(max_signal_size + 1, 0);
  CAF_CHECK(!decode_signal(alice.id(), bob.id(), "net", huge.data(),
                           huge.size()));
}

CAF_TEST_FIXTURE_SCOPE_END()
