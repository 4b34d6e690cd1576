// The service as a mutual peer: FORWARD from one kept peer to another
// (docs/PROTOCOL.md, "Forwarding"), its refusals, bounds and rate, and
// what a node does with signals forwarded to it.
#define CAF_SUITE service_forward
#include "tests/unit/service_fixture.hpp"

#include "actors/service/state.hpp"
#include "nat/punch/signal.hpp"

namespace {

using crust::wire::forward_refusal;

std::vector<uint8_t> to_then(const peer_id& id, std::vector<uint8_t> rest) {
  std::vector<uint8_t> body(id.bytes.begin(), id.bytes.end());
  body.insert(body.end(), rest.begin(), rest.end());
  return body;
}

// The bodies of the frames of type `t` the node wrote to `r` since the
// last look.
std::vector<std::vector<uint8_t>> frames_of(fixture& f, remote& r,
                                            frame_type t) {
  f.read_node(r);
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i < r.got.types.size(); ++i)
    if (r.got.types[i] == t)
      out.push_back(r.got.bodies[i]);
  r.got = {};
  return out;
}

struct two_kept : fixture {
  identity a_id = peer_identity(false);
  identity b_id = peer_identity(false);
  std::unique_ptr<remote> a = kept_peer(2, a_id);
  std::unique_ptr<remote> b = kept_peer(3, b_id);

  uint64_t bad_signals() {
    return deref<stateful_actor<crust::service_state>>(svc)
      .state.punch->bad_signals();
  }
};

struct no_introductions : fixture {
  no_introductions()
    : fixture([](crust::service_options& o) { o.introduce = false; }) {
    // nop
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(service_forward_tests, two_kept)

CAF_TEST(a forward between two kept peers is passed on) {
  std::vector<uint8_t> payload{1, 2, 3, 4, 5};
  peer_sends(*a, frame_type::forward, to_then(b_id.id(), payload));
  auto got = frames_of(*this, *b, frame_type::forwarded);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK(got[0] == to_then(a_id.id(), payload));
  CAF_CHECK(frames_of(*this, *a, frame_type::forward_failed).empty());
  CAF_CHECK(events().abuse.empty());
}

CAF_TEST(a forward nobody can take is refused with its context) {
  auto stranger = identity::ephemeral();
  std::vector<uint8_t> payload(40, 7);
  peer_sends(*a, frame_type::forward, to_then(stranger.id(), payload));
  auto got = frames_of(*this, *a, frame_type::forward_failed);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  std::vector<uint8_t> rest{static_cast<uint8_t>(forward_refusal::not_connected)};
  rest.insert(rest.end(), 17, 7); // the payload's first 17 bytes
  CAF_CHECK(got[0] == to_then(stranger.id(), rest));
  // Back to the asker, or to the node itself: refused.
  peer_sends(*a, frame_type::forward, to_then(a_id.id(), {1}));
  peer_sends(*a, frame_type::forward, to_then(local, {1}));
  got = frames_of(*this, *a, frame_type::forward_failed);
  CAF_REQUIRE_EQUAL(got.size(), 2u);
  for (auto& body : got)
    CAF_CHECK_EQUAL(body[32], static_cast<uint8_t>(forward_refusal::refused));
  CAF_CHECK(frames_of(*this, *b, frame_type::forwarded).empty());
}

CAF_TEST(only kept peers are introduced) {
  auto c_id = peer_identity(false);
  auto c = selected_peer(4, c_id); // undecided: not kept
  read_node(*c);
  c->got = {};
  peer_sends(*a, frame_type::forward, to_then(c_id.id(), {9}));
  auto got = frames_of(*this, *a, frame_type::forward_failed);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK_EQUAL(got[0][32], static_cast<uint8_t>(forward_refusal::refused));
  CAF_CHECK(frames_of(*this, *c, frame_type::forwarded).empty());
  // And an undecided peer's own FORWARD is refused by its link.
  peer_sends(*c, frame_type::forward, to_then(a_id.id(), {9}));
  got = frames_of(*this, *c, frame_type::forward_failed);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK_EQUAL(got[0][32], static_cast<uint8_t>(forward_refusal::refused));
  CAF_CHECK(frames_of(*this, *a, frame_type::forwarded).empty());
}

CAF_TEST(forwards are rate limited per connection) {
  for (int i = 0; i < 30; ++i)
    peer_sends(*a, frame_type::forward,
               to_then(b_id.id(), {static_cast<uint8_t>(i)}));
  // A burst of 20 passes; 5 refusals say why the rest did not; the last
  // five are dropped unanswered.
  CAF_CHECK_EQUAL(frames_of(*this, *b, frame_type::forwarded).size(), 20u);
  auto refused = frames_of(*this, *a, frame_type::forward_failed);
  CAF_CHECK_EQUAL(refused.size(), 5u);
  for (auto& body : refused)
    CAF_CHECK_EQUAL(body[32], static_cast<uint8_t>(forward_refusal::busy));
  CAF_CHECK(events().abuse.empty());
}

CAF_TEST(malformed forwarding frames are protocol violations) {
  peer_sends(*a, frame_type::forward, {1, 2, 3}); // no room for an id
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::protocol_violation);
  CAF_CHECK(wrote_close(*a, crust::wire::close_reason::violation));
  std::vector<uint8_t> huge(crust::wire::max_forward_payload + 1, 0);
  peer_sends(*b, frame_type::forwarded, to_then(a_id.id(), huge));
  CAF_REQUIRE_EQUAL(events().abuse.size(), 2u);
  CAF_CHECK(wrote_close(*b, crust::wire::close_reason::violation));
}

CAF_TEST(signals forwarded to the node are verified) {
  // B passes on a signal A signed for the node: it verifies.
  crust::punch_signal s;
  s.kind = crust::signal_kind::sync;
  s.round = 1;
  auto good = crust::encode_signal(a_id, local, "test", s);
  peer_sends(*b, frame_type::forwarded, to_then(a_id.id(), good));
  CAF_CHECK_EQUAL(bad_signals(), 0u);
  // One signed for someone else, or claimed from another, does not.
  auto other = crust::encode_signal(a_id, b_id.id(), "test", s);
  peer_sends(*b, frame_type::forwarded, to_then(a_id.id(), other));
  peer_sends(*b, frame_type::forwarded, to_then(b_id.id(), good));
  CAF_CHECK_EQUAL(bad_signals(), 2u);
  CAF_CHECK(events().abuse.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(service_no_introduction_tests, no_introductions)

CAF_TEST(a node with introductions off refuses to forward) {
  auto a_id = peer_identity(false);
  auto b_id = peer_identity(false);
  auto a = kept_peer(2, a_id);
  auto b = kept_peer(3, b_id);
  peer_sends(*a, frame_type::forward, to_then(b_id.id(), {1}));
  auto got = frames_of(*this, *a, frame_type::forward_failed);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK_EQUAL(got[0][32], static_cast<uint8_t>(forward_refusal::refused));
  CAF_CHECK(frames_of(*this, *b, frame_type::forwarded).empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
