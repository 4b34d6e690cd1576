#define CAF_SUITE conn_table
#include <caf/test/unit_test.hpp>

#include "node/conn_table.hpp"
#include "tests/unit/ids.hpp"

using namespace crust;

namespace {

using crust::test::filled_id;

const auto low = filled_id(0x10);
const auto mid = filled_id(0x80);
const auto high = filled_id(0xF0);

using act = conn_table::identified_outcome::action;
using phase = conn_table::phase;
using tell = conn_table::ending::to_application;

admission::limits roomy() {
  return admission::limits{32, 8, 256, 1024};
}

connection_info outgoing(origin from = origin::direct) {
  connection_info info;
  info.inbound = false;
  info.from = from;
  info.remote = endpoint{transport::tcp, "10.0.0.9", 7000, {}};
  return info;
}

connection_info incoming(const std::string& ip) {
  connection_info info;
  info.inbound = true;
  info.from = origin::direct;
  info.remote = endpoint{transport::tcp, ip, 40000, {}};
  return info;
}

// A table of the node `me`, whose connections the tests open.
struct table : conn_table {
  explicit table(peer_id me, admission::limits l = roomy())
    : conn_table(me, l) {
    // nop
  }

  // A connection we dialled (no target: as the rule tests need), admitted.
  conn_id open() {
    auto c = add(outgoing());
    on_conn_up(c, outgoing());
    return c;
  }

  // A dial of `target` for `from`, admitted.
  conn_id dial(origin from) {
    endpoint target{transport::tcp, "10.0.0.9", 7000, {}};
    auto c = add(outgoing(from), target);
    on_conn_up(c, {});
    return c;
  }

  conn_id accept(const std::string& ip) {
    auto c = add();
    on_conn_up(c, incoming(ip));
    return c;
  }

  bool remove(conn_id c) {
    return on_closed(c, "gone").was_live;
  }

  // A relayed connection (a circuit we opened), admitted.
  conn_id relayed() {
    auto info = outgoing(origin::relayed);
    info.proto = transport::relay;
    auto c = add(info);
    on_conn_up(c, info);
    return c;
  }
};

} // namespace

// -- the one-connection-per-peer rule --------------------------------------------

CAF_TEST(the lower id leads and selects the first connection) {
  table t{mid};
  auto c = t.open();
  auto out = t.on_hello(c, high, 7, false);
  CAF_CHECK(out.act == act::select);
  CAF_CHECK(!out.superseded);
  CAF_CHECK_EQUAL(t.live(high).value_or(0), 1u);
}

CAF_TEST(a leader closes a second connection of the same session) {
  table t{mid};
  t.open();
  t.open();
  t.on_hello(1, high, 7, false);
  CAF_CHECK(t.on_hello(2, high, 7, false).act == act::close_duplicate);
  CAF_CHECK_EQUAL(t.live(high).value_or(0), 1u);
  CAF_CHECK(!t.remove(2)); // the loser was never live
  CAF_CHECK_EQUAL(t.live(high).value_or(0), 1u);
}

CAF_TEST(a new session supersedes the live connection) {
  table t{mid};
  t.open();
  t.open();
  t.on_hello(1, high, 7, false);
  auto out = t.on_hello(2, high, 8, false);
  CAF_CHECK(out.act == act::select);
  CAF_REQUIRE(out.superseded);
  CAF_CHECK_EQUAL(*out.superseded, 1u);
  CAF_CHECK_EQUAL(t.live(high).value_or(0), 2u);
  CAF_CHECK(t.find(1)->ph == phase::closing); // and its peer_lost said now
  CAF_CHECK(!t.remove(1)); // no longer live: no second peer_lost
}

CAF_TEST(a follower waits for select and both sides agree) {
  // Simultaneous dial: connections 1 and 2 exist on both nodes. The leader
  // (low) selects whichever HELLO it sees first; the follower (high) makes
  // live exactly what the leader selected, whatever order it saw.
  table leader{low};
  table follower{high};
  for (int i = 0; i < 2; ++i) {
    leader.open();
    follower.open();
  }
  CAF_CHECK(follower.on_hello(1, low, 5, false).act == act::wait);
  CAF_CHECK(follower.on_hello(2, low, 5, false).act == act::wait);
  CAF_CHECK(leader.on_hello(2, high, 9, false).act == act::select);
  CAF_CHECK(leader.on_hello(1, high, 9, false).act == act::close_duplicate);
  auto sel = follower.on_selected(2);
  CAF_CHECK(sel.live);
  CAF_CHECK(!sel.superseded);
  follower.remove(1); // closed by the leader
  CAF_REQUIRE(leader.live(high));
  CAF_CHECK_EQUAL(leader.live(high).value_or(0), follower.live(low).value_or(0));
}

CAF_TEST(reaching oneself is detected) {
  table t{mid};
  t.open();
  CAF_CHECK(t.on_hello(1, mid, 1, false).act == act::close_self);
  CAF_CHECK(!t.live(mid));
}

CAF_TEST(keep moves undecided to kept once) {
  table t{mid};
  t.open();
  CAF_CHECK(!t.keep(high));
  t.on_hello(1, high, 7, false);
  CAF_CHECK(t.keep(high));
  CAF_CHECK(t.find(1)->ph == phase::kept);
  CAF_CHECK(t.keep(high)); // idempotent
  auto end = t.on_closed(1, "gone");
  CAF_CHECK(end.was_live && end.peer == high);
  CAF_CHECK_EQUAL(t.size(), 0u);
}

CAF_TEST(kept peers are counted through keep and supersession and removal) {
  table t{mid};
  t.open();
  t.open();
  t.on_hello(1, high, 7, false);
  t.on_hello(2, filled_id(0xE0), 7, false);
  CAF_CHECK_EQUAL(t.kept(), 0u);
  CAF_CHECK(t.keep(high));
  CAF_CHECK(t.keep(high)); // again: still one
  CAF_CHECK(t.keep(filled_id(0xE0)));
  CAF_CHECK_EQUAL(t.kept(), 2u);
  // A restarted peer's new connection supersedes the kept one: undecided.
  t.open();
  auto out = t.on_hello(3, high, 8, false);
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

// -- admission by phase --------------------------------------------------------------

CAF_TEST(incoming connections hold a half open slot until hello) {
  table t{mid, admission::limits{2, 8, 256, 1024}};
  auto a = t.accept("10.1.1.1");
  CAF_CHECK(t.find(a)->ph == phase::handshaking);
  CAF_CHECK(t.find(a)->held == conn_table::slot::half_open);
  CAF_CHECK_EQUAL(t.policy().half_open(), 1u);
  t.on_hello(a, high, 1, false);
  CAF_CHECK(t.find(a)->held == conn_table::slot::established);
  CAF_CHECK_EQUAL(t.policy().half_open(), 0u);
  t.accept("10.1.1.1");
  // A third from the same address is over its cap: refused unread.
  auto c = t.add();
  auto out = t.on_conn_up(c, incoming("10.1.1.1"));
  CAF_CHECK(out.verdict == admission::verdict::too_many_connections);
  CAF_CHECK(t.find(c)->ph == phase::closing);
  CAF_CHECK(t.find(c)->held == conn_table::slot::none);
  CAF_CHECK(t.on_closed(c, "closed").tell == tell::nothing);
  t.on_closed(a, "closed");
  CAF_CHECK_EQUAL(t.policy().addresses(), 1u);
}

CAF_TEST(with every handshake slot taken the oldest half open is evicted) {
  table t{mid, admission::limits{32, 8, 2, 1024}};
  auto a = t.accept("10.1.1.1");
  auto b = t.accept("10.1.1.2");
  auto c = t.add();
  auto out = t.on_conn_up(c, incoming("10.1.1.3"));
  CAF_CHECK(out.verdict == admission::verdict::admit);
  CAF_REQUIRE(out.evicted);
  CAF_CHECK_EQUAL(*out.evicted, a);
  CAF_CHECK(t.find(a)->ph == phase::closing);
  CAF_CHECK(t.find(a)->held == conn_table::slot::none); // free at once
  CAF_CHECK_EQUAL(t.policy().half_open(), 2u);
  // Its HELLO, already on the way, decides nothing.
  CAF_CHECK(t.on_hello(a, high, 1, false).act == act::ignore);
  CAF_CHECK(t.find(b)->ph == phase::handshaking);
  CAF_CHECK(t.on_closed(a, "gone").tell == tell::nothing);
  CAF_CHECK_EQUAL(t.policy().half_open(), 2u);
}

// -- what an end means ------------------------------------------------------------------

CAF_TEST(the application hears connection_failed for its own dial) {
  table t{mid};
  auto c = t.dial(origin::direct);
  auto end = t.on_closed(c, "connection closed by the peer");
  CAF_CHECK(end.tell == tell::connection_failed);
  CAF_CHECK(end.dial_failed);
  CAF_CHECK_EQUAL(end.reason, "connection closed by the peer");
  CAF_CHECK(!end.bootstrap);
  // A beacon's dial fails quietly (the cache still hears).
  auto b = t.dial(origin::beacon);
  auto quiet = t.on_closed(b, "timeout");
  CAF_CHECK(quiet.tell == tell::nothing);
  CAF_CHECK(quiet.dial_failed);
}

CAF_TEST(a dial to a refused peer is told once and keeps the first reason) {
  table t{mid};
  CAF_REQUIRE(t.policy().blacklist({to_string(high)}));
  auto c = t.dial(origin::direct);
  auto out = t.on_hello(c, high, 1, false);
  CAF_CHECK(out.act == act::refuse);
  CAF_CHECK_EQUAL(std::string{out.why}, "blacklisted");
  CAF_CHECK(out.tell_application);
  CAF_CHECK(!t.close(c, "later reason")); // the first reason stays
  auto end = t.on_closed(c, "closed by the peer");
  CAF_CHECK(end.tell == tell::nothing); // said already
  CAF_CHECK(end.dial_failed);
  CAF_CHECK_EQUAL(end.reason, "blacklisted");
}

CAF_TEST(a bootstrap round hears each of its dials once) {
  table t{mid};
  // Failed before the handshake: worth another try.
  auto a = t.dial(origin::bootstrap_out);
  auto failed = t.on_closed(a, "unreachable");
  CAF_CHECK(failed.tell == tell::nothing);
  CAF_REQUIRE(failed.bootstrap);
  CAF_CHECK(!failed.bootstrap->reached);
  CAF_CHECK(failed.bootstrap->retry);
  // Announced and dropped: not kept, and no retry.
  auto b = t.dial(origin::bootstrap_out);
  t.on_hello(b, high, 1, false);
  t.close(b, "dropped by this node");
  auto dropped = t.on_closed(b, "closed");
  CAF_CHECK(dropped.tell == tell::peer_lost);
  CAF_REQUIRE(dropped.bootstrap);
  CAF_CHECK(!dropped.bootstrap->retry);
  CAF_CHECK_EQUAL(dropped.bootstrap->reason, "not kept: dropped by this node");
  // Kept: reached, said at keep, and not again at the end.
  auto c = t.dial(origin::bootstrap_out);
  t.on_hello(c, high, 2, false);
  CAF_REQUIRE(t.keep(high));
  auto r = t.reached(c);
  CAF_REQUIRE(r);
  CAF_CHECK(r->reached);
  CAF_CHECK(!t.reached(c));
  auto end = t.on_closed(c, "closed by the peer");
  CAF_CHECK(end.tell == tell::peer_lost);
  CAF_CHECK(!end.bootstrap);
}

CAF_TEST(a dial that lost to a duplicate fails no one) {
  table t{mid};
  auto a = t.open();
  t.on_hello(a, high, 7, false);
  auto b = t.dial(origin::bootstrap_out);
  CAF_CHECK(t.on_hello(b, high, 7, false).act == act::close_duplicate);
  auto end = t.on_closed(b, "duplicate");
  CAF_CHECK(end.tell == tell::nothing);
  CAF_CHECK(!end.dial_failed);
  CAF_REQUIRE(end.bootstrap);
  CAF_CHECK(end.bootstrap->reached); // connected through the other one
  CAF_CHECK(!end.bootstrap->retry);
}

// -- paths: a direct connection carries a relayed one ------------------------------

CAF_TEST(a direct connection to a kept relayed peer becomes its path) {
  table t{mid};
  auto r = t.relayed();
  CAF_CHECK(t.on_hello(r, high, 7, false).act == act::select);
  t.keep(high);
  auto d = t.open();
  auto out = t.on_hello(d, high, 7, false);
  CAF_CHECK(out.act == act::path);
  CAF_CHECK_EQUAL(out.anchor.value_or(0), r);
  CAF_CHECK(out.move_now);
  CAF_CHECK(!out.superseded);
  CAF_CHECK(t.find(d)->ph == phase::path);
  CAF_CHECK_EQUAL(t.live(high).value_or(0), r); // the anchor stays live
  CAF_CHECK_EQUAL(t.carrier(high).value_or(0), d);
  CAF_CHECK_EQUAL(t.kept(), 1u);
  CAF_CHECK(!t.start_move(r)); // once
  // A third connection is a duplicate while the path lives.
  auto e = t.open();
  CAF_CHECK(t.on_hello(e, high, 7, false).act == act::close_duplicate);
  // The path's end tells nobody; the connection goes back to the anchor.
  auto end = t.on_closed(d, "reset");
  CAF_CHECK(end.tell == tell::nothing);
  CAF_CHECK(!end.was_live);
  CAF_CHECK_EQUAL(end.anchor.value_or(0), r);
  CAF_CHECK_EQUAL(t.carrier(high).value_or(0), r);
  CAF_CHECK(!t.find(r)->path);
  CAF_CHECK_EQUAL(t.kept(), 1u);
  // A later direct connection may carry it again.
  auto f = t.open();
  CAF_CHECK(t.on_hello(f, high, 7, false).act == act::path);
}

CAF_TEST(a path of an undecided anchor moves once the anchor is kept) {
  table t{high}; // follows
  auto r = t.relayed();
  t.on_hello(r, low, 7, false);
  t.on_selected(r);
  auto d = t.open();
  CAF_CHECK(t.on_hello(d, low, 7, false).act == act::wait);
  auto sel = t.on_selected(d);
  CAF_CHECK(!sel.live);
  CAF_CHECK_EQUAL(sel.anchor.value_or(0), r);
  CAF_CHECK(!sel.move_now);
  CAF_CHECK(!t.start_move(r)); // not kept yet
  t.keep(low);
  CAF_CHECK_EQUAL(t.start_move(r).value_or(0), d);
  CAF_CHECK(!t.start_move(r));
  // The anchor's end takes its path along, and tells the application.
  auto end = t.on_closed(r, "dropped");
  CAF_CHECK(end.tell == tell::peer_lost);
  CAF_CHECK_EQUAL(end.orphan.value_or(0), d);
  CAF_CHECK(t.find(d)->ph == phase::closing);
  CAF_CHECK(t.on_closed(d, "closed").tell == tell::nothing);
  CAF_CHECK(t.empty());
}

CAF_TEST(a newer path the leader chose replaces the one that carries) {
  table t{high}; // follows
  auto r = t.relayed();
  t.on_hello(r, low, 7, false);
  t.on_selected(r);
  t.keep(low);
  auto d1 = t.open();
  t.on_hello(d1, low, 7, false);
  auto first = t.on_selected(d1);
  CAF_CHECK(first.move_now);
  CAF_CHECK(!first.superseded_carried);
  // The leader saw d1 die first and chose d2.
  auto d2 = t.open();
  t.on_hello(d2, low, 7, false);
  auto second = t.on_selected(d2);
  CAF_CHECK_EQUAL(second.anchor.value_or(0), r);
  CAF_CHECK_EQUAL(second.superseded.value_or(0), d1);
  CAF_CHECK(second.superseded_carried); // the anchor takes it back first
  CAF_CHECK(second.move_now);
  CAF_CHECK(t.find(d1)->ph == phase::closing);
  CAF_CHECK_EQUAL(t.carrier(low).value_or(0), d2);
  // d1's end is nobody's business, and no failed dial.
  auto end = t.on_closed(d1, "moved");
  CAF_CHECK(end.tell == tell::nothing);
  CAF_CHECK(!end.dial_failed);
  CAF_CHECK(!end.anchor);
  CAF_CHECK_EQUAL(t.carrier(low).value_or(0), d2);
}

CAF_TEST(only a relayed live connection of the same session gets a path) {
  table t{mid};
  auto r = t.relayed();
  t.on_hello(r, high, 7, false);
  t.keep(high);
  auto d = t.open(); // the peer restarted: a new session replaces it
  auto out = t.on_hello(d, high, 8, false);
  CAF_CHECK(out.act == act::select);
  CAF_CHECK_EQUAL(out.superseded.value_or(0), r);
  // A relayed connection never becomes a path of a direct one.
  auto r2 = t.relayed();
  CAF_CHECK(t.on_hello(r2, high, 8, false).act == act::close_duplicate);
}

CAF_TEST(phases have names) {
  CAF_CHECK_EQUAL(std::string{to_string(phase::path)}, "path");
  CAF_CHECK_EQUAL(std::string{to_string(phase::admitting)}, "admitting");
  CAF_CHECK_EQUAL(std::string{to_string(phase::closing)}, "closing");
}
