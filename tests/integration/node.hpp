// Test nodes for the integration suites: a service plus a scoped actor as
// its handler, over real sockets on 127.0.0.1. Every wait is bounded and
// waits on events, never on the clock.
#pragma once

#include <caf/test/unit_test.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <cstring>
#include <functional>

#include "crust/crust.hpp"

using namespace std::chrono_literals;
using caf::scoped_actor;
using crust::peer_id;

namespace crust_test {

// One node: a service plus a scoped actor as its handler, with every event
// it received.
struct node {
  scoped_actor handler;
  caf::actor svc;
  std::vector<crust::listening> listens;
  std::vector<crust::new_peer> peers;
  std::vector<crust::message> msgs;
  std::vector<crust::peer_lost> lost;
  std::vector<crust::connection_failed> failed;
  std::vector<crust::punched> punches;
  std::vector<crust::path_changed> moves;
  std::vector<crust::misbehaving> abuse;
  uint64_t sent_bytes = 0; // what crust::sent confirmed of plain sends
  std::vector<crust::send_failed> send_failures;

  explicit node(caf::actor_system& sys,
                std::function<void(crust::service_options&)> tweak = {})
    : handler(sys) {
    crust::service_options opts;
    opts.listen_address = "127.0.0.1";
    opts.heartbeat_interval = 200ms;
    opts.heartbeat_timeout = 1s;
    if (tweak)
      tweak(opts);
    auto s = crust::spawn_service(sys, opts, caf::actor{handler});
    CAF_REQUIRE(s);
    svc = *s;
    CAF_REQUIRE(wait_until([&] { return !listens.empty(); }));
  }

  ~node() {
    caf::anon_send_exit(svc, caf::exit_reason::user_shutdown);
  }

  const peer_id& id() const {
    return listens.at(0).id;
  }

  crust::endpoint endpoint(crust::transport t = crust::transport::tcp) const {
    for (auto& e : listens.at(0).endpoints)
      if (e.proto == t)
        return e;
    CAF_FAIL("no endpoint of that transport");
    return {};
  }

  // Takes events until `done` holds; false after `limit` without it.
  bool wait_until(const std::function<bool()>& done,
                  caf::timespan limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= decltype(left)::zero())
        return false;
      bool timed_out = false;
      handler->receive(
        [&](crust::listening& x) { listens.push_back(std::move(x)); },
        [&](crust::new_peer& x) { peers.push_back(std::move(x)); },
        [&](crust::message& x) { msgs.push_back(std::move(x)); },
        [&](crust::peer_lost& x) { lost.push_back(std::move(x)); },
        [&](crust::connection_failed& x) { failed.push_back(std::move(x)); },
        [&](crust::punched& x) { punches.push_back(std::move(x)); },
        [&](crust::path_changed& x) { moves.push_back(std::move(x)); },
        [&](crust::misbehaving& x) { abuse.push_back(std::move(x)); },
        [&](crust::sent& x) { sent_bytes += x.bytes; },
        [&](crust::send_failed& x) { send_failures.push_back(std::move(x)); },
        caf::after(std::chrono::duration_cast<caf::timespan>(left)) >>
          [&] { timed_out = true; });
      if (timed_out)
        return done();
    }
    return true;
  }

  void keep(const peer_id& p) {
    handler->request(svc, 10s, crust::keep{p})
      .receive([](caf::ok_atom) {},
               [](caf::error& err) { CAF_FAIL("keep failed: " << to_string(err)); });
  }

  caf::error send(const peer_id& p, std::vector<uint8_t> bytes,
                  crust::priority prio = crust::priority::normal) {
    return request_send(svc, crust::send{p, std::move(bytes), prio});
  }

  // A send straight to a connection (new_peer's link).
  caf::error send_via(const caf::actor& link, std::vector<uint8_t> bytes) {
    return request_send(link, crust::send{{}, std::move(bytes)});
  }

  // `cmd` as a request to `to`: the error it was answered with (none: ok).
  caf::error request_send(const caf::actor& to, crust::send cmd) {
    caf::error result;
    handler->request(to, 10s, std::move(cmd))
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  // Blacklists `entries`; how many connections that closed.
  uint64_t blacklist(std::vector<std::string> entries) {
    uint64_t closed = 0;
    handler->request(svc, 10s, crust::blacklist{std::move(entries)})
      .receive([&](uint64_t n) { closed = n; },
               [](caf::error& err) { CAF_FAIL(to_string(err)); });
    return closed;
  }

  // Our half of an application-signalled hole punch.
  std::string prepare_info() {
    std::string json;
    handler->request(svc, 10s, crust::prepare_connection_info{})
      .receive([&](crust::rendezvous_info& ri) { json = std::move(ri.json); },
               [](caf::error& err) { CAF_FAIL(to_string(err)); });
    return json;
  }

  std::vector<crust::peer_info> peer_list() {
    std::vector<crust::peer_info> result;
    handler->request(svc, 10s, crust::list_peers{})
      .receive([&](std::vector<crust::peer_info>& xs) { result = std::move(xs); },
               [](caf::error&) {});
    return result;
  }
};

struct fixture {
  crust::config cfg;
  caf::actor_system sys{cfg};
};

inline std::vector<uint8_t> text(const std::string& s) {
  return {s.begin(), s.end()};
}

// The new_peer `n` heard for `p`, if any.
inline const crust::new_peer* find_peer(node& n, const peer_id& p) {
  for (auto& x : n.peers)
    if (x.peer == p)
      return &x;
  return nullptr;
}

inline bool has_peer(node& n, const peer_id& p) {
  return find_peer(n, p) != nullptr;
}

// Ends that cannot punch: the attempt fails fast, a relay is next.
inline void no_punch(crust::service_options& o) {
  o.beacon = false;
  o.peer_exchange = false;
  o.punch_tcp = false;
  o.punch_udp = false;
  o.punch_timeout = std::chrono::milliseconds(600);
}

// `a` dials `m`; both keep.
inline void join(node& a, node& m) {
  a.handler->send(a.svc, crust::connect{m.endpoint()});
  CAF_REQUIRE(a.wait_until([&] { return has_peer(a, m.id()); }));
  CAF_REQUIRE(m.wait_until([&] { return has_peer(m, a.id()); }));
  a.keep(m.id());
  m.keep(a.id());
}

// Connects a to b, keeps on both sides.
inline void link(node& a, node& b,
                 crust::transport t = crust::transport::tcp) {
  a.handler->send(a.svc, crust::connect{b.endpoint(t)});
  CAF_REQUIRE(a.wait_until([&] { return !a.peers.empty(); }));
  CAF_REQUIRE(b.wait_until([&] { return !b.peers.empty(); }));
  a.keep(b.id());
  b.keep(a.id());
}

} // namespace crust_test

using namespace crust_test;

