#define CAF_SUITE datagram_flood
#include <caf/test/unit_test.hpp>

#include <optional>

#include "transports/datagram/channel.hpp"
#include "transports/datagram/packet.hpp"
#include "transports/hello.hpp"
#include "transports/identity.hpp"
#include "transports/noise/cipher_state.hpp"
#include "transports/noise/handshake.hpp"
#include "transports/datagram/sctp_link.hpp"
#include "tests/unit/test_wall_clock.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

using clock_type = datagram_channel::clock;

// A peer that does the handshake by hand and then seals DATA as fast as it
// likes: no SCTP, so no congestion control to slow it. Everything it
// sends authenticates, so the node has to decide before decrypting.
struct raw_peer {
  identity me = identity::ephemeral();
  std::optional<noise::handshake_state> hs;
  noise::cipher_state tx;
  uint32_t index = 0x0badf00d;
  uint32_t remote = 0;
  uint64_t counter = 0;

  explicit raw_peer(const std::string& network) {
    noise::handshake_config hc;
    hc.pat = noise::find_pattern("XX");
    hc.initiator = true;
    hc.prologue = prologue(network);
    hc.s = me.noise_static();
    hs.emplace(std::move(hc));
  }

  std::vector<uint8_t> init() {
    std::vector<uint8_t> m1;
    CAF_REQUIRE(hs->write_message(nullptr, 0, m1));
    return datagram::encode_init(index, m1.data(), nullptr);
  }

  // FINAL for the node's RESPONSE; afterwards tx seals DATA.
  std::vector<uint8_t> final_for(const std::vector<uint8_t>& response) {
    auto p = datagram::parse(response.data(), response.size());
    CAF_REQUIRE(p && p->what == datagram::kind::response);
    remote = p->sender;
    std::vector<uint8_t> theirs, m3;
    CAF_REQUIRE(hs->read_message(p->body, p->body_size, theirs));
    auto mine = encode_hello(hello{me.id(), 7, false});
    CAF_REQUIRE(hs->write_message(mine.data(), mine.size(), m3));
    tx = hs->split().first;
    return datagram::encode_final(remote, m3.data());
  }

  std::vector<uint8_t> data(size_t plain_size) {
    auto out = datagram::encode_data_header(remote, counter);
    std::vector<uint8_t> plain(plain_size, 0xf1);
    out.reserve(out.size() + plain_size + noise::tag_len);
    tx.set_nonce(counter++);
    CAF_REQUIRE(tx.encrypt_with_ad(out.data(), datagram::data_header_size,
                                   plain.data(), plain.size(), out));
    return out;
  }
};

struct node_fixture {
  test::frozen_wall_clock wall; // first: outlives the channel
  identity id = identity::ephemeral();
  clock_type::time_point now = clock_type::now();
  datagram_channel node{settings(), now};
  ip_endpoint attacker{"10.0.0.66", 6666};

  datagram_channel::settings settings() {
    datagram_channel::settings s;
    s.static_key = id.noise_static();
    s.local = hello{id.id(), 1, false};
    s.network_name = "test";
    s.rates.bytes_per_sec = 64 * 1024;
    s.rates.records_per_sec = 1e6;
    s.flood_timeout = 1000ms;
    return s;
  }

  std::vector<std::vector<uint8_t>> sent_to(const ip_endpoint& who) {
    node.flush(now);
    std::vector<std::vector<uint8_t>> got;
    for (auto& o : node.out())
      if (o.to == who)
        got.push_back(o.bytes);
    node.out().clear();
    return got;
  }

  void advance(std::chrono::milliseconds d) {
    now += d;
    wall.advance(d);
    sctp_stack::instance().tick(static_cast<uint32_t>(d.count()));
    node.tick(now);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(datagram_flood_tests, node_fixture)

// 10 MB/s of authenticated DATA against a 64 KiB/s limit: the node opens
// about what the limit allows, drops the rest unread, and after the flood
// timeout ends the session as a flood.
CAF_TEST(a peer that ignores congestion control is ended as a flood) {
  raw_peer peer{"test"};
  auto init = peer.init();
  node.receive(attacker, init.data(), init.size(), now);
  auto replies = sent_to(attacker);
  CAF_REQUIRE_EQUAL(replies.size(), 1u);
  auto fin = peer.final_for(replies.front());
  node.receive(attacker, fin.data(), fin.size(), now);
  CAF_REQUIRE_EQUAL(node.sessions(), 1u);
  std::optional<datagram_channel::event> down;
  uint64_t sent = 0;
  auto started = now;
  // 1,000 packets of 1,000 bytes every 100 ms, for at most 5 s.
  for (int round = 0; round < 50 && !down; ++round) {
    for (int i = 0; i < 1000; ++i) {
      auto d = peer.data(1000);
      node.receive(attacker, d.data(), d.size(), now);
      ++sent;
    }
    advance(100ms);
    for (auto& ev : node.events())
      if (ev.what == datagram_channel::event::down)
        down = ev;
    node.events().clear();
  }
  CAF_REQUIRE(down);
  CAF_CHECK(down->kind == misbehaviour::flood);
  // Its association never came up, but the handshake proved who it is:
  // the caller hears who flooded, and from where.
  CAF_CHECK(down->peer && *down->peer == peer.me.id());
  CAF_CHECK(down->remote == attacker);
  CAF_MESSAGE("ended after " << (now - started) / 1ms << " ms and " << sent
                             << " packets: " << down->reason);
  CAF_CHECK_LESS_OR_EQUAL(now - started, 3000ms);
  // Opened: at most the limit's burst plus its rate over the attack. (What
  // came after the session ended named no session.)
  auto opened = sent - node.stats().throttled - node.stats().unknown;
  auto seconds = static_cast<double>((now - started) / 1ms) / 1000.0;
  CAF_CHECK_LESS_OR_EQUAL(opened * 1000.0, 64 * 1024 * (seconds + 2));
  CAF_CHECK_GREATER(node.stats().throttled, sent / 2);
  CAF_MESSAGE(opened << " packets opened, " << node.stats().throttled
                     << " dropped unread");
  CAF_CHECK_EQUAL(node.sessions(), 0u);
  // Nothing of it is kept: further DATA names no session.
  auto unknown = node.stats().unknown;
  auto late = peer.data(100);
  node.receive(attacker, late.data(), late.size(), now);
  CAF_CHECK_EQUAL(node.stats().unknown, unknown + 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
