// The service's connection lifecycle on the deterministic scheduler:
// handshake and SELECT, keep and drop, messages and sends, decision and
// heartbeat timeouts, duplicates, restarts, crashed children.
#define CAF_SUITE service
#include "tests/unit/service_fixture.hpp"

CAF_TEST_FIXTURE_SCOPE(service_tests, fixture)

CAF_TEST(the handshake proves the ids and a leader selects the connection) {
  auto peer = peer_identity(false);
  auto r = dial_in(2, peer);
  CAF_CHECK(r->got.established);
  CAF_CHECK(r->ch.remote().id == local);
  CAF_CHECK(node_sent(*r, frame_type::select));
  CAF_REQUIRE_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().peers[0].peer == peer.id());
  CAF_CHECK(events().peers[0].info.inbound);
}

CAF_TEST(a follower waits for select before reporting the peer) {
  auto peer = peer_identity(true);
  auto r = dial_in(2, peer);
  CAF_CHECK(events().peers.empty());
  CAF_CHECK(!node_sent(*r, frame_type::select));
  peer_sends(*r, frame_type::select);
  CAF_REQUIRE_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().peers[0].peer == peer.id());
}

CAF_TEST(messages of a kept peer reach the handler and sends reach the peer) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  data_from(*r, "hi");
  CAF_REQUIRE_EQUAL(events().msgs.size(), 1u);
  CAF_CHECK(events().msgs[0].peer == peer.id());
  CAF_CHECK(events().msgs[0].bytes == (std::vector<uint8_t>{'h', 'i'}));
  CAF_CHECK(!send_result(peer.id(), "yo"));
  read_node(*r);
  CAF_REQUIRE(!r->got.bodies.empty());
  CAF_CHECK(r->got.types.back() == frame_type::data);
  CAF_CHECK(r->got.bodies.back()
            == (std::vector<uint8_t>{crust::wire::flag_last
                                       | crust::wire::flag_normal,
                                     'y', 'o'}));
}

CAF_TEST(small messages sent together leave as one BATCH record) {
  auto peer = peer_identity(false);
  auto r = kept_peer(2, peer);
  for (uint8_t i = 0; i < 5; ++i)
    self->send(svc, crust::send{peer.id(), {uint8_t('a' + i), i},
                                crust::priority::normal});
  run();
  read_node(*r);
  CAF_REQUIRE_EQUAL(r->got.types.size(), 1u);
  CAF_REQUIRE(r->got.types[0] == frame_type::batch);
  auto& body = r->got.bodies[0];
  crust::wire::batch_reader items{body.data(), body.size()};
  const uint8_t* item = nullptr;
  size_t size = 0;
  uint8_t n = 0;
  while (items.next(item, size)) {
    CAF_REQUIRE_EQUAL(size, 3u);
    CAF_CHECK_EQUAL(item[0], crust::wire::flag_last | crust::wire::flag_normal);
    CAF_CHECK_EQUAL(item[1], 'a' + n);
    CAF_CHECK_EQUAL(item[2], n);
    ++n;
  }
  CAF_CHECK(!items.malformed());
  CAF_CHECK_EQUAL(n, 5u);
}

CAF_TEST(a BATCH from the peer arrives as separate messages in order) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  std::vector<char> body;
  std::string texts[] = {"one", "two", "three"};
  for (auto& t : texts)
    crust::wire::append_batch_item(
      body, crust::wire::flag_last | crust::wire::flag_normal,
      reinterpret_cast<const uint8_t*>(t.data()), t.size());
  // A message may also start in a batch and end in a DATA frame.
  std::string head = "four ";
  crust::wire::append_batch_item(body, crust::wire::flag_normal,
                                 reinterpret_cast<const uint8_t*>(head.data()),
                                 head.size());
  peer_sends(*r, frame_type::batch, {body.begin(), body.end()});
  data_from(*r, "and more");
  CAF_REQUIRE_EQUAL(events().msgs.size(), 4u);
  std::string want[] = {"one", "two", "three", "four and more"};
  for (size_t i = 0; i < 4; ++i)
    CAF_CHECK_EQUAL(std::string(events().msgs[i].bytes.begin(),
                                events().msgs[i].bytes.end()),
                    want[i]);
}

CAF_TEST(a malformed BATCH is a protocol violation) {
  std::vector<std::vector<uint8_t>> bodies = {
    {},                                  // no item
    {0x00, 0x05, 0x03, 'a'},             // an item cut short
    {0x00, 0x00},                        // an empty item
    {0x00, 0x02, 0x03, 'a', 0x00},       // a stray byte after the items
  };
  int conn = 2;
  for (auto& body : bodies) {
    auto peer = peer_identity(false);
    auto r = selected_peer(conn++, peer);
    keep(peer.id());
    auto before = events().abuse.size();
    peer_sends(*r, frame_type::batch, body);
    CAF_REQUIRE_EQUAL(events().abuse.size(), before + 1);
    CAF_CHECK(events().abuse.back().kind
              == crust::misbehaviour::protocol_violation);
  }
  CAF_CHECK(events().msgs.empty());
}

CAF_TEST(messages of an undecided peer wait for keep) {
  auto peer = peer_identity(true);
  auto r = selected_peer(2, peer);
  data_from(*r, "early");
  CAF_CHECK(events().msgs.empty());
  keep(peer.id());
  CAF_REQUIRE_EQUAL(events().msgs.size(), 1u);
}

CAF_TEST(send to an unkept or unknown peer is an error reply) {
  auto peer = peer_identity(false);
  selected_peer(2, peer);
  CAF_CHECK(send_result(peer.id(), "x")
            == crust::make_error(crust::errc::not_kept));
  CAF_CHECK(send_result(identity::ephemeral().id(), "x")
            == crust::make_error(crust::errc::unknown_peer));
}

CAF_TEST(drop closes the connection with reason dropped) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  self->send(svc, crust::drop{peer.id()});
  run();
  CAF_CHECK(wrote_close(*r, crust::wire::close_reason::dropped));
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "dropped"));
}

CAF_TEST(an undecided peer is closed after the decision timeout) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  advance_time(1s);
  run();
  CAF_CHECK(wrote_close(*r, crust::wire::close_reason::timeout));
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "no keep/drop decision"));
}

CAF_TEST(a kept peer is not closed by the decision timeout) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  advance_time(1s);
  run();
  CAF_CHECK(events().lost.empty());
}

CAF_TEST(a second connection of the same session is closed as duplicate) {
  auto peer = peer_identity(false);
  auto first = selected_peer(2, peer, 1);
  auto second = selected_peer(3, peer, 1);
  CAF_CHECK(wrote_close(*second, crust::wire::close_reason::duplicate));
  CAF_CHECK(!wrote_close(*first, crust::wire::close_reason::duplicate));
  CAF_CHECK_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().lost.empty());
  keep(peer.id());
  data_from(*first, "still here");
  CAF_CHECK_EQUAL(events().msgs.size(), 1u);
}

CAF_TEST(a restarted peer supersedes its old connection) {
  auto peer = peer_identity(false);
  auto first = selected_peer(2, peer, 1);
  selected_peer(3, peer, 2);
  CAF_CHECK(wrote_close(*first, crust::wire::close_reason::superseded));
  CAF_CHECK_EQUAL(events().peers.size(), 2u);
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "superseded"));
}

CAF_TEST(a crashed connection actor is reported as a lost peer) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  data_from(*r, "x");
  CAF_REQUIRE(events().msg_sender);
  anon_send_exit(events().msg_sender, exit_reason::kill);
  run();
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "connection actor failed"));
}

CAF_TEST(silence before the handshake is a handshake timeout) {
  auto conn = accept(2);
  advance_time(3s);
  run();
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::handshake_timeout);
  CAF_CHECK(mpx.output_buffer(conn).empty());
}

CAF_TEST(a silent peer is lost after the heartbeat timeout) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  size_t pings = 0;
  for (int i = 0; i < 5 && events().lost.empty(); ++i) {
    advance_time(5s);
    run();
    read_node(*r);
  }
  for (auto t : r->got.types)
    pings += t == frame_type::ping;
  CAF_CHECK_GREATER_OR_EQUAL(pings, 2u);
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "heartbeat"));
}

CAF_TEST(a peer that keeps talking is not lost) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  for (int i = 0; i < 6; ++i) {
    peer_sends(*r, frame_type::ping);
    advance_time(5s);
    run();
  }
  CAF_CHECK(events().lost.empty());
}

CAF_TEST(a peer dialling itself is refused) {
  auto r = dial_in(2, *node_identity, 99);
  CAF_CHECK(wrote_close(*r, crust::wire::close_reason::self));
  CAF_CHECK(events().peers.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
