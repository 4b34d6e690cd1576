// When the listening ports move: never when off, each wait within its
// share of the interval, the old ports draining for the grace before the
// next wait starts, a failed move leaving us where we were, and steps
// out of order ignored.
#define CAF_SUITE port_rotation
#include <caf/test/unit_test.hpp>

#include "node/port_rotation.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

using phase = port_rotation::phase;

port_rotation::settings every(port_rotation::duration interval) {
  port_rotation::settings s;
  s.interval = interval;
  s.grace = 60s;
  s.jitter = 0.25;
  return s;
}

} // namespace

CAF_TEST(an interval of zero never moves) {
  port_rotation::time_point t{};
  port_rotation r{every(0s), t, 0.5};
  CAF_CHECK(r.state() == phase::off);
  CAF_CHECK(!r.deadline());
  CAF_CHECK(!r.due(t + 1000h));
  r.begin();
  CAF_CHECK(r.state() == phase::off);
}

CAF_TEST(a move drains the old ports for the grace and then waits again) {
  port_rotation::time_point t{};
  port_rotation r{every(1h), t, 0.5}; // 0.5: no stretch
  CAF_CHECK(r.state() == phase::waiting);
  CAF_CHECK(r.deadline() == t + 1h);
  CAF_CHECK(!r.due(t + 59min));
  t += 1h;
  CAF_REQUIRE(r.due(t));
  r.begin();
  CAF_CHECK(r.state() == phase::binding);
  CAF_CHECK(!r.deadline()); // the binding's answers drive it
  CAF_CHECK(!r.due(t + 10h)); // never two moves at once
  t += 2s;
  r.bound(t);
  CAF_CHECK(r.state() == phase::draining);
  CAF_CHECK(r.deadline() == t + 60s);
  CAF_CHECK(!r.drain_over(t + 59s));
  CAF_CHECK(!r.due(t + 10h));
  t += 60s;
  CAF_REQUIRE(r.drain_over(t));
  r.drained(t, 0.5);
  CAF_CHECK(r.state() == phase::waiting);
  CAF_CHECK(r.deadline() == t + 1h); // from the end of the move
}

CAF_TEST(each wait stays within a quarter of the interval) {
  port_rotation::time_point t{};
  port_rotation lo{every(1h), t, 0.0};
  port_rotation hi{every(1h), t, 0.999999};
  CAF_CHECK(*lo.deadline() == t + 45min);
  CAF_CHECK(*hi.deadline() > t + 74min);
  CAF_CHECK(*hi.deadline() <= t + 75min);
  // Out-of-range draws are clamped, never outside the share.
  CAF_CHECK(lo.wait(-3.0) == port_rotation::duration{45min});
  CAF_CHECK(lo.wait(7.0) == port_rotation::duration{75min});
  // A tiny interval still waits at least a second.
  port_rotation tiny{every(1ms), t, 0.0};
  CAF_CHECK(*tiny.deadline() == t + 1s);
}

CAF_TEST(a move that cannot bind leaves the ports where they were) {
  port_rotation::time_point t{};
  port_rotation r{every(10min), t, 0.5};
  t += 10min;
  r.begin();
  r.failed(t, 0.5);
  CAF_CHECK(r.state() == phase::waiting);
  CAF_CHECK(r.deadline() == t + 10min);
}

CAF_TEST(steps out of order change nothing) {
  port_rotation::time_point t{};
  port_rotation r{every(10min), t, 0.5};
  r.bound(t);
  r.drained(t, 0.5);
  r.failed(t, 0.5);
  CAF_CHECK(r.state() == phase::waiting);
  CAF_CHECK(r.deadline() == t + 10min);
  t += 10min;
  r.begin();
  r.begin();
  r.drained(t, 0.5); // not draining yet
  CAF_CHECK(r.state() == phase::binding);
}
