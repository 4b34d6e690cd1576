#define CAF_SUITE restart_budget
#include <caf/test/unit_test.hpp>

#include "node/restart_budget.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

using time_point = restart_budget::time_point;

} // namespace

CAF_TEST(restarts wait twice as long after each crash and then stop) {
  restart_budget b;
  auto t = time_point{} + 1h;
  CAF_CHECK(b.on_crash(t) == caf::timespan{1s});
  CAF_CHECK(b.on_crash(t + 1s) == caf::timespan{2s});
  CAF_CHECK(b.on_crash(t + 3s) == caf::timespan{4s});
  CAF_CHECK(b.on_crash(t + 7s) == caf::timespan{8s});
  CAF_CHECK(!b.on_crash(t + 15s)); // the fifth within a minute
  CAF_CHECK_EQUAL(b.crashes(), 5u);
}

CAF_TEST(crashes older than the window are forgotten) {
  restart_budget b;
  auto t = time_point{} + 1h;
  for (int i = 0; i < 4; ++i)
    CAF_CHECK(b.on_crash(t + std::chrono::seconds(i)));
  // A minute after the first three: two in the window, the new one too.
  auto later = t + 62s;
  auto delay = b.on_crash(later);
  CAF_REQUIRE(delay);
  CAF_CHECK(*delay == caf::timespan{2s});
  CAF_CHECK_EQUAL(b.crashes(), 2u);
}

CAF_TEST(the delay is capped) {
  restart_budget b{{100, std::chrono::hours(1), 1s, 5s}};
  auto t = time_point{} + 1h;
  caf::timespan last{0};
  for (int i = 0; i < 10; ++i)
    last = *b.on_crash(t + std::chrono::seconds(i));
  CAF_CHECK(last == caf::timespan{5s});
}
