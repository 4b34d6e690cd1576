// The link's timers: the handshake deadline and the heartbeat.
#define CAF_SUITE link
#include "tests/unit/link_pair.hpp"

CAF_TEST(a peer that never identifies hears nothing and times out) {
  fixture f;
  f.lead.lk.admit();
  CAF_CHECK(f.lead.lk.poll_timeout() == f.now + 3s);
  f.step_lead();
  CAF_CHECK(f.lead.closed_with(misbehaviour::handshake_timeout));
  auto abused = f.lead.all<link::abused>();
  CAF_CHECK(!abused[0].report.peer);
  CAF_CHECK_EQUAL(abused[0].report.address, "127.0.0.1:4000");
  CAF_CHECK(f.lead.take_frames().empty()); // silence to strangers
  CAF_CHECK(!f.lead.lk.poll_timeout());
}

CAF_TEST(an identified peer that never selects times out with its id) {
  fixture f;
  f.identify();
  f.step_lead();
  CAF_CHECK(f.lead.closed_with(misbehaviour::handshake_timeout));
  auto abused = f.lead.all<link::abused>();
  CAF_REQUIRE(abused[0].report.peer);
  CAF_CHECK(*abused[0].report.peer == f.follow.id);
  auto out = f.lead.take_frames();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(out[0].body.at(0),
                  static_cast<uint8_t>(wire::close_reason::timeout));
}

CAF_TEST(an idle link pings and a silent peer is lost at the heartbeat timeout) {
  fixture f;
  f.keep_both();
  f.lead.take_frames();
  // Selected: the handshake deadline is gone, the heartbeat remains.
  CAF_CHECK(f.lead.lk.poll_timeout() == f.now + 5s);
  f.step_lead(); // 5 s: silent for 5 s; we sent OBSERVED, so no PING
  CAF_CHECK(f.lead.take_frames().empty());
  CAF_CHECK(!f.lead.lk.is_closed());
  f.step_lead(); // 10 s: silent for 10 s
  CAF_CHECK(types_of(f.lead.take_frames()) == std::vector<ft>({ft::ping}));
  CAF_CHECK(!f.lead.lk.is_closed());
  f.step_lead(); // 15 s: silent for 15 s
  CAF_CHECK(f.lead.lk.is_closed());
  auto closed = f.lead.all<link::closed>();
  CAF_REQUIRE_EQUAL(closed.size(), 1u);
  CAF_CHECK_EQUAL(closed[0].reason, "no heartbeat for 15s");
  auto out = f.lead.take_frames();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].type == ft::close);
  CAF_CHECK_EQUAL(out[0].body.at(0),
                  static_cast<uint8_t>(wire::close_reason::timeout));
  CAF_CHECK_EQUAL(text_of({out[0].body.begin() + 1, out[0].body.end()}),
                  "heartbeat timeout");
}

CAF_TEST(proof of life or a pause on purpose keeps a link alive) {
  fixture f;
  f.keep_both();
  for (int i = 0; i < 6; ++i) {
    f.lead.lk.handle_activity();
    f.step_lead();
  }
  CAF_CHECK(!f.lead.lk.is_closed());
  f.lead.lk.handle_reading_paused(true);
  for (int i = 0; i < 6; ++i)
    f.step_lead();
  CAF_CHECK(!f.lead.lk.is_closed());
}

CAF_TEST(a waiting link counts no silence before admission) {
  fixture f;
  // Not admitted: only the handshake deadline can end it.
  f.step_lead();
  CAF_CHECK(f.lead.closed_with(misbehaviour::handshake_timeout));
}
