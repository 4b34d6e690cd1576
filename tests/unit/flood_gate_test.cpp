#define CAF_SUITE flood_gate
#include <caf/test/unit_test.hpp>

#include "transports/defence/flood_gate.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

const flood_gate::time_point t0{};

// 1 MiB/s and 100 records/s: bursts of 256 KiB and 25 records.
flow_rates slow() {
  return {1024.0 * 1024, 100};
}

flow_rates fast() {
  return {1e9, 1e6};
}

} // namespace

CAF_TEST(reads within the limits stay open) {
  flood_gate g{slow(), nullptr, 10s, t0};
  for (int i = 0; i < 100; ++i) // 10 KiB and 1 record every 10 ms
    CAF_CHECK(g.on_read(10 * 1024, 1, t0 + i * 10ms)
              == flood_gate::verdict::open);
}

CAF_TEST(a read that overdraws bytes pauses until the debt is paid) {
  flood_gate g{slow(), nullptr, 10s, t0};
  // 256 KiB burst, 512 KiB read: 256 KiB in debt, 250 ms at 1 MiB/s.
  CAF_CHECK(g.on_read(512 * 1024, 1, t0) == flood_gate::verdict::paused);
  CAF_CHECK(g.pause_for() >= 249ms && g.pause_for() <= 251ms);
  CAF_CHECK(g.on_resume(t0 + 100ms) == flood_gate::verdict::paused);
  CAF_CHECK(g.on_resume(t0 + 251ms) == flood_gate::verdict::open);
}

CAF_TEST(many tiny records overdraw the records bucket) {
  flood_gate g{slow(), nullptr, 10s, t0};
  CAF_CHECK(g.on_read(2000, 125, t0) == flood_gate::verdict::paused);
  // 100 records in debt at 100 records/s.
  CAF_CHECK(g.pause_for() >= 999ms && g.pause_for() <= 1001ms);
}

CAF_TEST(a peer that stays over its limit is a flood after the timeout) {
  flood_gate g{slow(), nullptr, 2s, t0};
  auto now = t0;
  auto v = g.on_read(512 * 1024, 1, now);
  int reads = 1;
  // Every time reading resumes, the peer has another 256 KiB waiting.
  while (v == flood_gate::verdict::paused && reads < 100) {
    now += g.pause_for();
    v = g.on_resume(now);
    if (v != flood_gate::verdict::open)
      continue; // still paying, or judged at the flood deadline
    v = g.on_read(256 * 1024 + 1, 1, now);
    ++reads;
  }
  CAF_CHECK(v == flood_gate::verdict::flood);
  CAF_CHECK(now - t0 >= 2s && now - t0 < 3s);
  CAF_CHECK_NOT_EQUAL(g.detail().find("1 MiB/s (its limit per connection)"),
                      std::string::npos);
}

CAF_TEST(a burst followed by a read within the limit is forgiven) {
  flood_gate g{slow(), nullptr, 1s, t0};
  CAF_CHECK(g.on_read(512 * 1024, 1, t0) == flood_gate::verdict::paused);
  CAF_CHECK(g.on_resume(t0 + 300ms) == flood_gate::verdict::open);
  CAF_CHECK(g.on_read(1024, 1, t0 + 900ms) == flood_gate::verdict::open);
  // Much later, a new burst starts a new count.
  CAF_CHECK(g.on_read(512 * 1024, 1, t0 + 5s) == flood_gate::verdict::paused);
  CAF_CHECK(g.on_resume(t0 + 5s + 300ms) == flood_gate::verdict::open);
}

CAF_TEST(connections from one address share its limit) {
  ip_meters ips{slow()};
  auto a = ips.acquire("10.0.0.1", t0);
  auto b = ips.acquire("10.0.0.1", t0);
  auto other = ips.acquire("10.0.0.2", t0);
  CAF_CHECK_EQUAL(a, b);
  CAF_CHECK_NOT_EQUAL(a, other);
  flood_gate ga{fast(), a, 10s, t0};
  flood_gate gb{fast(), b, 10s, t0};
  flood_gate gc{fast(), other, 10s, t0};
  // Each alone is within its own (fast) limit; together they overdraw
  // their address's 256 KiB burst.
  CAF_CHECK(ga.on_read(200 * 1024, 1, t0) == flood_gate::verdict::open);
  CAF_CHECK(gb.on_read(200 * 1024, 1, t0) == flood_gate::verdict::paused);
  CAF_CHECK(gc.on_read(200 * 1024, 1, t0) == flood_gate::verdict::open);
}

CAF_TEST(the address table forgets addresses nobody holds) {
  ip_meters ips{slow()};
  {
    std::vector<std::shared_ptr<ip_meters::shared_meter>> held;
    for (int i = 0; i < 1000; ++i)
      held.push_back(ips.acquire("10.0." + std::to_string(i / 256) + "."
                                   + std::to_string(i % 256),
                                 t0));
    CAF_CHECK_EQUAL(ips.size(), 1000u);
  }
  CAF_CHECK_EQUAL(ips.size(), 0u);
  // Reused slots: the map itself stays small as addresses come and go.
  size_t most = 0;
  for (int i = 0; i < 5000; ++i) {
    ips.acquire("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256),
                t0);
    most = std::max(most, ips.slots());
  }
  CAF_CHECK_EQUAL(ips.size(), 0u);
  CAF_CHECK_LESS_OR_EQUAL(most, 2000u); // 1000 from before, swept once
}
