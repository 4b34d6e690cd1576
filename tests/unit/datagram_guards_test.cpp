#define CAF_SUITE datagram_guards
#include <caf/test/unit_test.hpp>

#include <random>
#include <set>

#include "transports/defence/cookie_jar.hpp"
#include "transports/defence/replay_window.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

bool accept(replay_window& w, uint64_t n) {
  if (!w.check(n))
    return false;
  w.commit(n);
  return true;
}

} // namespace

CAF_TEST(each counter is accepted once in any order within the window) {
  replay_window w;
  CAF_CHECK(accept(w, 0));
  CAF_CHECK(!accept(w, 0));
  CAF_CHECK(accept(w, 5));
  CAF_CHECK(accept(w, 3)); // late, still new
  CAF_CHECK(!accept(w, 3));
  CAF_CHECK(!accept(w, 5));
  CAF_CHECK(accept(w, 1));
  CAF_CHECK_EQUAL(w.highest(), 5u);
}

CAF_TEST(counters older than the window are refused) {
  replay_window w;
  CAF_CHECK(accept(w, 10000));
  CAF_CHECK(accept(w, 10000 - replay_window::size + 1));
  CAF_CHECK(!w.check(10000 - replay_window::size));
  CAF_CHECK(!w.check(0));
  // A jump far ahead forgets everything below the new window.
  CAF_CHECK(accept(w, 1000000));
  CAF_CHECK(!w.check(10000));
  CAF_CHECK(accept(w, 1000000 - 1));
}

CAF_TEST(a check without commit does not move the window) {
  replay_window w;
  CAF_CHECK(accept(w, 100));
  CAF_CHECK(w.check(5000)); // e.g. a forged packet that fails its tag
  CAF_CHECK_EQUAL(w.highest(), 100u);
  CAF_CHECK(accept(w, 99));
}

CAF_TEST(a shuffled stream with duplicates is accepted exactly once each) {
  // Against a set as the model: counters 0..4999, each sent twice, moved
  // by up to 500 places (well inside the window).
  std::vector<uint64_t> sent;
  for (uint64_t i = 0; i < 5000; ++i) {
    sent.push_back(i);
    sent.push_back(i);
  }
  std::mt19937 rng{7};
  for (size_t i = 0; i + 1 < sent.size(); ++i)
    std::swap(sent[i], sent[std::min(sent.size() - 1, i + rng() % 500)]);
  replay_window w;
  std::set<uint64_t> seen;
  size_t accepted = 0;
  for (auto n : sent) {
    bool fresh = seen.insert(n).second;
    CAF_CHECK_EQUAL(accept(w, n), fresh);
    accepted += fresh;
  }
  CAF_CHECK_EQUAL(accepted, 5000u);
}

CAF_TEST(a cookie is bound to its source and outlives one rotation) {
  auto t = cookie_jar::clock::time_point{} + 1h;
  cookie_jar jar{t};
  auto c = jar.make("198.18.0.11:4000", t);
  CAF_CHECK(jar.valid("198.18.0.11:4000", c, t));
  CAF_CHECK(!jar.valid("198.18.0.11:4001", c, t));
  CAF_CHECK(!jar.valid("198.18.0.12:4000", c, t));
  auto forged = c;
  forged[0] ^= 1;
  CAF_CHECK(!jar.valid("198.18.0.11:4000", forged, t));
  t += cookie_jar::rotation + 1s;
  CAF_CHECK(jar.valid("198.18.0.11:4000", c, t)); // previous key
  t += cookie_jar::rotation + 1s;
  CAF_CHECK(!jar.valid("198.18.0.11:4000", c, t)); // two rotations: gone
}

CAF_TEST(after a long silence no old cookie is good) {
  auto t = cookie_jar::clock::time_point{} + 1h;
  cookie_jar jar{t};
  auto c = jar.make("10.0.0.1:1", t);
  t += 10 * cookie_jar::rotation;
  CAF_CHECK(!jar.valid("10.0.0.1:1", c, t));
  auto fresh = jar.make("10.0.0.1:1", t);
  CAF_CHECK(jar.valid("10.0.0.1:1", fresh, t));
}
