// A relayed connection that moves to a direct path and back, over real
// sockets on 127.0.0.1: M relays between A and B (their punches cannot
// work); A then dials B directly, through a forwarder the test controls.
// The relayed connection moves to that direct path while messages flow
// both ways, both handlers hear path_changed, and nothing is lost,
// duplicated or reordered. When the forwarder falls silent the direct
// path dies, the connection falls back to the circuit, and the transfer
// completes. Every wait is bounded.
#define CAF_SUITE path_move
#include <caf/test/unit_test.hpp>

#include "tests/integration/node.hpp"
#include "tests/integration/tcp_proxy.hpp"

namespace {


// The ends of the first two tests: no punching, and a heartbeat that
// tolerates a loaded machine (the fallback waits for it).
void relayed_end(crust::service_options& o) {
  no_punch(o);
  o.heartbeat_timeout = std::chrono::seconds(3);
}

void relay_node(crust::service_options& o) {
  o.heartbeat_timeout = std::chrono::seconds(3);
  o.beacon = false;
  o.peer_exchange = false;
  o.relay = true;
  o.relay_circuit_bytes_per_sec = 256 * 1024 * 1024;
  o.relay_total_bytes_per_sec = 256 * 1024 * 1024;
}

// Message k: its number, then `size - 4` bytes that depend on it.
std::vector<uint8_t> numbered(uint32_t k, size_t size) {
  std::vector<uint8_t> out(std::max<size_t>(size, 4));
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<uint8_t>(k >> (8 * (3 - i)));
  for (size_t i = 4; i < out.size(); ++i)
    out[i] = static_cast<uint8_t>(k * 31 + i);
  return out;
}

// True when `msgs` are exactly numbers 0..n-1 in order, each intact.
bool in_order(const std::vector<crust::message>& msgs, uint32_t n,
              size_t size) {
  if (msgs.size() != n)
    return false;
  for (uint32_t k = 0; k < n; ++k)
    if (msgs[k].bytes != numbered(k, size))
      return false;
  return true;
}

struct relayed_pair {
  node m;
  node a;
  node b;

  // M relays; A and B (`ends`) are relayed through it, and keep.
  explicit relayed_pair(
    caf::actor_system& sys,
    std::function<void(crust::service_options&)> m_opts = relay_node,
    std::function<void(crust::service_options&)> ends = relayed_end)
    : m(sys, m_opts), a(sys, ends), b(sys, ends) {
    join(a, m);
    join(b, m);
    a.handler->send(a.svc, crust::connect_peer{b.id(), caf::none});
    CAF_REQUIRE(a.wait_until([&] { return has_peer(a, b.id()); }, 20s));
    CAF_REQUIRE(b.wait_until([&] { return has_peer(b, a.id()); }));
    CAF_REQUIRE(find_peer(a, b.id())->info.proto == crust::transport::relay);
    a.keep(b.id());
    b.keep(a.id());
  }

  // Sends messages [from, to) of `size` bytes each way, as plain sends
  // (answered by `sent`, so that nothing waits on a reply).
  void send_both(uint32_t from, uint32_t to, size_t size) {
    for (uint32_t k = from; k < to; ++k) {
      a.handler->send(a.svc, crust::send{b.id(), numbered(k, size)});
      b.handler->send(b.svc, crust::send{a.id(), numbered(k, size)});
    }
  }

  bool heard(uint32_t n, caf::timespan limit = 60s) {
    auto ok = b.wait_until([&] { return b.msgs.size() >= n; }, limit)
              && a.wait_until([&] { return a.msgs.size() >= n; }, limit);
    if (!ok)
      CAF_MESSAGE("heard " << a.msgs.size() << " at a, " << b.msgs.size()
                           << " at b, of " << n << "; send failures "
                           << a.send_failures.size() << " / "
                           << b.send_failures.size() << " "
                           << (b.send_failures.empty()
                                 ? std::string{}
                                 : to_string(b.send_failures[0].reason))
                           << "; moves " << a.moves.size() << " / "
                           << b.moves.size() << "; lost " << a.lost.size()
                           << " / " << b.lost.size() << " "
                           << (b.lost.empty() ? std::string{} : b.lost[0].reason));
    return ok;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(path_move_tests, fixture)

CAF_TEST(a relayed connection moves to a direct path and back without loss) {
  relayed_pair p{sys};
  auto& a = p.a;
  auto& b = p.b;
  constexpr size_t size = 16 * 1024;
  tcp_proxy proxy{b.endpoint().port};
  CAF_REQUIRE_NOT_EQUAL(proxy.port(), 0u);
  // In flight on the relay while the direct path comes up.
  p.send_both(0, 200, size);
  a.handler->send(a.svc, crust::connect{crust::endpoint{
                           crust::transport::tcp, "127.0.0.1", proxy.port(),
                           {}}});
  p.send_both(200, 400, size);
  CAF_REQUIRE(a.wait_until([&] { return !a.moves.empty(); }, 20s));
  CAF_REQUIRE(b.wait_until([&] { return !b.moves.empty(); }, 20s));
  CAF_CHECK(a.moves[0].peer == b.id());
  CAF_CHECK(b.moves[0].peer == a.id());
  CAF_CHECK(a.moves[0].from.proto == crust::transport::relay);
  CAF_CHECK(a.moves[0].to.proto == crust::transport::tcp);
  CAF_CHECK(b.moves[0].from.proto == crust::transport::relay);
  CAF_CHECK(b.moves[0].to.proto == crust::transport::tcp);
  CAF_CHECK_EQUAL(a.moves[0].to.remote.port, proxy.port());
  // No second new_peer: the peer stays the same.
  CAF_CHECK_EQUAL(a.peers.size(), 2u); // m and b
  CAF_CHECK_EQUAL(b.peers.size(), 2u);
  p.send_both(400, 600, size);
  CAF_REQUIRE(p.heard(600));
  CAF_CHECK(in_order(b.msgs, 600, size));
  CAF_CHECK(in_order(a.msgs, 600, size));
  // list_peers says where it runs now.
  for (auto& pi : a.peer_list())
    if (pi.peer == b.id())
      CAF_CHECK(pi.info.proto == crust::transport::tcp);
  // The direct path falls silent with messages on the way: after the
  // heartbeat timeout both ends fall back to the circuit, and what the
  // direct path lost goes again through the relay.
  p.send_both(600, 700, size);
  proxy.go_silent();
  p.send_both(700, 800, size);
  CAF_REQUIRE(a.wait_until([&] { return a.moves.size() >= 2; }, 20s));
  CAF_REQUIRE(b.wait_until([&] { return b.moves.size() >= 2; }, 20s));
  CAF_CHECK(a.moves[1].from.proto == crust::transport::tcp);
  CAF_CHECK(a.moves[1].to.proto == crust::transport::relay);
  CAF_CHECK(b.moves[1].to.proto == crust::transport::relay);
  p.send_both(800, 900, size);
  CAF_REQUIRE(p.heard(900));
  CAF_CHECK(in_order(b.msgs, 900, size));
  CAF_CHECK(in_order(a.msgs, 900, size));
  CAF_CHECK(a.lost.empty());
  CAF_CHECK(b.lost.empty());
  CAF_CHECK(a.send_failures.empty());
  CAF_CHECK(b.send_failures.empty());
  CAF_CHECK(a.abuse.empty());
  CAF_CHECK(b.abuse.empty());
}

CAF_TEST(dropping a moved peer ends both paths and tells the peer once) {
  relayed_pair p{sys};
  auto& a = p.a;
  auto& b = p.b;
  a.handler->send(a.svc, crust::connect{b.endpoint()});
  CAF_REQUIRE(a.wait_until([&] { return !a.moves.empty(); }, 20s));
  CAF_REQUIRE(b.wait_until([&] { return !b.moves.empty(); }, 20s));
  a.handler->request(a.svc, 10s, crust::drop{b.id()})
    .receive([](caf::ok_atom) {},
             [](caf::error& err) { CAF_FAIL(to_string(err)); });
  CAF_REQUIRE(b.wait_until([&] { return !b.lost.empty(); }, 10s));
  CAF_CHECK(b.lost[0].peer == a.id());
  CAF_REQUIRE(a.wait_until([&] { return !a.lost.empty(); }, 10s));
  // Nothing more: one peer_lost each, no path_changed back.
  CAF_CHECK(!b.wait_until([&] { return b.lost.size() > 1; }, 1500ms));
  CAF_CHECK_EQUAL(b.lost.size(), 1u);
  CAF_CHECK_EQUAL(a.lost.size(), 1u);
  CAF_CHECK_EQUAL(a.moves.size(), 1u);
  CAF_CHECK_EQUAL(b.moves.size(), 1u);
  CAF_CHECK(a.peer_list().size() == 1u); // m only
  CAF_CHECK(b.peer_list().size() == 1u);
}

CAF_TEST(a relayed connection finds a direct path in the background) {
  // M relays but introduces no one, so the first punch fails and A and B
  // are relayed; later both keep N, which introduces: the next try for a
  // direct path (every second here, doubling) punches through, and the
  // connection moves there without a word from the applications.
  relayed_pair p{sys,
                 [](crust::service_options& o) {
                   relay_node(o);
                   o.introduce = false;
                 },
                 [](crust::service_options& o) {
                   o.beacon = false;
                   o.peer_exchange = false;
                   o.punch_timeout = std::chrono::seconds(3);
                   o.relay_upgrade_interval = std::chrono::seconds(1);
                 }};
  auto& a = p.a;
  auto& b = p.b;
  node n{sys, [](crust::service_options& o) {
           o.beacon = false;
           o.peer_exchange = false;
         }};
  constexpr size_t size = 1024;
  for (uint32_t k = 0; k < 50; ++k)
    a.handler->send(a.svc, crust::send{b.id(), numbered(k, size)});
  join(a, n);
  join(b, n);
  CAF_REQUIRE(a.wait_until([&] { return !a.moves.empty(); }, 30s));
  CAF_REQUIRE(b.wait_until([&] { return !b.moves.empty(); }, 10s));
  CAF_CHECK(a.moves[0].from.proto == crust::transport::relay);
  CAF_CHECK(a.moves[0].to.proto != crust::transport::relay);
  CAF_CHECK(a.moves[0].to.from == crust::origin::punched);
  for (uint32_t k = 50; k < 100; ++k)
    a.handler->send(a.svc, crust::send{b.id(), numbered(k, size)});
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() >= 100; }, 20s));
  CAF_CHECK(in_order(b.msgs, 100, size));
  CAF_CHECK(a.failed.empty());
  CAF_CHECK(a.lost.empty());
  CAF_CHECK(b.lost.empty());
}


CAF_TEST(100 MiB arrive intact across a move and a fallback mid-transfer) {
  // Sent as requests, as an application that wants each message in
  // order does: a full send queue (the fallback hands the direct path's
  // unconfirmed and unsent messages back to the relay's queue) answers
  // send_queue_full, and the same message goes again once the receiver
  // made progress.
  relayed_pair p{sys};
  auto& a = p.a;
  auto& b = p.b;
  constexpr size_t size = 1024 * 1024;
  constexpr uint32_t count = 100;
  tcp_proxy proxy{b.endpoint().port};
  CAF_REQUIRE_NOT_EQUAL(proxy.port(), 0u);
  int full = 0;
  for (uint32_t k = 0; k < count; ++k) {
    for (int tries = 0;; ++tries) {
      auto err = a.send(b.id(), numbered(k, size));
      if (!err)
        break;
      CAF_REQUIRE_EQUAL(err, crust::make_error(crust::errc::send_queue_full));
      CAF_REQUIRE_LESS(tries, 100);
      ++full;
      auto seen = b.msgs.size();
      b.wait_until([&] { return b.msgs.size() > seen; }, 5s);
    }
    if (k == 30) // a direct path comes up mid-transfer
      a.handler->send(a.svc, crust::connect{crust::endpoint{
                               crust::transport::tcp, "127.0.0.1",
                               proxy.port(), {}}});
    if (k == 40)
      CAF_REQUIRE(a.wait_until([&] { return !a.moves.empty(); }, 20s));
    if (k == 70) // and dies mid-transfer
      proxy.go_silent();
  }
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() >= count; }, 120s));
  CAF_CHECK(in_order(b.msgs, count, size));
  CAF_MESSAGE("send queue full " << full << " times");
  CAF_CHECK(a.wait_until([&] { return a.moves.size() >= 2; }, 20s));
  CAF_REQUIRE_GREATER_OR_EQUAL(a.moves.size(), 2u);
  CAF_CHECK(a.moves[0].to.proto == crust::transport::tcp);
  CAF_CHECK(a.moves[1].to.proto == crust::transport::relay);
  CAF_CHECK(a.lost.empty());
  CAF_CHECK(b.lost.empty());
}

CAF_TEST(plain sends paced by sent never overfill the queue across moves) {
  // An application that streams keeps a window of bytes not yet `sent`.
  // A path that gives the connection up reports what it had queued as
  // sent; those messages, and the unconfirmed ones, go again on the next
  // path without counting against its queue, so the window never meets
  // send_queue_full (a queue of 8 MiB, a window of 6 MiB: the hand-back
  // alone may carry 10 MiB).
  constexpr size_t mib = 1024 * 1024;
  relayed_pair p{sys, relay_node, [](crust::service_options& o) {
                   relayed_end(o);
                   o.send_queue_size = 8 * mib;
                   o.max_message_size = 1 * mib;
                 }};
  auto& a = p.a;
  auto& b = p.b;
  constexpr size_t size = 256 * 1024;
  constexpr uint32_t count = 200;
  constexpr uint64_t window = 6 * mib;
  tcp_proxy proxy{b.endpoint().port};
  CAF_REQUIRE_NOT_EQUAL(proxy.port(), 0u);
  uint64_t pushed = 0;
  auto room = [&] { return pushed - a.sent_bytes + size <= window; };
  for (uint32_t k = 0; k < count; ++k) {
    if (!room())
      CAF_REQUIRE(a.wait_until(room, 20s));
    a.handler->send(a.svc, crust::send{b.id(), numbered(k, size)});
    pushed += size;
    if (k == 40) // a direct path comes up mid-transfer
      a.handler->send(a.svc, crust::connect{crust::endpoint{
                               crust::transport::tcp, "127.0.0.1",
                               proxy.port(), {}}});
    if (k == 80)
      CAF_REQUIRE(a.wait_until([&] { return !a.moves.empty(); }, 20s));
    if (k == 140) // and dies mid-transfer
      proxy.go_silent();
  }
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() >= count; }, 120s));
  CAF_CHECK(in_order(b.msgs, count, size));
  CAF_CHECK(a.wait_until([&] { return a.moves.size() >= 2; }, 20s));
  CAF_CHECK_EQUAL(a.send_failures.size(), 0u);
  if (!a.send_failures.empty())
    CAF_MESSAGE("first send failure: " << to_string(a.send_failures[0].reason));
  CAF_CHECK(a.lost.empty());
  CAF_CHECK(b.lost.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
