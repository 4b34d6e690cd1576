// The service defending itself on the deterministic scheduler: bad
// records and handshakes raise misbehaving, caps on handshakes in flight
// (with eviction when every slot is taken), slowloris, the blacklist.
#define CAF_SUITE service
#include "tests/unit/service_fixture.hpp"

CAF_TEST_FIXTURE_SCOPE(service_defence_tests, fixture)

CAF_TEST(an oversize record raises misbehaving and others are still served) {
  auto bad = accept(2);
  send_raw(bad, std::vector<char>{0x7f, -1}); // 32767 > 17408
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::oversize);
  CAF_CHECK(mpx.output_buffer(bad).empty()); // strangers hear nothing
  selected_peer(3, peer_identity(false));
  CAF_CHECK_EQUAL(events().peers.size(), 1u);
}

CAF_TEST(garbage instead of a handshake is handshake_invalid) {
  auto bad = accept(2);
  send_raw(bad, std::vector<char>{0x00, 0x03, 'a', 'b', 'c'});
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::handshake_invalid);
  CAF_CHECK(mpx.output_buffer(bad).empty());
}

CAF_TEST(a tampered record is a decrypt failure) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  std::vector<char> rec_bytes;
  uint8_t flags = crust::wire::flag_last;
  const uint8_t text[] = {'h', 'i'};
  CAF_REQUIRE(r->ch.seal(frame_type::data, &flags, 1, text, 2, rec_bytes));
  rec_bytes.back() ^= 0x01;
  send_raw(r->conn, rec_bytes);
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::decrypt_failure);
  CAF_CHECK(events().abuse[0].peer == peer.id());
  CAF_CHECK(events().msgs.empty());
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
}

CAF_TEST(data before select is a protocol violation) {
  auto peer = peer_identity(true);
  auto r = dial_in(2, peer);
  data_from(*r, "too soon");
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::protocol_violation);
  CAF_CHECK(events().abuse[0].peer == peer.id());
}

CAF_TEST(handshakes in flight from one address are capped) {
  std::vector<connection_handle> pending;
  for (int i = 0; i < 3; ++i)
    pending.push_back(accept(10 + i)); // admitted, silent
  CAF_CHECK(events().abuse.empty());
  auto fourth = accept(20);
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::flood);
  CAF_CHECK(contains(events().abuse[0].detail, "handshakes in flight"));
  // Refused unread: a handshake sent to it gets no answer.
  std::vector<char> first;
  crust::secure_channel ch{
    crust::test::channel_settings(identity::ephemeral(), true)};
  ch.start(first);
  send_raw(fourth, first);
  CAF_CHECK(mpx.output_buffer(fourth).empty());
  // A finished handshake makes room again.
  selected_peer(30, peer_identity(false));
  CAF_CHECK_EQUAL(events().peers.size(), 0u); // still 3 half open: refused
}

CAF_TEST(a peer dribbling a record it never finishes is lost) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  std::vector<char> rec_bytes;
  std::vector<uint8_t> body{crust::wire::flag_last | crust::wire::flag_normal};
  body.resize(1000, 'x');
  CAF_REQUIRE(r->ch.seal(frame_type::data, body.data(), body.size(), nullptr, 0,
                         rec_bytes));
  // One byte every heartbeat interval: bytes, but never a whole record.
  for (size_t i = 0; i < 6 && events().lost.empty(); ++i) {
    send_raw(r->conn, {rec_bytes[i]});
    advance_time(5s);
    run();
  }
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "heartbeat"));
  CAF_CHECK(events().msgs.empty());
}

CAF_TEST(a blacklisted peer id is closed at once and refused after its handshake) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  auto reply = self->request(svc, infinite,
                             crust::blacklist{{peer.id().to_hex()}});
  run();
  uint64_t closed = 0;
  reply.receive([&](uint64_t n) { closed = n; }, [](error&) {});
  CAF_CHECK_EQUAL(closed, 1u);
  CAF_CHECK(wrote_close(*r, crust::wire::close_reason::refused));
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "blacklisted"));
  auto again = dial_in(3, peer, 2);
  CAF_CHECK(wrote_close(*again, crust::wire::close_reason::refused));
  CAF_CHECK_EQUAL(events().peers.size(), 1u); // only the first time
}

CAF_TEST(a bad blacklist entry is an error reply) {
  auto reply = self->request(svc, infinite, crust::blacklist{{"nonsense"}});
  run();
  error err;
  reply.receive([](uint64_t) {}, [&](error& e) { err = std::move(e); });
  CAF_CHECK(err);
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

struct two_slot_fixture : fixture {
  two_slot_fixture()
    : fixture([](crust::service_options& o) {
        o.max_half_open = 2;
        o.max_half_open_per_ip = 8;
      }) {
    // nop
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(handshake_slot_tests, two_slot_fixture)

CAF_TEST(with every handshake slot taken the oldest half open makes room) {
  accept(10); // silent: holds a slot
  accept(11); // likewise: now every slot is taken
  CAF_CHECK(events().abuse.empty());
  auto peer = peer_identity(false);
  auto r = selected_peer(12, peer);
  CAF_REQUIRE_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().peers[0].peer == peer.id());
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::flood);
  CAF_CHECK(contains(events().abuse[0].detail, "evicted"));
  // Finished handshakes free their slots: one left for a newcomer...
  selected_peer(13, peer_identity(false));
  CAF_CHECK_EQUAL(events().peers.size(), 2u);
  CAF_CHECK_EQUAL(events().abuse.size(), 1u);
  // ...and when a silent one takes it, the next newcomer evicts the oldest.
  accept(14);
  selected_peer(15, peer_identity(false));
  CAF_CHECK_EQUAL(events().peers.size(), 3u);
  CAF_CHECK_EQUAL(events().abuse.size(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
