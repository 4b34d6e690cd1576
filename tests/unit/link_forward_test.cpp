// The link's forwarding frames (FORWARD, FORWARDED, FORWARD_FAILED): what
// a kept peer may ask and hear, the bounds, the rate, and that the rate
// recovers with time.
#define CAF_SUITE link_forward
#include "tests/unit/link_pair.hpp"

namespace {

std::vector<uint8_t> to_then(const peer_id& id, std::vector<uint8_t> rest) {
  std::vector<uint8_t> body(id.bytes.begin(), id.bytes.end());
  body.insert(body.end(), rest.begin(), rest.end());
  return body;
}

} // namespace

CAF_TEST(kept links carry all three frames) {
  fixture f;
  f.keep_both();
  auto target = filled_id(9);
  f.follow.lk.forward(target, {1, 2, 3});
  f.pass(f.follow, f.lead);
  auto asked = f.lead.all<link::forward_requested>();
  CAF_REQUIRE_EQUAL(asked.size(), 1u);
  CAF_CHECK(asked[0].to == target);
  CAF_CHECK(asked[0].payload == (std::vector<uint8_t>{1, 2, 3}));
  f.lead.lk.pass_on(target, {4, 5});
  f.lead.lk.refuse_forward(target, wire::forward_refusal::not_connected,
                           std::vector<uint8_t>(40, 6));
  auto sent = f.pass(f.lead, f.follow);
  CAF_REQUIRE_EQUAL(sent.size(), 2u);
  CAF_CHECK_EQUAL(sent[1].body.size(), 32u + 1u + 17u); // context cut
  auto passed = f.follow.all<link::forwarded>();
  CAF_REQUIRE_EQUAL(passed.size(), 1u);
  CAF_CHECK(passed[0].from == target);
  CAF_CHECK(passed[0].payload == (std::vector<uint8_t>{4, 5}));
  auto failed = f.follow.all<link::forward_failed>();
  CAF_REQUIRE_EQUAL(failed.size(), 1u);
  CAF_CHECK(failed[0].why == wire::forward_refusal::not_connected);
  CAF_CHECK_EQUAL(failed[0].context.size(), 17u);
}

CAF_TEST(nothing is forwarded before keep) {
  fixture f;
  f.select();
  // Our own calls wait for keep...
  f.follow.lk.forward(filled_id(9), {1});
  f.follow.lk.pass_on(filled_id(9), {1});
  CAF_CHECK(f.follow.take_frames().empty());
  // ...and a peer's FORWARD before we keep it is refused at once.
  f.follower_sends(ft::forward, to_then(filled_id(9), {1}));
  CAF_CHECK(f.lead.all<link::forward_requested>().empty());
  auto out = f.lead.take_frames();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].type == ft::forward_failed);
  CAF_CHECK_EQUAL(out[0].body[32],
                  static_cast<uint8_t>(wire::forward_refusal::refused));
  // FORWARDED and FORWARD_FAILED before keep are not heard.
  f.follower_sends(ft::forwarded, to_then(filled_id(9), {1}));
  f.follower_sends(ft::forward_failed, to_then(filled_id(9), {1}));
  CAF_CHECK(f.lead.all<link::forwarded>().empty());
  CAF_CHECK(f.lead.all<link::forward_failed>().empty());
  CAF_CHECK(!f.lead.lk.is_closed());
}

CAF_TEST(malformed forwarding frames close the link) {
  struct bad {
    ft type;
    std::vector<uint8_t> body;
  };
  std::vector<bad> cases{
    {ft::forward, {}},
    {ft::forward, std::vector<uint8_t>(32, 0)}, // no payload
    {ft::forward, std::vector<uint8_t>(32 + wire::max_forward_payload + 1, 0)},
    {ft::forwarded, std::vector<uint8_t>(31, 0)},
    {ft::forward_failed, std::vector<uint8_t>(32, 0)},       // no reason
    {ft::forward_failed, to_then(filled_id(9), {0})},         // reason 0
    {ft::forward_failed, to_then(filled_id(9), {4})},         // unknown
    {ft::forward_failed, to_then(filled_id(9), std::vector<uint8_t>(19, 1))},
  };
  for (auto& c : cases) {
    fixture f;
    f.keep_both();
    f.follower_sends(c.type, c.body);
    CAF_CHECK(f.lead.closed_with(misbehaviour::protocol_violation));
  }
}

CAF_TEST(the rate recovers with time) {
  fixture f;
  f.keep_both();
  for (int i = 0; i < 25; ++i)
    f.follower_sends(ft::forward, to_then(filled_id(9), {1}));
  CAF_CHECK_EQUAL(f.lead.all<link::forward_requested>().size(), 20u);
  f.lead.take_frames();
  f.now += std::chrono::seconds(1); // five more tokens
  for (int i = 0; i < 10; ++i)
    f.follower_sends(ft::forward, to_then(filled_id(9), {1}));
  CAF_CHECK_EQUAL(f.lead.all<link::forward_requested>().size(), 25u);
  CAF_CHECK(!f.lead.lk.is_closed());
}
