#define CAF_SUITE peer_table
#include <caf/test/unit_test.hpp>

#include "actors/peer_table.hpp"
#include "tests/unit/ids.hpp"

using namespace crust;

namespace {

using crust::test::filled_id;

const auto low = filled_id(0x10);
const auto mid = filled_id(0x80);
const auto high = filled_id(0xF0);

using act = peer_table::action;

} // namespace

CAF_TEST(the lower id leads and selects the first connection) {
  peer_table t{mid};
  t.add(1);
  auto out = t.on_hello(1, high, 7);
  CAF_CHECK(out.act == act::select);
  CAF_CHECK(!out.superseded);
  CAF_CHECK_EQUAL(t.live(high).value_or(0), 1u);
}

CAF_TEST(a leader closes a second connection of the same session) {
  peer_table t{mid};
  t.add(1);
  t.add(2);
  t.on_hello(1, high, 7);
  CAF_CHECK(t.on_hello(2, high, 7).act == act::close_duplicate);
  CAF_CHECK_EQUAL(t.live(high).value_or(0), 1u);
  CAF_CHECK(!t.remove(2)); // the loser was never live
  CAF_CHECK_EQUAL(t.live(high).value_or(0), 1u);
}

CAF_TEST(a new session supersedes the live connection) {
  peer_table t{mid};
  t.add(1);
  t.add(2);
  t.on_hello(1, high, 7);
  auto out = t.on_hello(2, high, 8);
  CAF_CHECK(out.act == act::select);
  CAF_REQUIRE(out.superseded);
  CAF_CHECK_EQUAL(*out.superseded, 1u);
  CAF_CHECK_EQUAL(t.live(high).value_or(0), 2u);
  CAF_CHECK(!t.remove(1)); // no longer live: no second peer_lost
}

CAF_TEST(a follower waits for select and both sides agree) {
  // Simultaneous dial: connections 1 and 2 exist on both nodes. The leader
  // (low) selects whichever HELLO it sees first; the follower (high) makes
  // live exactly what the leader selected, whatever order it saw.
  peer_table leader{low};
  peer_table follower{high};
  for (conn_id c : {1, 2}) {
    leader.add(c);
    follower.add(c);
  }
  CAF_CHECK(follower.on_hello(1, low, 5).act == act::wait);
  CAF_CHECK(follower.on_hello(2, low, 5).act == act::wait);
  CAF_CHECK(leader.on_hello(2, high, 9).act == act::select);
  CAF_CHECK(leader.on_hello(1, high, 9).act == act::close_duplicate);
  CAF_CHECK(!follower.on_selected(2));
  follower.remove(1); // closed by the leader
  CAF_REQUIRE(leader.live(high));
  CAF_CHECK_EQUAL(leader.live(high).value_or(0), follower.live(low).value_or(0));
}

CAF_TEST(reaching oneself is detected) {
  peer_table t{mid};
  t.add(1);
  CAF_CHECK(t.on_hello(1, mid, 1).act == act::close_self);
  CAF_CHECK(!t.live(mid));
}

CAF_TEST(keep moves undecided to kept once) {
  peer_table t{mid};
  t.add(1);
  CAF_CHECK(!t.keep(high));
  t.on_hello(1, high, 7);
  CAF_CHECK(t.keep(high));
  CAF_CHECK(t.find(1)->ph == peer_table::phase::kept);
  CAF_CHECK(t.keep(high)); // idempotent
  CAF_CHECK(t.remove(1) == high);
  CAF_CHECK_EQUAL(t.size(), 0u);
}

CAF_TEST(kept peers are counted through keep and supersession and removal) {
  peer_table t{mid};
  t.add(1);
  t.add(2);
  t.on_hello(1, high, 7);
  t.on_hello(2, filled_id(0xE0), 7);
  CAF_CHECK_EQUAL(t.kept(), 0u);
  CAF_CHECK(t.keep(high));
  CAF_CHECK(t.keep(high)); // again: still one
  CAF_CHECK(t.keep(filled_id(0xE0)));
  CAF_CHECK_EQUAL(t.kept(), 2u);
  // A restarted peer's new connection supersedes the kept one: undecided.
  t.add(3);
  auto out = t.on_hello(3, high, 8);
  CAF_CHECK(out.superseded && *out.superseded == 1u);
  CAF_CHECK_EQUAL(t.kept(), 1u);
  CAF_CHECK(!t.remove(1)); // the superseded one was no longer live
  CAF_CHECK_EQUAL(t.kept(), 1u);
  CAF_CHECK(t.keep(high));
  CAF_CHECK_EQUAL(t.kept(), 2u);
  CAF_CHECK(t.remove(3));
  CAF_CHECK(t.remove(2));
  CAF_CHECK_EQUAL(t.kept(), 0u);
  CAF_CHECK(!t.keep(high)); // nobody live
  CAF_CHECK_EQUAL(t.kept(), 0u);
}
