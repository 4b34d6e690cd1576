#define CAF_SUITE relay_table
#include <caf/test/unit_test.hpp>

#include "node/relay_table.hpp"
#include "tests/unit/ids.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

using rt = relay_table;

const peer_id alice = test::filled_id(0xA1);
const peer_id bob = test::filled_id(0xB0);
const peer_id carol = test::filled_id(0xC0);

constexpr conn_id conn_a = 1, conn_b = 2, conn_c = 3;

struct fixture {
  rt::time_point now{};
  relay_limits limits;
  std::optional<rt> table;
  std::vector<rt::output> out;

  fixture() {
    limits.window = 1000;
    limits.circuit_bytes_per_sec = 1000000;
    limits.total_bytes_per_sec = 1000000;
    table.emplace(limits);
  }

  void reset(relay_limits l) {
    limits = l;
    table.emplace(l);
  }

  std::vector<rt::output> take() {
    std::vector<rt::output> xs;
    while (auto x = table->poll_output())
      xs.push_back(std::move(*x));
    return xs;
  }

  template <class T>
  std::vector<T> of(const std::vector<rt::output>& xs) {
    std::vector<T> ys;
    for (auto& x : xs)
      if (auto y = std::get_if<T>(&x))
        ys.push_back(*y);
    return ys;
  }

  // Opens alice -> bob as circuit 7 on alice's connection; bob's end.
  circuit_end open_ab() {
    CAF_REQUIRE(table->open({conn_a, 7}, alice, conn_b, bob, now));
    auto xs = take();
    auto in = of<rt::incoming>(xs);
    CAF_REQUIRE_EQUAL(in.size(), 1u);
    return in[0].to;
  }

  size_t bytes_to(const std::vector<rt::output>& xs, const circuit_end& e) {
    size_t n = 0;
    for (auto& d : of<rt::data>(xs))
      if (d.to == e)
        n += d.bytes.size();
    return n;
  }
};

std::vector<uint8_t> bytes(size_t n, uint8_t fill = 0x5A) {
  return std::vector<uint8_t>(n, fill);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(relay_table_tests, fixture)

CAF_TEST(an open circuit tells both ends its limits and credit) {
  CAF_REQUIRE(table->open({conn_a, 7}, alice, conn_b, bob, now));
  auto xs = take();
  auto op = of<rt::opened>(xs);
  auto in = of<rt::incoming>(xs);
  CAF_REQUIRE_EQUAL(op.size(), 1u);
  CAF_REQUIRE_EQUAL(in.size(), 1u);
  CAF_CHECK(op[0].to == (circuit_end{conn_a, 7}));
  CAF_CHECK_EQUAL(op[0].credit, 1000u);
  CAF_CHECK_EQUAL(in[0].to.conn, conn_b);
  CAF_CHECK(in[0].from == alice);
  CAF_CHECK_EQUAL(in[0].limits.window, 1000u);
  CAF_CHECK_EQUAL(table->circuits(), 1u);
}

CAF_TEST(bytes go on only as far as the receiver grants) {
  auto b = open_ab();
  CAF_CHECK(table->handle_data({conn_a, 7}, bytes(600), now));
  CAF_CHECK(take().empty()); // bob granted nothing yet
  CAF_CHECK_EQUAL(table->held(), 600u);
  table->handle_credit(b, 250, now);
  auto xs = take();
  CAF_CHECK_EQUAL(bytes_to(xs, b), 250u);
  table->handle_credit(b, 10000, now);
  xs = take();
  CAF_CHECK_EQUAL(bytes_to(xs, b), 350u);
  CAF_CHECK_EQUAL(table->held(), 0u);
  // Half the window is free again: alice may send 600 more.
  auto cr = of<rt::credit>(xs);
  CAF_REQUIRE_EQUAL(cr.size(), 1u);
  CAF_CHECK(cr[0].to == (circuit_end{conn_a, 7}));
  CAF_CHECK_EQUAL(cr[0].bytes, 600u);
  // And back: bob's bytes reach alice once she grants.
  CAF_CHECK(table->handle_data(b, bytes(10, 0x42), now));
  table->handle_credit({conn_a, 7}, 10, now);
  xs = take();
  auto ds = of<rt::data>(xs);
  CAF_REQUIRE_EQUAL(ds.size(), 1u);
  CAF_CHECK(ds[0].to == (circuit_end{conn_a, 7}));
  CAF_CHECK(ds[0].bytes == bytes(10, 0x42));
}

CAF_TEST(a reader that stops reading bounds what the relay holds) {
  auto b = open_ab();
  // Alice sends her whole credit; bob never grants.
  for (int i = 0; i < 10; ++i)
    CAF_CHECK(table->handle_data({conn_a, 7}, bytes(100), now));
  CAF_CHECK_EQUAL(table->held(), 1000u);
  CAF_CHECK(of<rt::credit>(take()).empty()); // no more for alice
  // One byte more is over her credit: the circuit closes, alice hears
  // why, bob that it is over.
  CAF_CHECK(!table->handle_data({conn_a, 7}, bytes(1), now));
  auto cl = of<rt::closed>(take());
  CAF_REQUIRE_EQUAL(cl.size(), 2u);
  CAF_CHECK(cl[0].to == (circuit_end{conn_a, 7}));
  CAF_CHECK(cl[0].why == circuit_reason::over_credit);
  CAF_CHECK(cl[1].to == b);
  CAF_CHECK(cl[1].why == circuit_reason::closed_by_peer);
  CAF_CHECK_EQUAL(table->held(), 0u);
  CAF_CHECK_EQUAL(table->circuits(), 0u);
}

CAF_TEST(circuits are bounded in total and per peer) {
  relay_limits l = limits;
  l.max_circuits = 3;
  l.max_circuits_per_peer = 2;
  l.open_burst = 100;
  reset(l);
  CAF_CHECK(table->open({conn_a, 1}, alice, conn_b, bob, now));
  CAF_CHECK(table->open({conn_a, 2}, alice, conn_b, bob, now));
  take();
  CAF_CHECK(!table->open({conn_a, 3}, alice, conn_c, carol, now));
  auto cl = of<rt::closed>(take());
  CAF_REQUIRE_EQUAL(cl.size(), 1u);
  CAF_CHECK(cl[0].why == circuit_reason::too_many_for_peer);
  // Bob is at his two as a target, too.
  CAF_CHECK(!table->open({conn_c, 1}, carol, conn_b, bob, now));
  CAF_CHECK(of<rt::closed>(take())[0].why == circuit_reason::too_many_for_peer);
  CAF_CHECK(table->open({conn_c, 2}, carol, conn_a + 10, test::filled_id(9),
                        now));
  take();
  CAF_CHECK(!table->open({conn_c, 3}, carol, conn_a + 11, test::filled_id(8),
                         now));
  CAF_CHECK(of<rt::closed>(take())[0].why == circuit_reason::too_many_circuits);
  // Not a peer the relay keeps; an id in use.
  CAF_CHECK(!table->open({conn_c, 4}, carol, 0, bob, now));
  CAF_CHECK(of<rt::closed>(take())[0].why == circuit_reason::not_connected);
  CAF_CHECK(!table->open({conn_a, 1}, alice, conn_b, bob, now));
  CAF_CHECK(of<rt::closed>(take())[0].why == circuit_reason::duplicate);
}

CAF_TEST(a peer opening circuits in a loop is slowed and counted) {
  relay_limits l = limits;
  l.open_burst = 2;
  l.open_interval = 10s;
  reset(l);
  CAF_CHECK(table->open({conn_a, 1}, alice, conn_b, bob, now));
  table->handle_close({conn_a, 1});
  CAF_CHECK(table->open({conn_a, 2}, alice, conn_b, bob, now));
  table->handle_close({conn_a, 2});
  take();
  for (uint32_t i = 3; i < 8; ++i) {
    CAF_CHECK(!table->open({conn_a, i}, alice, conn_b, bob, now));
    CAF_CHECK(of<rt::closed>(take())[0].why == circuit_reason::rate_limited);
  }
  CAF_CHECK_EQUAL(table->rate_refusals(alice), 5u);
  CAF_CHECK_EQUAL(table->rate_refusals(bob), 0u);
  now += 10s;
  CAF_CHECK(table->open({conn_a, 9}, alice, conn_b, bob, now));
  CAF_CHECK_EQUAL(table->rate_refusals(alice), 0u);
}

CAF_TEST(the circuit bandwidth cap holds at the receiver) {
  relay_limits l = limits;
  l.window = 64 * 1024;
  l.circuit_bytes_per_sec = 10000;
  reset(l);
  auto b = open_ab();
  table->handle_credit(b, 1u << 30, now);
  size_t sent = 0, got = 0;
  uint32_t credit = l.window;
  auto start = now;
  for (int step = 0; step < 50; ++step) { // 5 s in 100 ms steps
    while (credit >= 1000) {
      CAF_REQUIRE(table->handle_data({conn_a, 7}, bytes(1000), now));
      credit -= 1000;
      sent += 1000;
    }
    now += 100ms;
    table->handle_timeout(now);
    for (auto& x : take()) {
      if (auto d = std::get_if<rt::data>(&x))
        got += d->bytes.size();
      else if (auto c = std::get_if<rt::credit>(&x))
        credit += c->bytes;
    }
  }
  auto secs = std::chrono::duration<double>(now - start).count();
  // The bucket starts full (one second's worth), then 10000 per second.
  CAF_CHECK_LESS_OR_EQUAL(double(got), 10000 * (secs + 1) + 1);
  CAF_CHECK_GREATER_OR_EQUAL(double(got), 10000 * secs - 1000);
  CAF_CHECK_LESS_OR_EQUAL(table->held(), size_t{l.window});
  CAF_CHECK_GREATER(sent, got); // the sender was held back, nothing lost
  CAF_CHECK_EQUAL(sent - got, table->held());
}

CAF_TEST(idle circuits close and both ends hear why) {
  auto b = open_ab();
  CAF_REQUIRE(table->poll_timeout());
  CAF_CHECK(*table->poll_timeout() == now + limits.idle_timeout);
  now += limits.idle_timeout;
  table->handle_timeout(now);
  auto cl = of<rt::closed>(take());
  CAF_REQUIRE_EQUAL(cl.size(), 2u);
  CAF_CHECK(cl[0].why == circuit_reason::idle && cl[1].why == circuit_reason::idle);
  CAF_CHECK(cl[1].to == b);
  CAF_CHECK(!table->poll_timeout());
}

CAF_TEST(an end that closes or leaves takes the circuit along) {
  auto b = open_ab();
  table->handle_close(b);
  auto cl = of<rt::closed>(take());
  CAF_REQUIRE_EQUAL(cl.size(), 1u);
  CAF_CHECK(cl[0].to == (circuit_end{conn_a, 7}));
  CAF_CHECK(cl[0].why == circuit_reason::closed_by_peer);
  // Bytes for a closed circuit are dropped quietly (they crossed).
  CAF_CHECK(table->handle_data({conn_a, 7}, bytes(5), now));
  b = open_ab();
  table->handle_conn_lost(conn_a);
  cl = of<rt::closed>(take());
  CAF_REQUIRE_EQUAL(cl.size(), 1u);
  CAF_CHECK(cl[0].to == b);
  CAF_CHECK(cl[0].why == circuit_reason::end_lost);
  table->handle_close(b); // nothing left to close
  CAF_CHECK(take().empty());
  b = open_ab();
  table->stop();
  cl = of<rt::closed>(take());
  CAF_REQUIRE_EQUAL(cl.size(), 2u);
  CAF_CHECK(cl[0].why == circuit_reason::relay_stopping);
  CAF_CHECK_EQUAL(table->circuits(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
