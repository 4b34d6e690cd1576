// crust demo: three nodes on 127.0.0.1 find each other, connect, keep or
// drop, and talk, with a transcript a person can read. `./run demo`.
//
// alice listens; bob dials her over TCP, carol over reliable UDP. alice keeps only peers on her list
// of friends (bob), so carol is dropped; alice and bob then greet each
// other. Then bob restarts with no address to dial: his bootstrap cache
// remembers alice, and they greet each other again. Every line below the
// header is an event crust actually raised.
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

#include "crust/crust.hpp"

namespace {

using namespace crust;
using namespace std::chrono_literals;
using names_atom = caf::atom_constant<caf::atom("names")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using got_atom = caf::atom_constant<caf::atom("got")>;
using lost_atom = caf::atom_constant<caf::atom("lost")>;

const auto started = std::chrono::steady_clock::now();

void say(const std::string& line) {
  static std::mutex mtx;
  std::lock_guard<std::mutex> guard{mtx};
  auto t = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                         - started)
             .count();
  std::cout << "[" << std::fixed << std::setprecision(3) << t << "s] " << line
            << std::endl;
}

struct person_state {
  std::string name;
  caf::actor director;
  caf::actor service;
  std::map<peer_id, std::string> names;
  std::set<std::string> friends; // empty: keeps everyone
};

std::string who(const person_state& st, const peer_id& p) {
  auto i = st.names.find(p);
  return i != st.names.end() ? i->second : "peer " + p.short_hex();
}

caf::behavior person(caf::stateful_actor<person_state>* self, std::string name,
                     caf::actor director, std::set<std::string> friends) {
  self->state.name = std::move(name);
  self->state.director = std::move(director);
  self->state.friends = std::move(friends);
  auto send_text = [=](const peer_id& to, const std::string& text) {
    auto& st = self->state;
    say(st.name + " -> " + who(st, to) + ": \"" + text + "\"");
    self->request(st.service, 5s, send{to, {text.begin(), text.end()}})
      .then([](caf::ok_atom) {},
            [=](caf::error& err) {
              say(self->state.name + " could not send: "
                  + self->system().render(err));
            });
  };
  return {
    [=](caf::actor service) { self->state.service = std::move(service); },
    [=](names_atom, std::map<peer_id, std::string> names) {
      self->state.names = std::move(names);
    },
    [=](const listening& ev) {
      auto& st = self->state;
      std::string eps;
      for (auto& e : ev.endpoints)
        eps += (eps.empty() ? "" : " and ") + to_string(e);
      say(st.name + " listens on " + eps + "  (peer id " + ev.id.short_hex()
          + "...)");
      self->send(st.director, ready_atom::value, st.name, ev.id,
                 ev.endpoints.at(0));
    },
    [=](const new_peer& ev) {
      auto& st = self->state;
      auto other = who(st, ev.peer);
      say(st.name + ": connected to " + other + " over "
          + to_string(ev.info.proto) + " ("
          + (ev.info.inbound
               ? other + " dialled in from " + to_string(ev.info.remote)
               : "dialled " + to_string(ev.info.remote) + " from "
                   + to_string(ev.info.local))
          + (ev.info.from == origin::direct ? "" : ", " + to_string(ev.info.from))
          + ")");
      bool friendly = st.friends.empty() || st.friends.count(other) > 0;
      if (!friendly) {
        say(st.name + " drops " + other + ": not on " + st.name
            + "'s list of friends");
        self->request(st.service, 5s, drop{ev.peer})
          .then([](caf::ok_atom) {}, [](caf::error&) {});
        return;
      }
      say(st.name + " keeps " + other
          + (st.friends.empty() ? ": keeps everyone who calls"
                                : ": on " + st.name + "'s list of friends"));
      self->request(st.service, 5s, keep{ev.peer})
        .then(
          [=](caf::ok_atom) {
            if (!self->state.friends.empty())
              send_text(ev.peer, "hello " + other + ", welcome in");
          },
          [](caf::error&) {});
    },
    [=](const message& ev) {
      auto& st = self->state;
      std::string text(ev.bytes.begin(), ev.bytes.end());
      auto other = who(st, ev.peer);
      say(st.name + " <- " + other + ": \"" + text + "\"");
      self->send(st.director, got_atom::value, st.name);
      if (st.friends.empty())
        send_text(ev.peer, "thanks " + other + ", good to be here");
    },
    [=](const peer_lost& ev) {
      auto& st = self->state;
      say(st.name + " lost " + who(st, ev.peer) + ": " + ev.reason);
      self->send(st.director, lost_atom::value, st.name);
    },
    [=](const connection_failed& ev) {
      say(self->state.name + " could not connect to " + ev.target + ": "
          + ev.reason);
    },
    [=](const misbehaving& ev) {
      say(self->state.name + " saw misbehaviour from " + ev.address + ": "
          + to_string(ev.kind) + ", " + ev.detail);
    },
    [=](const bootstrap_finished& ev) {
      say(self->state.name + " finished bootstrapping: "
          + std::to_string(ev.connections) + " peer(s) kept");
    },
    [=](const bootstrap_failed& ev) {
      say(self->state.name + " could not bootstrap ("
          + std::to_string(ev.reasons.size()) + " address(es) failed)");
    },
    [=](const warning& ev) {
      say(self->state.name + " warns: " + ev.text);
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  crust::config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "crust-demo: " << cfg.render(err) << std::endl;
    return 1;
  }
  caf::actor_system sys{cfg};
  caf::scoped_actor director{sys};
  std::cout << "crust demo: three nodes on 127.0.0.1. alice listens, bob "
               "dials her over TCP and\ncarol over reliable UDP; alice keeps "
               "only her friend bob. Then bob "
               "restarts and finds alice again\nfrom his bootstrap cache.\n"
            << std::endl;
  // bob keeps his identity and his bootstrap cache across the restart.
  char tmpl[] = "/tmp/crust-demo-XXXXXX";
  std::string state_dir = mkdtemp(tmpl);
  auto options_of = [&](const std::string& name) {
    service_options opts;
    opts.listen_address = "127.0.0.1";
    if (name == "bob") {
      opts.identity_file = state_dir + "/bob.key";
      opts.bootstrap_cache_file = state_dir + "/bob-cache.json";
    }
    return opts;
  };
  std::map<std::string, std::set<std::string>> cast{
    {"alice", {"bob"}}, {"bob", {}}, {"carol", {}}};
  std::map<std::string, caf::actor> people, services;
  auto start = [&](const std::string& name,
                   const std::map<peer_id, std::string>& names) {
    auto p = sys.spawn(person, name, caf::actor{director}, cast[name]);
    if (!names.empty())
      caf::anon_send(p, names_atom::value, names); // before any event
    auto s = spawn_service(sys, options_of(name), p);
    if (!s) {
      std::cerr << "crust-demo: " << sys.render(s.error()) << std::endl;
      return false;
    }
    caf::anon_send(p, *s);
    people[name] = p;
    services[name] = *s;
    director->monitor(*s);
    return true;
  };
  for (auto& kv : cast)
    if (!start(kv.first, {}))
      return 1;
  std::map<std::string, endpoint> where;
  std::map<peer_id, std::string> names;
  int got = 0, lost = 0;
  bool timed_out = false;
  auto wait = [&](auto done) {
    while (!done() && !timed_out)
      director->receive(
        [&](ready_atom, const std::string& name, const peer_id& id,
            const endpoint& ep) {
          where[name] = ep;
          names[id] = name;
        },
        [&](got_atom, const std::string&) { ++got; },
        [&](lost_atom, const std::string&) { ++lost; },
        [&](const caf::down_msg& dm) {
          say("a service stopped early: " + sys.render(dm.reason));
          timed_out = true;
        },
        caf::after(10s) >> [&] { timed_out = true; });
  };
  wait([&] { return where.size() == 3; });
  for (auto& [name, p] : people)
    caf::anon_send(p, names_atom::value, names);
  // bob over TCP; carol over reliable UDP (alice listens on both, at
  // the same port).
  for (auto dialler : {"bob", "carol"}) {
    auto at = where["alice"];
    if (std::string{dialler} == "carol")
      at.proto = transport::rudp;
    say(std::string{dialler} + " dials alice at " + to_string(at));
    caf::anon_send(services[dialler], connect{at});
  }
  // alice and bob greet each other; carol learns she was dropped.
  wait([&] { return got >= 2 && lost >= 1; });
  auto fail = [&](const std::string& what) {
    std::cout << "\ncrust demo: FAILED: " << what << std::endl;
    for (auto& [name, s] : services)
      caf::anon_send_exit(s, caf::exit_reason::kill);
    return 1;
  };
  if (timed_out)
    return fail("not everything happened within 10 s (" + std::to_string(got)
                + " of 2 greetings, " + std::to_string(lost) + " of 1 drop)");
  // bob stops and starts again, with nobody to dial but his cache.
  say("bob restarts, with no address to dial: only his bootstrap cache");
  caf::anon_send(services["bob"], shutdown{});
  bool bob_down = false;
  while (!bob_down && !timed_out)
    director->receive(
      [&](const caf::down_msg& dm) {
        bob_down = dm.source == services["bob"].address();
      },
      [&](got_atom, const std::string&) {},
      [&](lost_atom, const std::string&) { ++lost; },
      caf::after(5s) >> [&] { timed_out = true; });
  caf::anon_send_exit(people["bob"], caf::exit_reason::user_shutdown);
  if (timed_out || !start("bob", names))
    return fail("bob did not restart");
  wait([&] { return got >= 4 && lost >= 3; });
  if (timed_out)
    return fail("bob and alice did not meet again within 10 s");
  say("everyone says goodbye: shutting the three nodes down");
  for (auto& [name, s] : services)
    caf::anon_send(s, shutdown{});
  // Done when every service stopped and every loss was told: alice and
  // carol of each other when alice dropped carol, alice and bob of each
  // other at bob's restart and again at shutdown.
  size_t down = 0;
  while ((down < services.size() || lost < 6) && !timed_out)
    director->receive(
      [&](const caf::down_msg&) { ++down; },
      [&](got_atom, const std::string&) {},
      [&](lost_atom, const std::string&) { ++lost; },
      caf::after(5s) >> [&] { timed_out = true; });
  for (auto& [name, p] : people)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  std::string rm = "rm -rf '" + state_dir + "'";
  (void) std::system(rm.c_str());
  std::cout << "\ncrust demo: " << (timed_out ? "FAILED to stop" : "done")
            << ": 3 connections made, 2 kept, 1 dropped, bob found alice "
               "again from his cache, 4 messages exchanged, 3 nodes stopped "
               "cleanly."
            << std::endl;
  return timed_out ? 1 : 0;
}
