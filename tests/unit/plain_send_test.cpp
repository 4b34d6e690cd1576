// Sends without an answer each (plain sends), on the deterministic
// scheduler: the sender hears `sent` per write instead of an answer per
// message, and a send that cannot be queued comes back with its bytes.
#define CAF_SUITE service
#include "tests/unit/service_fixture.hpp"

namespace {

std::vector<uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(plain_send_tests, fixture)

CAF_TEST(plain sends are confirmed by one sent per write and no answer each) {
  auto peer = peer_identity(false);
  auto r = kept_peer(2, peer);
  CAF_CHECK_EQUAL(events().peers.at(0).window,
                  crust::service_options{}.send_queue_size);
  size_t total = 0;
  for (int i = 0; i < 20; ++i) {
    std::vector<uint8_t> m(10 + i, static_cast<uint8_t>(i));
    total += m.size();
    plain_send(peer.id(), std::move(m));
  }
  run();
  read_node(*r);
  CAF_CHECK_EQUAL(r->got.types.size(), 1u); // one BATCH
  auto got = take_replies();
  CAF_CHECK_EQUAL(got.other, 0u);
  CAF_CHECK(got.failed.empty());
  CAF_REQUIRE_EQUAL(got.sent.size(), 1u);
  CAF_CHECK(got.sent[0].peer == peer.id());
  CAF_CHECK_EQUAL(got.sent[0].bytes, total);
}

CAF_TEST(a plain send that cannot be queued comes back with its bytes) {
  auto peer = peer_identity(false);
  selected_peer(2, peer);
  // Undecided: the connection refuses.
  plain_send(peer.id(), bytes_of("not yet"));
  // No such peer: the service refuses.
  auto stranger = identity::ephemeral().id();
  plain_send(stranger, bytes_of("who?"));
  run();
  auto got = take_replies();
  CAF_CHECK(got.sent.empty());
  CAF_REQUIRE_EQUAL(got.failed.size(), 2u);
  CAF_CHECK(got.failed[0].peer == peer.id());
  CAF_CHECK(got.failed[0].bytes == bytes_of("not yet"));
  CAF_CHECK(got.failed[0].reason == crust::make_error(crust::errc::not_kept));
  CAF_CHECK(got.failed[1].peer == stranger);
  CAF_CHECK(got.failed[1].bytes == bytes_of("who?"));
  CAF_CHECK(got.failed[1].reason
            == crust::make_error(crust::errc::unknown_peer));
  // An anonymous send has no sender to return to: the handler hears it.
  anon_send(svc, crust::send{peer.id(), bytes_of("anon"),
                             crust::priority::normal});
  run();
  CAF_REQUIRE_EQUAL(events().failed.size(), 1u);
  CAF_CHECK(events().failed[0].bytes == bytes_of("anon"));
  CAF_CHECK(take_replies().failed.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

// A send queue of 64 bytes.
struct small_queue_fixture : fixture {
  small_queue_fixture()
    : fixture([](crust::service_options& o) {
        o.send_queue_size = 64;
        o.max_message_size = 64;
      }) {
    // nop
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(plain_send_queue_tests, small_queue_fixture)

CAF_TEST(plain sends past the window come back and the rest go in order) {
  auto peer = peer_identity(false);
  auto r = kept_peer(2, peer);
  CAF_CHECK_EQUAL(events().peers.at(0).window, 64u);
  // 40 + 20 fit the window; 30 more do not, nor do 65 bytes ever.
  plain_send(peer.id(), std::vector<uint8_t>(40, 'a'));
  plain_send(peer.id(), std::vector<uint8_t>(20, 'b'));
  plain_send(peer.id(), std::vector<uint8_t>(30, 'c'));
  plain_send(peer.id(), std::vector<uint8_t>(65, 'd'));
  run();
  auto got = take_replies();
  CAF_REQUIRE_EQUAL(got.failed.size(), 2u);
  CAF_CHECK(got.failed[0].bytes == std::vector<uint8_t>(30, 'c'));
  CAF_CHECK(got.failed[0].reason
            == crust::make_error(crust::errc::send_queue_full));
  CAF_CHECK(got.failed[1].bytes == std::vector<uint8_t>(65, 'd'));
  CAF_CHECK(got.failed[1].reason
            == crust::make_error(crust::errc::message_too_large));
  CAF_REQUIRE_EQUAL(got.sent.size(), 1u);
  CAF_CHECK_EQUAL(got.sent[0].bytes, 60u);
  // The window is free again: the refused bytes go now, after the others.
  plain_send(peer.id(), std::move(got.failed[0].bytes));
  run();
  got = take_replies();
  CAF_CHECK(got.failed.empty());
  CAF_REQUIRE_EQUAL(got.sent.size(), 1u);
  CAF_CHECK_EQUAL(got.sent[0].bytes, 30u);
  read_node(*r);
  std::vector<uint8_t> stream;
  for (size_t i = 0; i < r->got.types.size(); ++i) {
    auto& body = r->got.bodies[i];
    if (r->got.types[i] == frame_type::data) {
      stream.insert(stream.end(), body.begin() + 1, body.end());
      continue;
    }
    CAF_REQUIRE(r->got.types[i] == frame_type::batch);
    crust::wire::batch_reader items{body.data(), body.size()};
    const uint8_t* item = nullptr;
    size_t size = 0;
    while (items.next(item, size))
      stream.insert(stream.end(), item + 1, item + size);
  }
  CAF_REQUIRE_EQUAL(stream.size(), 90u);
  CAF_CHECK_EQUAL(stream[0], 'a');
  CAF_CHECK_EQUAL(stream[40], 'b');
  CAF_CHECK_EQUAL(stream[60], 'c');
}

CAF_TEST_FIXTURE_SCOPE_END()
