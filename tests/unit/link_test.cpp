// The link (transports/link): selection, sending, batching, the plain
// senders' accounting, peer exchange, OBSERVED and ENDPOINTS. Its refusals and
// closing, its timers and its unordered lanes have files of their own.
#define CAF_SUITE link
#include "tests/unit/link_pair.hpp"

CAF_TEST(two links identify and the leader selects) {
  fixture f;
  f.identify();
  CAF_CHECK_EQUAL(f.lead.all<link::identified>().size(), 1u);
  CAF_CHECK(f.lead.all<link::identified>()[0].remote.id == f.follow.id);
  CAF_CHECK(f.lead.lk.state() == link::phase::negotiating);
  f.lead.lk.select();
  auto sent = f.pass(f.lead, f.follow);
  CAF_CHECK(types_of(sent) == std::vector<ft>({ft::select, ft::observed}));
  CAF_CHECK_EQUAL(text_of(sent[1].body), "127.0.0.1:4000");
  CAF_CHECK_EQUAL(f.follow.all<link::selected_by_peer>().size(), 1u);
  auto observed = f.follow.all<link::observed>();
  CAF_REQUIRE_EQUAL(observed.size(), 1u);
  CAF_CHECK_EQUAL(observed[0].address, "127.0.0.1:4000");
  CAF_CHECK(types_of(f.pass(f.follow, f.lead))
            == std::vector<ft>({ft::observed}));
  CAF_CHECK(f.lead.lk.state() == link::phase::undecided);
  CAF_CHECK(f.follow.lk.state() == link::phase::undecided);
}

CAF_TEST(sends wait for keep and then arrive in order) {
  fixture f;
  f.select();
  CAF_CHECK(f.follow.lk.send(priority::normal, bytes_of("early"), 0)
            == errc::not_kept);
  f.follow.lk.keep();
  for (auto text : {"one", "two", "three"})
    CAF_CHECK(f.follow.lk.send(priority::normal, bytes_of(text), 0)
              == errc::none);
  f.pass(f.follow, f.lead);
  // Undecided: held, not delivered.
  CAF_CHECK(f.lead.messages().empty());
  CAF_CHECK(f.lead.lk.keep());
  f.lead.take_events();
  CAF_CHECK(f.lead.messages()
            == std::vector<std::string>({"one", "two", "three"}));
  CAF_CHECK(!f.lead.lk.keep()); // once
}

CAF_TEST(an undecided peer past its allowance halts reading until keep) {
  fixture f;
  f.select();
  f.follow.lk.keep();
  f.follow.lk.send(priority::normal, std::vector<uint8_t>(60, 'a'), 0);
  f.pass(f.follow, f.lead);
  CAF_CHECK(!f.lead.lk.input_halted());
  f.follow.lk.send(priority::normal, std::vector<uint8_t>(60, 'b'), 0);
  f.pass(f.follow, f.lead);
  CAF_CHECK(f.lead.lk.input_halted());
  CAF_CHECK(!f.lead.lk.wants_input());
  f.lead.lk.keep();
  f.lead.take_events();
  CAF_CHECK(!f.lead.lk.input_halted());
  CAF_CHECK_EQUAL(f.lead.messages().size(), 2u);
}

CAF_TEST(small messages sent together leave as one BATCH and arrive apart) {
  fixture f;
  f.keep_both();
  for (auto text : {"a", "bb", "ccc", "dddd"})
    f.follow.lk.send(priority::normal, bytes_of(text), 0);
  auto sent = f.pass(f.follow, f.lead);
  CAF_CHECK(types_of(sent) == std::vector<ft>({ft::batch}));
  CAF_CHECK(f.lead.messages()
            == std::vector<std::string>({"a", "bb", "ccc", "dddd"}));
  // A lone message goes as DATA.
  f.follow.lk.send(priority::normal, bytes_of("alone"), 0);
  CAF_CHECK(types_of(f.pass(f.follow, f.lead)) == std::vector<ft>({ft::data}));
}

CAF_TEST(without batching every chunk is its own DATA on its lane) {
  fixture f{true};
  f.keep_both();
  f.follow.lk.send(priority::normal, bytes_of("n1"), 0);
  f.follow.lk.send(priority::high, bytes_of("h1"), 0);
  auto sent = f.pass(f.follow, f.lead);
  CAF_REQUIRE_EQUAL(sent.size(), 2u);
  CAF_CHECK(sent[0].type == ft::data && sent[0].lane == 0); // high first
  CAF_CHECK(sent[1].type == ft::data && sent[1].lane == 1);
  CAF_CHECK(f.lead.messages() == std::vector<std::string>({"h1", "n1"}));
}

CAF_TEST(plain senders hear what of theirs left and their slots go idle) {
  fixture f;
  f.keep_both();
  f.follow.lk.send(priority::normal, std::vector<uint8_t>(10, 'x'), 1);
  f.follow.lk.send(priority::normal, std::vector<uint8_t>(20, 'y'), 2);
  f.follow.lk.send(priority::high, std::vector<uint8_t>(5, 'z'), 1);
  CAF_CHECK(!f.follow.lk.slot_idle(1));
  f.pass(f.follow, f.lead);
  f.follow.take_events();
  auto sent = f.follow.all<link::sent>();
  CAF_REQUIRE_EQUAL(sent.size(), 2u);
  CAF_CHECK_EQUAL(sent[0].slot, 1u);
  CAF_CHECK_EQUAL(sent[0].bytes, 15u);
  CAF_CHECK_EQUAL(sent[1].slot, 2u);
  CAF_CHECK_EQUAL(sent[1].bytes, 20u);
  CAF_CHECK(f.follow.lk.slot_idle(1));
  CAF_CHECK(f.follow.lk.slot_idle(2));
  f.follow.take_events();
  CAF_CHECK_EQUAL(f.follow.all<link::sent>().size(), 2u); // no more
}

CAF_TEST(a full queue and an oversized message are refused) {
  fixture f;
  f.keep_both();
  auto s = settings_for(filled_id(3), false);
  s.send_queue_size = 64;
  s.max_message_size = 64;
  link small{s, f.now};
  small.admit();
  small.handle_established(hello{filled_id(9), 1, false});
  small.select();
  small.keep();
  CAF_CHECK(small.send(priority::normal, std::vector<uint8_t>(40), 1)
            == errc::none);
  std::vector<uint8_t> thirty(30);
  CAF_CHECK(small.send(priority::normal, std::move(thirty), 1)
            == errc::send_queue_full);
  CAF_CHECK_EQUAL(thirty.size(), 30u); // the bytes stay the caller's
  CAF_CHECK(small.send(priority::normal, std::vector<uint8_t>(65), 1)
            == errc::message_too_large);
}

CAF_TEST(peer exchange is answered after keep and once per interval) {
  fixture f;
  f.select();
  f.follower_sends(ft::peers_request, {});
  CAF_CHECK(f.lead.all<link::peers_requested>().empty()); // not kept yet
  f.lead.lk.keep();
  f.lead.take_events();
  CAF_CHECK_EQUAL(f.lead.all<link::peers_requested>().size(), 1u);
  f.follower_sends(ft::peers_request, {});
  CAF_CHECK_EQUAL(f.lead.all<link::peers_requested>().size(), 1u);
  f.now += 10s;
  f.follower_sends(ft::peers_request, {});
  CAF_CHECK_EQUAL(f.lead.all<link::peers_requested>().size(), 2u);
  // Only the sample we asked for is passed on.
  f.follower_sends(ft::peers, {1, 2, 3});
  CAF_CHECK(f.lead.all<link::peers_received>().empty());
  f.lead.lk.ask_peers();
  f.lead.lk.ask_peers(); // once per answer
  CAF_CHECK(types_of(f.lead.take_frames())
            == std::vector<ft>({ft::peers_request}));
  f.follower_sends(ft::peers, {1, 2, 3});
  f.follower_sends(ft::peers, {4});
  auto got = f.lead.all<link::peers_received>();
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK(got[0].sample == std::vector<uint8_t>({1, 2, 3}));
}

CAF_TEST(observed is heard once and only when short) {
  fixture f;
  f.select();
  CAF_CHECK_EQUAL(f.lead.all<link::observed>().size(), 1u);
  f.follower_sends(ft::observed, bytes_of("10.0.0.1:9"));
  CAF_CHECK_EQUAL(f.lead.all<link::observed>().size(), 1u);
  fixture g;
  g.identify();
  g.lead.lk.select();
  g.lead.take_frames();
  g.follower_sends(ft::observed, std::vector<uint8_t>(65, '1'));
  CAF_CHECK(g.lead.all<link::observed>().empty());
  g.follower_sends(ft::observed, bytes_of("1.2.3.4:5"));
  CAF_CHECK_EQUAL(g.lead.all<link::observed>().size(), 1u);
}

CAF_TEST(endpoints are told to kept peers and heard at most once a second) {
  fixture f;
  f.select();
  f.lead.take_frames();
  // Before keep: nothing is sent, and the peer's word is not heard.
  f.lead.lk.send_endpoints({"tcp://192.0.2.1:4100"});
  CAF_CHECK(f.lead.take_frames().empty());
  auto body = wire::encode_endpoints({"tcp://192.0.2.1:4100",
                                      "udp://192.0.2.1:4101"});
  f.follower_sends(ft::endpoints, body);
  CAF_CHECK(f.lead.all<link::endpoints_heard>().empty());
  f.lead.lk.keep();
  f.lead.take_events();
  // Kept: sent within the bounds (empty and oversize entries left out,
  // no more than eight).
  std::vector<std::string> many{"", std::string(97, 'x')};
  for (int i = 0; i < 10; ++i)
    many.push_back("tcp://192.0.2.1:" + std::to_string(4100 + i));
  f.lead.lk.send_endpoints(many);
  auto out = f.lead.take_frames();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].type == ft::endpoints);
  auto sent = wire::decode_endpoints(out[0].body.data(), out[0].body.size());
  CAF_REQUIRE(sent);
  CAF_REQUIRE_EQUAL(sent->size(), wire::max_endpoints_entries);
  CAF_CHECK_EQUAL(sent->front(), "tcp://192.0.2.1:4100");
  f.lead.lk.send_endpoints({""}); // nothing worth a frame
  CAF_CHECK(f.lead.take_frames().empty());
  // Heard: the entries as they came, then nothing more within a second.
  f.follower_sends(ft::endpoints, body);
  auto heard = f.lead.all<link::endpoints_heard>();
  CAF_REQUIRE_EQUAL(heard.size(), 1u);
  CAF_CHECK(heard[0].endpoints
            == std::vector<std::string>({"tcp://192.0.2.1:4100",
                                         "udp://192.0.2.1:4101"}));
  f.now += 999ms;
  f.follower_sends(ft::endpoints, body);
  CAF_CHECK_EQUAL(f.lead.all<link::endpoints_heard>().size(), 1u);
  f.now += 1ms;
  f.follower_sends(ft::endpoints, body);
  CAF_CHECK_EQUAL(f.lead.all<link::endpoints_heard>().size(), 2u);
  CAF_CHECK(!f.lead.lk.is_closed());
}
