#define CAF_SUITE rendezvous
#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "crust/errors.hpp"
#include "nat/punch/rendezvous.hpp"

using namespace crust;
using json = nlohmann::json;

namespace {

struct fixture {
  fixture() : alice(make()), bob(make()) {
    half.attempt.fill(0x11);
    half.key.fill(0x22);
    half.mapping = nat_mapping::endpoint_independent;
    half.caps = cap_tcp | cap_udp;
    half.candidates = {
      {transport::tcp, {"192.168.1.20", 5483}, candidate_kind::host, 7},
      {transport::rudp, {"198.18.0.1", 5484}, candidate_kind::reflexive, 5},
      {transport::tcp, {"2001:db8::1", 5483}, candidate_kind::port_guess, 3},
    };
  }

  static identity make() {
    if (sodium_init() < 0)
      abort();
    return identity::ephemeral();
  }

  // Alice's half, altered by `edit`, read back on "net".
  template <class Edit>
  std::string refusal(Edit edit) {
    auto j = json::parse(encode_rendezvous(alice, "net", half));
    edit(j);
    auto r = decode_rendezvous("net", j.dump());
    CAF_REQUIRE(!r);
    return error_detail(r.error()).value_or("");
  }

  identity alice;
  identity bob;
  rendezvous half;
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(rendezvous_tests, fixture)

CAF_TEST(a half reads back as written) {
  auto text = encode_rendezvous(alice, "net", half);
  auto j = json::parse(text);
  CAF_CHECK_EQUAL(j["peer_id"], alice.id().to_hex());
  CAF_CHECK_EQUAL(j["candidates"][0]["endpoint"], "tcp://192.168.1.20:5483");
  CAF_CHECK_EQUAL(j["candidates"][1]["endpoint"], "udp://198.18.0.1:5484");
  CAF_CHECK_EQUAL(j["caps"], json::array({"tcp", "udp"}));
  auto r = decode_rendezvous("net", text);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->peer, alice.id());
  CAF_CHECK(r->attempt == half.attempt);
  CAF_CHECK(r->key == half.key);
  CAF_CHECK(r->mapping == half.mapping);
  CAF_CHECK_EQUAL(r->caps, half.caps);
  CAF_REQUIRE_EQUAL(r->candidates.size(), 3u);
  CAF_CHECK(r->candidates == half.candidates);
  // Key order and spacing are the carrier's business.
  CAF_CHECK(decode_rendezvous("net", j.dump(2)));
}

CAF_TEST(an altered half or another network does not verify) {
  CAF_CHECK(has(refusal([](json& j) {
                  j["candidates"][0]["endpoint"] = "tcp://203.0.113.5:5483";
                }),
                "signature"));
  CAF_CHECK(has(refusal([](json& j) { j["caps"] = {"tcp"}; }), "signature"));
  CAF_CHECK(has(refusal([&](json& j) { j["peer_id"] = bob.id().to_hex(); }),
                "signature"));
  auto text = encode_rendezvous(alice, "net", half);
  auto other = decode_rendezvous("other-net", text);
  CAF_REQUIRE(!other);
  CAF_CHECK(has(error_detail(other.error()).value_or(""), "signature"));
}

CAF_TEST(malformed halves are refused with what is wrong) {
  CAF_CHECK(has(refusal([](json& j) { j["extra"] = 1; }), "unknown field"));
  CAF_CHECK(has(refusal([](json& j) { j.erase("key"); }), "no \"key\""));
  CAF_CHECK(has(refusal([](json& j) { j["attempt"] = "00ff"; }), "attempt"));
  CAF_CHECK(has(refusal([](json& j) { j["key"] = std::string(64, 'g'); }),
                "key"));
  CAF_CHECK(has(refusal([](json& j) { j["mapping"] = "sideways"; }),
                "mapping"));
  CAF_CHECK(has(refusal([](json& j) { j["caps"] = {"tcp", "tcp"}; }), "caps"));
  CAF_CHECK(has(refusal([](json& j) { j["caps"] = "tcp"; }), "caps"));
  CAF_CHECK(has(refusal([](json& j) {
                  j["candidates"][0]["endpoint"] = "tcp://example.com:1";
                }),
                "endpoint"));
  CAF_CHECK(has(refusal([](json& j) { j["candidates"][0]["kind"] = "near"; }),
                "kind"));
  CAF_CHECK(has(refusal([](json& j) {
                  j["candidates"][0]["priority"] = -1;
                }),
                "candidate"));
  CAF_CHECK(has(refusal([](json& j) {
                  for (int i = 0; i < 40; ++i)
                    j["candidates"].push_back(j["candidates"][0]);
                }),
                "at most"));
  for (auto text : {"", "[]", "{", "null", "{\"peer_id\":1}"})
    CAF_CHECK(!decode_rendezvous("net", text));
  CAF_CHECK(!decode_rendezvous("net", std::string(max_rendezvous_size + 1, ' ')));
}

CAF_TEST(two halves make the same attempt on both sides) {
  rendezvous other = half;
  other.attempt.fill(0x33);
  other.key.fill(0x44);
  auto a = decode_rendezvous("net", encode_rendezvous(alice, "net", half));
  auto b = decode_rendezvous("net", encode_rendezvous(bob, "net", other));
  CAF_REQUIRE(a && b);
  auto at_alice = combine(*a, *b);
  auto at_bob = combine(*b, *a);
  CAF_CHECK(at_alice.id == at_bob.id);
  CAF_CHECK(at_alice.key == at_bob.key);
  CAF_CHECK_NOT_EQUAL(at_alice.we_offer, at_bob.we_offer);
  CAF_CHECK_EQUAL(at_alice.we_offer, alice.id() < bob.id());
  // Neither side's own id or key share is the attempt's.
  CAF_CHECK(at_alice.id != half.attempt && at_alice.id != other.attempt);
  CAF_CHECK(at_alice.key != half.key && at_alice.key != other.key);
  // Each side reads the other's half as the attempt reads a signal.
  CAF_CHECK(at_alice.theirs.attempt == at_alice.id);
  CAF_CHECK(at_alice.theirs.candidates == other.candidates);
  CAF_CHECK(at_bob.theirs.candidates == half.candidates);
}

CAF_TEST_FIXTURE_SCOPE_END()
