// The link over unordered lanes (rudp's two SCTP streams): DATA that
// overtakes SELECT, and CLOSE on both lanes.
#define CAF_SUITE link
#include "tests/unit/link_pair.hpp"

CAF_TEST(over unordered lanes DATA that overtakes SELECT waits for it) {
  fixture f{true};
  f.identify();
  f.follow.lk.keep(); // not undecided yet: ignored
  f.lead.lk.select();
  f.lead.lk.keep(); // not selected by the peer yet, but undecided here
  f.lead.lk.send(priority::normal, bytes_of("first"), 0);
  auto out = f.lead.take_frames();
  // SELECT and OBSERVED on lane 0, the message on lane 1: lane 1 first.
  std::stable_sort(out.begin(), out.end(),
                   [](auto& a, auto& b) { return a.lane > b.lane; });
  f.deliver(f.follow, out);
  CAF_CHECK(!f.follow.lk.is_closed());
  CAF_CHECK(f.follow.lk.state() == link::phase::undecided);
  CAF_CHECK(f.follow.lk.keep());
  f.follow.take_events();
  CAF_CHECK(f.follow.messages() == std::vector<std::string>({"first"}));
}

CAF_TEST(over unordered lanes early DATA past the allowance is refused) {
  fixture f{true};
  f.identify();
  f.follower_sends(ft::data, data_body(std::string(60, 'a')), 1);
  CAF_CHECK(!f.lead.lk.is_closed());
  f.follower_sends(ft::data, data_body(std::string(60, 'b')), 1);
  CAF_CHECK(f.lead.closed_with(misbehaviour::protocol_violation));
}

CAF_TEST(over unordered lanes CLOSE goes on both and waits for its twin) {
  fixture f{true};
  f.keep_both();
  f.lead.take_frames();
  f.follow.take_frames();
  f.follow.lk.close(wire::close_reason::normal);
  auto out = f.follow.take_frames();
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK(out[0].type == ft::close && out[0].lane == 0);
  CAF_CHECK(out[1].type == ft::close && out[1].lane == 1);
  // One lane's CLOSE: data still on its way on the other is delivered.
  f.deliver(f.lead, {out[0]});
  CAF_CHECK(!f.lead.lk.is_closed());
  f.follower_sends(ft::data, data_body("last words"), 1);
  CAF_CHECK(f.lead.messages() == std::vector<std::string>({"last words"}));
  f.deliver(f.lead, {out[1]});
  CAF_CHECK(f.lead.lk.is_closed());
  CAF_CHECK_EQUAL(f.lead.close_reason(),
                  "closed by the peer: shutdown");
}

CAF_TEST(over unordered lanes a lone CLOSE is final after the grace) {
  fixture f{true};
  f.keep_both();
  f.lead.take_frames();
  f.follower_sends(ft::close,
                   {static_cast<uint8_t>(wire::close_reason::dropped), 'd'}, 1);
  CAF_CHECK(!f.lead.lk.is_closed());
  CAF_CHECK(f.lead.lk.poll_timeout() == f.now + 1s);
  f.step_lead();
  CAF_CHECK(f.lead.lk.is_closed());
  CAF_CHECK_EQUAL(f.lead.close_reason(), "closed by the peer: d");
  CAF_CHECK(f.lead.take_frames().empty());
}
