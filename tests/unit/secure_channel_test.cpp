#define CAF_SUITE secure_channel
#include <caf/test/unit_test.hpp>

#include "tests/unit/channel_pair.hpp"

using namespace crust;
using crust::test::channel_settings;
using crust::test::deliver;
using crust::test::handshake;
using crust::test::received;

namespace {

struct pair_fixture {
  identity ia = identity::ephemeral();
  identity ib = identity::ephemeral();
  secure_channel a{channel_settings(ia, true, 11)};
  secure_channel b{channel_settings(ib, false, 22)};
  received ga, gb;

  void connect() {
    handshake(a, b, ga, gb);
    CAF_REQUIRE(ga.established && gb.established);
  }

  std::vector<char> sealed(secure_channel& ch, const std::string& text) {
    std::vector<char> out;
    uint8_t flags = wire::flag_last;
    CAF_REQUIRE(ch.seal(wire::frame_type::data, &flags, 1,
                        reinterpret_cast<const uint8_t*>(text.data()),
                        text.size(), out));
    return out;
  }
};

} // namespace

namespace crust::test {

// What each side heard of the other's bootstrapping flag, when only the
// initiator sets it (or not).
std::pair<bool, bool> handshake_flags(bool initiator_bootstraps) {
  auto ia = identity::ephemeral();
  auto ib = identity::ephemeral();
  auto sa = channel_settings(ia, true);
  sa.local.bootstrapping = initiator_bootstraps;
  secure_channel a{sa};
  secure_channel b{channel_settings(ib, false)};
  received ga, gb;
  handshake(a, b, ga, gb);
  CAF_REQUIRE(ga.established && gb.established);
  return {b.remote().bootstrapping, a.remote().bootstrapping};
}

} // namespace crust::test

CAF_TEST_FIXTURE_SCOPE(secure_channel_tests, pair_fixture)

CAF_TEST(the handshake proves both peer ids and sessions) {
  connect();
  CAF_CHECK(a.remote().id == ib.id());
  CAF_CHECK(b.remote().id == ia.id());
  CAF_CHECK_EQUAL(a.remote().session, 22u);
  CAF_CHECK_EQUAL(b.remote().session, 11u);
}

CAF_TEST(hello tells whether the sender is bootstrapping) {
  CAF_CHECK(!test::handshake_flags(false).first);
  auto flags = test::handshake_flags(true);
  CAF_CHECK(flags.first);   // the responder heard the initiator bootstraps
  CAF_CHECK(!flags.second); // the responder does not
}

CAF_TEST(frames travel both ways) {
  connect();
  std::vector<char> reply;
  deliver(b, sealed(a, "to b"), gb, reply);
  deliver(a, sealed(b, "to a"), ga, reply);
  CAF_REQUIRE_EQUAL(gb.bodies.size(), 1u);
  CAF_CHECK(gb.types[0] == wire::frame_type::data);
  CAF_CHECK_EQUAL(std::string(gb.bodies[0].begin() + 1, gb.bodies[0].end()),
                  "to b");
  CAF_REQUIRE_EQUAL(ga.bodies.size(), 1u);
}

CAF_TEST(one flipped bit fails authentication) {
  connect();
  auto rec = sealed(a, "hello");
  rec[rec.size() / 2] ^= 0x10;
  std::vector<char> reply;
  deliver(b, rec, gb, reply);
  CAF_CHECK(gb.failed);
  CAF_CHECK(b.kind() == misbehaviour::decrypt_failure);
}

CAF_TEST(a replayed record fails authentication) {
  connect();
  auto rec = sealed(a, "once");
  std::vector<char> reply;
  deliver(b, rec, gb, reply);
  CAF_CHECK(!gb.failed);
  deliver(b, rec, gb, reply);
  CAF_CHECK(gb.failed);
  CAF_CHECK(b.kind() == misbehaviour::decrypt_failure);
}

CAF_TEST(reordered records fail authentication) {
  connect();
  auto first = sealed(a, "first");
  auto second = sealed(a, "second");
  std::vector<char> reply;
  deliver(b, second, gb, reply);
  CAF_CHECK(gb.failed);
  CAF_CHECK(b.kind() == misbehaviour::decrypt_failure);
}

CAF_TEST(a truncated record waits for the rest) {
  connect();
  auto rec = sealed(a, "split me");
  std::vector<char> head(rec.begin(), rec.begin() + 5);
  std::vector<char> tail(rec.begin() + 5, rec.end());
  std::vector<char> reply;
  deliver(b, head, gb, reply);
  CAF_CHECK(gb.bodies.empty() && !gb.failed);
  deliver(b, tail, gb, reply);
  CAF_CHECK_EQUAL(gb.bodies.size(), 1u);
}

CAF_TEST(an oversize length is refused before its body arrives) {
  auto s = channel_settings(ib, false);
  s.max_record = 1024;
  secure_channel small{s};
  std::vector<char> hdr{0x04, 0x01}; // 1025
  received got;
  std::vector<char> reply;
  deliver(small, hdr, got, reply);
  CAF_CHECK(got.failed);
  CAF_CHECK(small.kind() == misbehaviour::oversize);
  CAF_CHECK_EQUAL(small.buffered(), 0u);
}

CAF_TEST(garbage instead of a handshake is handshake_invalid) {
  std::vector<char> junk{0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};
  std::vector<char> reply;
  deliver(b, junk, gb, reply);
  CAF_CHECK(gb.failed);
  CAF_CHECK(b.kind() == misbehaviour::handshake_invalid);
  CAF_CHECK(reply.empty()); // silence to strangers
}

CAF_TEST(a pinned peer id that does not answer fails the handshake) {
  auto s = channel_settings(ia, true);
  s.expected = identity::ephemeral().id();
  secure_channel pinned{s};
  received gp;
  handshake(pinned, b, gp, gb);
  CAF_CHECK(gp.failed);
  CAF_CHECK(!gp.established);
  CAF_CHECK(pinned.detail().find("expected peer") != std::string::npos);
}

CAF_TEST(different networks never connect) {
  auto s = channel_settings(ia, true);
  s.network_name = "other";
  secure_channel stranger{s};
  received gs;
  handshake(stranger, b, gs, gb);
  CAF_CHECK(gs.failed || gb.failed);
  CAF_CHECK(!gs.established && !gb.established);
}

CAF_TEST(a claimed id that does not match the static key fails) {
  auto s = channel_settings(ia, true);
  s.local.id = identity::ephemeral().id(); // claims someone else's id
  secure_channel liar{s};
  received gl;
  handshake(liar, b, gl, gb);
  CAF_CHECK(gb.failed);
  CAF_CHECK(b.kind() == misbehaviour::handshake_invalid);
  CAF_CHECK(!gb.established);
}

CAF_TEST(rekeying keeps both sides in step) {
  auto sa = channel_settings(ia, true);
  auto sb = channel_settings(ib, false);
  sa.rekey_interval = sb.rekey_interval = 3;
  secure_channel x{sa}, y{sb};
  received gx, gy;
  handshake(x, y, gx, gy);
  CAF_REQUIRE(gx.established && gy.established);
  std::vector<char> reply;
  for (int i = 0; i < 10; ++i) {
    deliver(y, sealed(x, "x" + std::to_string(i)), gy, reply);
    deliver(x, sealed(y, "y" + std::to_string(i)), gx, reply);
  }
  CAF_CHECK(!gx.failed && !gy.failed);
  CAF_CHECK_EQUAL(gy.bodies.size(), 10u);
  CAF_CHECK_EQUAL(gx.bodies.size(), 10u);
}

CAF_TEST(an unknown frame type is a protocol violation) {
  connect();
  std::vector<char> rec;
  CAF_REQUIRE(a.seal(static_cast<wire::frame_type>(0x01), nullptr, 0, nullptr,
                     0, rec));
  std::vector<char> reply;
  deliver(b, rec, gb, reply);
  CAF_CHECK(gb.failed);
  CAF_CHECK(b.kind() == misbehaviour::protocol_violation);
}

CAF_TEST(plaintext and peer ids never appear on the wire) {
  std::vector<char> wire_bytes;
  std::vector<char> to_b, to_a;
  a.start(to_b);
  wire_bytes.insert(wire_bytes.end(), to_b.begin(), to_b.end());
  deliver(b, to_b, gb, to_a);
  wire_bytes.insert(wire_bytes.end(), to_a.begin(), to_a.end());
  to_b.clear();
  deliver(a, to_a, ga, to_b);
  wire_bytes.insert(wire_bytes.end(), to_b.begin(), to_b.end());
  std::vector<char> none;
  deliver(b, to_b, gb, none);
  CAF_REQUIRE(ga.established && gb.established);
  auto rec = sealed(a, "the secret plans");
  wire_bytes.insert(wire_bytes.end(), rec.begin(), rec.end());
  auto contains = [&](const uint8_t* p, size_t n) {
    std::string hay(wire_bytes.begin(), wire_bytes.end());
    return hay.find(std::string(reinterpret_cast<const char*>(p), n))
           != std::string::npos;
  };
  std::string secret = "the secret plans";
  CAF_CHECK(!contains(reinterpret_cast<const uint8_t*>(secret.data()),
                      secret.size()));
  CAF_CHECK(!contains(ia.id().bytes.data(), 32));
  CAF_CHECK(!contains(ib.id().bytes.data(), 32));
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(hello round trips and refuses wrong sizes and unknown flags) {
  crust::hello h;
  h.id.bytes.fill(7);
  h.session = 0x0102030405060708;
  h.bootstrapping = true;
  auto bytes = crust::encode_hello(h);
  std::string why;
  auto back = crust::decode_hello(bytes, why);
  CAF_REQUIRE(back);
  CAF_CHECK(back->id == h.id);
  CAF_CHECK_EQUAL(back->session, h.session);
  CAF_CHECK(back->bootstrapping);
  auto flagged = bytes;
  flagged.back() |= 0x80;
  CAF_CHECK(!crust::decode_hello(flagged, why));
  CAF_CHECK_EQUAL(why, "unknown HELLO flags 129");
  bytes.pop_back();
  CAF_CHECK(!crust::decode_hello(bytes, why));
  CAF_CHECK_EQUAL(why, "handshake payload of 40 bytes");
}
