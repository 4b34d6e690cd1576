#define CAF_SUITE bootstrap_plan
#include <caf/test/unit_test.hpp>

#include "discovery/bootstrap_plan.hpp"

using namespace crust;
using namespace std::chrono_literals;
using state = bootstrap_plan::state;

namespace {

const bootstrap_plan::time_point t0{};

endpoint ep(uint16_t port) {
  return endpoint{transport::tcp, "192.0.2.1", port, caf::none};
}

std::vector<endpoint> eps(std::initializer_list<uint16_t> ports) {
  std::vector<endpoint> result;
  for (auto p : ports)
    result.push_back(ep(p));
  return result;
}

bootstrap_plan::settings cfg(size_t concurrency, size_t target) {
  bootstrap_plan::settings s;
  s.concurrency = concurrency;
  s.target = target;
  return s;
}

} // namespace

CAF_TEST(cache entries come first and concurrency is bounded) {
  bootstrap_plan p{cfg(2, 4), eps({1, 2, 3}), eps({9}), 1};
  CAF_CHECK(p.due(t0) == eps({1, 2}));
  CAF_CHECK(p.due(t0).empty()); // two in flight
  p.reached(ep(1));
  CAF_CHECK(p.due(t0) == eps({3}));
  p.failed(ep(2), "refused", t0);
  CAF_CHECK(p.due(t0) == eps({9})); // 2 waits for its backoff
}

CAF_TEST(a contact that repeats a cache endpoint is dialled once) {
  auto pinned = ep(1);
  pinned.pinned = peer_id::random();
  bootstrap_plan p{cfg(8, 4), {pinned}, eps({1, 2}), 1};
  auto first = p.due(t0);
  CAF_REQUIRE_EQUAL(first.size(), 2u);
  CAF_CHECK(first[0] == pinned); // the cache's pinned form wins
  CAF_CHECK(first[1] == ep(2));
}

CAF_TEST(backoff doubles up to its cap and jitter stays within half of it) {
  bootstrap_plan::settings s = cfg(1, 1);
  s.attempts = 10;
  s.backoff = 1s;
  s.backoff_cap = 5s;
  CAF_CHECK(s.backoff == 1s);
  bootstrap_plan p{s, eps({1}), {}, 42};
  CAF_CHECK(p.backoff_for(1) == 1s);
  CAF_CHECK(p.backoff_for(2) == 2s);
  CAF_CHECK(p.backoff_for(3) == 4s);
  CAF_CHECK(p.backoff_for(4) == 5s);
  CAF_CHECK(p.backoff_for(9) == 5s);
  auto now = t0;
  for (uint32_t n = 1; n <= 4; ++n) {
    CAF_REQUIRE(p.due(now) == eps({1}));
    p.failed(ep(1), "timeout", now);
    auto next = p.next_due();
    CAF_REQUIRE(next);
    auto wait = *next - now;
    CAF_CHECK(wait >= p.backoff_for(n) / 2);
    CAF_CHECK(wait < p.backoff_for(n) * 3 / 2);
    CAF_CHECK(p.due(*next - 1ns).empty());
    now = *next;
  }
}

CAF_TEST(jitter is deterministic for a seed and differs between seeds) {
  auto wait = [](uint64_t seed) {
    bootstrap_plan p{cfg(1, 1), eps({1}), {}, seed};
    p.due(t0);
    p.failed(ep(1), "x", t0);
    return *p.next_due() - t0;
  };
  CAF_CHECK(wait(7) == wait(7));
  CAF_CHECK(wait(7) != wait(8));
}

CAF_TEST(the round finishes when enough connections are kept) {
  bootstrap_plan p{cfg(4, 2), eps({1, 2, 3}), {}, 1};
  p.due(t0);
  p.reached(ep(1));
  p.kept(1);
  CAF_CHECK(p.status() == state::running);
  p.kept(2);
  CAF_CHECK(p.status() == state::finished);
  CAF_CHECK(p.due(t0).empty());
  CAF_CHECK(!p.next_due());
}

CAF_TEST(the round fails with every reason when nothing answers) {
  auto s = cfg(4, 2);
  s.attempts = 2;
  bootstrap_plan p{s, eps({1}), eps({2}), 1};
  auto now = t0;
  for (int round = 0; round < 2; ++round) {
    for (auto& e : p.due(now))
      p.failed(e, "connection refused", now);
    if (auto next = p.next_due())
      now = *next;
    for (auto& e : p.due(now))
      p.failed(e, "connection refused", now);
  }
  CAF_CHECK(p.status() == state::failed);
  auto why = p.reasons();
  CAF_REQUIRE_EQUAL(why.size(), 2u);
  CAF_CHECK_EQUAL(why[0], "tcp://192.0.2.1:1: connection refused");
}

CAF_TEST(a round that reached someone but not the target still finishes) {
  auto s = cfg(4, 3);
  s.attempts = 1;
  bootstrap_plan p{s, eps({1, 2}), {}, 1};
  p.due(t0);
  p.reached(ep(1));
  p.kept(1);
  p.failed(ep(2), "timeout", t0);
  CAF_CHECK(p.status() == state::finished);
}
