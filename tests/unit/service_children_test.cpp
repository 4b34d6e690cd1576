// The service's children under supervision: each kind (the bootstrap
// cache, a bootstrap round, the LAN beacon, the port mapper, address
// discovery) is killed, reported to the application, and restarted after
// its delay; one that keeps failing stays off. Deterministic (the children
// that block run as pooled actors under CAF's test scheduler), and run in
// a network namespace of its own (tests/unit/in_netns.sh): the node
// listens on 0.0.0.0 with UPnP and STUN on, which reaches nothing there.
#define CAF_SUITE service_children
#include "tests/unit/service_fixture.hpp"

#include "actors/service/state.hpp"

namespace {

using crust::child_role;

void with_every_child(crust::service_options& o) {
  o.listen_address = "0.0.0.0";
  o.beacon = true;
  o.beacon_targets = {"127.0.0.1:9"};
  o.upnp = true;
  o.upnp_timeout = 100ms;
  // Unresolvable inside the namespace: each check is over at once.
  o.stun_servers = {"stun.invalid:3478"};
  o.bootstrap_cache_file = o.identity_file + ".cache";
  // A contact the allow list refuses before a packet leaves: the round
  // waits to retry it, alive.
  o.contacts = {"tcp://192.0.2.1:9"};
  o.allow_only = {"127.0.0.0/8"};
}

struct children_fixture : fixture {
  children_fixture() : fixture(with_every_child) {
    // nop
  }

  crust::service_state& state() {
    return deref<stateful_actor<crust::service_state>>(svc).state;
  }

  actor child_of(child_role role) {
    return crust::child(&deref<stateful_actor<crust::service_state>>(svc),
                        role);
  }

  size_t warnings_about(const std::string& text) {
    size_t n = 0;
    for (auto& w : events().warnings)
      n += contains(w.text, text);
    return n;
  }

  // Kills the child of `role`; true when the application heard of it.
  bool kill(child_role role, const std::string& name) {
    auto before = warnings_about(name + " failed");
    auto hdl = child_of(role);
    CAF_REQUIRE(hdl);
    anon_send_exit(hdl, exit_reason::kill);
    run();
    return warnings_about(name + " failed") == before + 1;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(service_children_tests, children_fixture)

CAF_TEST(every kind of child runs under supervision) {
  for (auto role : {child_role::listener, child_role::cache,
                    child_role::bootstrap, child_role::beacon,
                    child_role::port_mapper, child_role::address_discovery}) {
    CAF_MESSAGE(crust::to_string(role));
    CAF_CHECK(child_of(role));
    CAF_CHECK_EQUAL(state().child_roles.count(child_of(role).address()), 1u);
  }
}

CAF_TEST(a failed child is reported and restarted after its delay) {
  struct kind {
    child_role role;
    const char* name;
  };
  for (auto k : {kind{child_role::cache, "the bootstrap cache"},
                 kind{child_role::beacon, "the LAN beacon"},
                 kind{child_role::port_mapper, "the port mapper"},
                 kind{child_role::address_discovery, "address discovery"}}) {
    CAF_MESSAGE(k.name);
    auto old = child_of(k.role);
    CAF_CHECK(kill(k.role, k.name));
    CAF_CHECK(warnings_about(std::string{k.name} + " failed") == 1u);
    CAF_CHECK(warnings_about("restarting it in 1s") >= 1u);
    CAF_CHECK(!child_of(k.role)); // not before the delay
    advance_time(1s);
    run();
    CAF_CHECK(child_of(k.role));
    CAF_CHECK(child_of(k.role) != old);
  }
}

CAF_TEST(a failed bootstrap round is reported and the next round follows) {
  auto old = child_of(child_role::bootstrap);
  CAF_CHECK(kill(child_role::bootstrap, "the bootstrap round"));
  CAF_CHECK(!child_of(child_role::bootstrap));
  // Below crust.min-connections: the next round after the backoff.
  advance_time(10s);
  run();
  CAF_CHECK(child_of(child_role::bootstrap));
  CAF_CHECK(child_of(child_role::bootstrap) != old);
}

CAF_TEST(a child that keeps failing stays off) {
  // Restarted after 1, 2, 4 and 8 s: four failures within a minute.
  for (int i = 1; i <= 4; ++i) {
    CAF_CHECK(kill(child_role::beacon, "the LAN beacon"));
    advance_time(8s);
    run();
    CAF_REQUIRE(child_of(child_role::beacon));
  }
  CAF_CHECK_EQUAL(warnings_about("restarting it in 8s"), 1u);
  // The fifth: no more restarts.
  CAF_CHECK(kill(child_role::beacon, "the LAN beacon"));
  CAF_CHECK_EQUAL(warnings_about("failed 5 times within 60s and stays off"),
                  1u);
  advance_time(60s);
  run();
  CAF_CHECK(!child_of(child_role::beacon));
}

CAF_TEST_FIXTURE_SCOPE_END()
