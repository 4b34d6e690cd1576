#define CAF_SUITE peer_exchange
#include <caf/test/unit_test.hpp>

#include <sodium.h>

#include "discovery/peer_exchange.hpp"
#include "transports/wire.hpp"

using namespace crust;

namespace {

std::vector<exchange_entry> sample(size_t n) {
  std::vector<exchange_entry> result;
  for (size_t i = 0; i < n; ++i)
    result.push_back(exchange_entry{
      peer_id::random(),
      endpoint{transport::tcp, "192.0.2.1", static_cast<uint16_t>(1000 + i),
               caf::none}});
  return result;
}

} // namespace

CAF_TEST(a signed sample reads back from its sender) {
  CAF_REQUIRE(sodium_init() >= 0);
  auto me = identity::ephemeral();
  auto entries = sample(3);
  auto body = encode_peers(me, "net", 1700000000, entries);
  auto back = decode_peers(me.id(), "net", body.data(), body.size());
  CAF_REQUIRE(back);
  CAF_REQUIRE_EQUAL(back->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    CAF_CHECK((*back)[i].peer == entries[i].peer);
    CAF_CHECK((*back)[i].at == entries[i].at);
  }
}

CAF_TEST(another signer network or a flipped bit is refused) {
  auto me = identity::ephemeral();
  auto body = encode_peers(me, "net", 1, sample(2));
  CAF_CHECK(!decode_peers(identity::ephemeral().id(), "net", body.data(),
                          body.size()));
  CAF_CHECK(!decode_peers(me.id(), "other", body.data(), body.size()));
  for (size_t pos : {size_t{0}, size_t{8}, size_t{20}, body.size() - 1}) {
    auto bad = body;
    bad[pos] ^= 0x01;
    CAF_CHECK(!decode_peers(me.id(), "net", bad.data(), bad.size()));
  }
  CAF_CHECK(!decode_peers(me.id(), "net", body.data(), 10));
}

CAF_TEST(a sample holds at most sixteen entries) {
  auto me = identity::ephemeral();
  auto body = encode_peers(me, "net", 1, sample(40));
  auto back = decode_peers(me.id(), "net", body.data(), body.size());
  CAF_REQUIRE(back);
  CAF_CHECK_EQUAL(back->size(), wire::max_exchange_entries);
}

CAF_TEST(entries that are not dialable are left out) {
  auto me = identity::ephemeral();
  auto entries = sample(2);
  entries[0].at.host = "not an address";
  auto body = encode_peers(me, "net", 1, entries);
  auto back = decode_peers(me.id(), "net", body.data(), body.size());
  CAF_REQUIRE(back);
  CAF_REQUIRE_EQUAL(back->size(), 1u);
  CAF_CHECK(back->front().peer == entries[1].peer);
}
