#define CAF_SUITE token_bucket
#include <caf/test/unit_test.hpp>

#include "transports/defence/token_bucket.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

const token_bucket::time_point t0{};

} // namespace

CAF_TEST(a full bucket serves its burst then refuses) {
  token_bucket b{100, 10, t0};
  for (int i = 0; i < 10; ++i)
    CAF_CHECK(b.take(1, t0));
  CAF_CHECK(!b.take(1, t0));
}

CAF_TEST(tokens come back at the rate and never beyond the burst) {
  token_bucket b{100, 10, t0};
  CAF_CHECK(b.take(10, t0));
  CAF_CHECK(!b.take(1, t0 + 5ms)); // 0.5 tokens
  CAF_CHECK(b.take(1, t0 + 10ms));
  CAF_CHECK_EQUAL(b.available(t0 + 10s), 10.0);
}

CAF_TEST(charging goes into debt and wait_for says how long to pay it) {
  token_bucket b{1000, 100, t0};
  b.charge(300, t0); // 100 - 300 = -200
  CAF_CHECK(!b.take(1, t0));
  auto wait = b.wait_for(1, t0);
  CAF_CHECK(wait >= 201ms && wait <= 202ms);
  CAF_CHECK(b.take(1, t0 + wait));
}

CAF_TEST(a clock that goes backwards gives nothing away) {
  token_bucket b{100, 10, t0 + 1s};
  CAF_CHECK(b.take(10, t0 + 1s));
  CAF_CHECK(!b.take(1, t0));
  CAF_CHECK_EQUAL(b.wait_for(0, t0), token_bucket::duration::zero());
}
