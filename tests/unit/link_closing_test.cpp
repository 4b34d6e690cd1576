// The link's ends: frames that break the protocol, a CLOSE from the peer,
// closing ourselves, and the carrier losing the connection.
#define CAF_SUITE link
#include "tests/unit/link_pair.hpp"

CAF_TEST(frames that break the protocol close the link with a reason) {
  struct refusal {
    const char* what;
    ft type;
    std::vector<uint8_t> body;
    bool selected; // sent once the connection lives
    misbehaviour kind;
  };
  std::vector<refusal> cases{
    {"DATA before SELECT", ft::data, data_body("sneaky"), false,
     misbehaviour::protocol_violation},
    {"SELECT from the follower", ft::select, {}, false,
     misbehaviour::protocol_violation},
    {"a second SELECT", ft::select, {}, true, misbehaviour::protocol_violation},
    {"empty BATCH", ft::batch, {}, true, misbehaviour::protocol_violation},
    {"BATCH item cut short", ft::batch,
     {0x00, 0x09, wire::flag_last | wire::flag_normal, 'a', 'b'}, true,
     misbehaviour::protocol_violation},
    {"reserved DATA flag", ft::data,
     {wire::flag_last | wire::flag_normal | 0x04, 'x'}, true,
     misbehaviour::protocol_violation},
    {"DATA without flags", ft::data, {}, true,
     misbehaviour::protocol_violation},
    {"ENDPOINTS that promises more than it holds", ft::endpoints,
     {2, 1, 'x'}, true, misbehaviour::protocol_violation},
    {"ENDPOINTS with no entry", ft::endpoints, {0}, true,
     misbehaviour::protocol_violation},
    {"unknown frame type", static_cast<ft>(0x0a), {}, true,
     misbehaviour::protocol_violation},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    fixture f;
    if (c.selected) {
      f.keep_both();
    } else {
      f.identify();
    }
    // The follower's SELECT reaches a leader; others as the follower.
    f.follower_sends(c.type, c.body);
    CAF_CHECK(f.lead.closed_with(c.kind));
    CAF_CHECK(f.lead.messages().empty());
    auto closed = f.lead.all<link::closed>();
    CAF_REQUIRE_EQUAL(closed.size(), 1u);
    CAF_CHECK(closed[0].reason.find("protocol_violation") != std::string::npos);
    CAF_CHECK(!closed[0].duplicate);
    // The peer is told why (it is authenticated).
    auto out = f.lead.take_frames();
    CAF_REQUIRE_EQUAL(out.size(), 1u);
    CAF_CHECK(out[0].type == ft::close);
    CAF_CHECK_EQUAL(out[0].body.at(0),
                    static_cast<uint8_t>(wire::close_reason::violation));
    // Nothing counts after the end.
    f.follower_sends(ft::data, data_body("late"));
    CAF_CHECK_EQUAL(f.lead.all<link::closed>().size(), 1u);
    CAF_CHECK(f.lead.messages().empty());
  }
}

CAF_TEST(a malformed BATCH delivers none of its items) {
  fixture f;
  f.keep_both();
  std::vector<uint8_t> body{0x00, 0x02, wire::flag_last | wire::flag_normal,
                            'o', 0x00, 0x09, wire::flag_last, 'x'};
  f.follower_sends(ft::batch, body);
  CAF_CHECK(f.lead.messages().empty());
  CAF_CHECK(f.lead.closed_with(misbehaviour::protocol_violation));
}

CAF_TEST(a CLOSE from the peer ends the link and says why) {
  fixture f;
  f.keep_both();
  std::vector<uint8_t> body{static_cast<uint8_t>(wire::close_reason::duplicate)};
  auto text = bytes_of("duplicate connection");
  body.insert(body.end(), text.begin(), text.end());
  f.follower_sends(ft::close, body);
  auto closed = f.lead.all<link::closed>();
  CAF_REQUIRE_EQUAL(closed.size(), 1u);
  CAF_CHECK_EQUAL(closed[0].reason, "closed by the peer: duplicate connection");
  CAF_CHECK(closed[0].duplicate);
  CAF_CHECK(f.lead.take_frames().empty()); // no answer to a CLOSE
}

CAF_TEST(closing tells the peer and ends at once) {
  fixture f;
  f.keep_both();
  f.lead.take_frames();
  f.lead.lk.close(wire::close_reason::dropped);
  f.lead.take_events();
  CAF_CHECK(f.lead.lk.is_closed());
  auto closed = f.lead.all<link::closed>();
  CAF_REQUIRE_EQUAL(closed.size(), 1u);
  CAF_CHECK_EQUAL(closed[0].reason, "dropped");
  auto out = f.pass(f.lead, f.follow);
  CAF_CHECK(types_of(out) == std::vector<ft>({ft::close}));
  auto theirs = f.follow.all<link::closed>();
  CAF_REQUIRE_EQUAL(theirs.size(), 1u);
  CAF_CHECK_EQUAL(theirs[0].reason, "closed by the peer: dropped");
  // Sends after the end are refused.
  CAF_CHECK(f.lead.lk.send(priority::normal, bytes_of("x"), 0)
            == errc::not_kept);
}

CAF_TEST(the carrier losing the connection or catching abuse ends the link) {
  fixture f;
  f.keep_both();
  f.lead.lk.handle_transport_closed("connection closed by the peer");
  f.lead.take_events();
  CAF_CHECK_EQUAL(f.lead.close_reason(),
                  "connection closed by the peer");
  fixture g;
  g.keep_both();
  g.lead.take_frames();
  g.lead.lk.handle_misbehaviour(misbehaviour::decrypt_failure, "bad tag");
  g.lead.take_events();
  CAF_CHECK(g.lead.closed_with(misbehaviour::decrypt_failure));
  CAF_CHECK_EQUAL(g.lead.close_reason(),
                  "decrypt_failure: bad tag");
  CAF_CHECK(types_of(g.lead.take_frames()) == std::vector<ft>({ft::close}));
}
