// When a relayed peer is tried for a direct path again: first after a
// while, then backing off to a cap, every peer at once when our outside
// endpoints change, never two tries of one peer at once, and not at all
// once it is direct or gone.
#define CAF_SUITE upgrade_schedule
#include <caf/test/unit_test.hpp>

#include "node/upgrade_schedule.hpp"
#include "tests/unit/ids.hpp"

using namespace crust;
using namespace std::chrono_literals;
using crust::test::filled_id;

namespace {

const auto a = filled_id(0xA0);
const auto b = filled_id(0xB0);

upgrade_schedule::settings no_jitter() {
  upgrade_schedule::settings s;
  s.first = 30s;
  s.max = 10min;
  s.jitter = 0;
  return s;
}

} // namespace

CAF_TEST(a relayed peer is tried after the first wait and then backs off to the cap) {
  upgrade_schedule s{no_jitter()};
  upgrade_schedule::time_point t{};
  s.relayed(a, t, 0.5);
  CAF_CHECK(s.due(t + 29s).empty());
  CAF_CHECK(s.next_deadline() == t + 30s);
  t += 30s;
  CAF_REQUIRE_EQUAL(s.due(t).size(), 1u);
  CAF_CHECK(s.trying(a));
  CAF_CHECK(s.due(t + 1h).empty()); // never twice at once
  CAF_CHECK(!s.next_deadline());
  std::vector<int> waits;
  for (int i = 0; i < 8; ++i) {
    s.failed(a, t, 0.5);
    auto next = *s.next_deadline();
    waits.push_back(static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(next - t).count()));
    t = next;
    CAF_REQUIRE_EQUAL(s.due(t).size(), 1u);
  }
  CAF_CHECK_EQUAL(waits, (std::vector<int>{60, 120, 240, 480, 600, 600, 600,
                                           600}));
}

CAF_TEST(jitter keeps each wait within its share) {
  auto set = no_jitter();
  set.jitter = 0.2;
  upgrade_schedule s{set};
  upgrade_schedule::time_point t{};
  s.relayed(a, t, 0.0);
  s.relayed(b, t, 1.0);
  s.due(t + 1h);
  CAF_CHECK(!s.next_deadline());
  upgrade_schedule lo{set}, hi{set};
  lo.relayed(a, t, 0.0);
  hi.relayed(a, t, 0.999);
  CAF_CHECK(*lo.next_deadline() == t + 24s);
  CAF_CHECK(*hi.next_deadline() > t + 35s);
  CAF_CHECK(*hi.next_deadline() <= t + 36s);
}

CAF_TEST(new endpoints make every relayed peer due at once) {
  upgrade_schedule s{no_jitter()};
  upgrade_schedule::time_point t{};
  s.relayed(a, t, 0.5);
  s.relayed(b, t, 0.5);
  t += 30s;
  CAF_CHECK_EQUAL(s.due(t).size(), 2u);
  s.failed(a, t, 0.5); // a waits 60 s; b's try still runs
  t += 5s;
  s.endpoints_changed(t);
  auto now = s.due(t);
  CAF_REQUIRE_EQUAL(now.size(), 1u);
  CAF_CHECK(now[0] == a);
  // b is due again as soon as its running try fails, and both start
  // their backoff over.
  s.failed(b, t + 1s, 0.5);
  CAF_CHECK(*s.next_deadline() == t + 1s);
  CAF_CHECK_EQUAL(s.due(t + 1s).size(), 1u);
  s.failed(a, t + 2s, 0.5);
  CAF_CHECK(*s.next_deadline() == t + 2s + 60s);
}

CAF_TEST(a direct or gone peer is never tried) {
  upgrade_schedule s{no_jitter()};
  upgrade_schedule::time_point t{};
  s.relayed(a, t, 0.5);
  s.relayed(b, t, 0.5);
  s.direct(a);
  s.gone(b);
  CAF_CHECK_EQUAL(s.size(), 0u);
  CAF_CHECK(s.due(t + 1h).empty());
  s.failed(a, t, 0.5); // a late failure changes nothing
  CAF_CHECK_EQUAL(s.size(), 0u);
  s.endpoints_changed(t);
  CAF_CHECK(!s.next_deadline());
}
