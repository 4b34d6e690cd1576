#define CAF_SUITE sctp_link
#include <caf/test/unit_test.hpp>

#include <algorithm>
#include <cstring>
#include <random>

#include "tests/unit/test_wall_clock.hpp"
#include "transports/datagram/sctp_link.hpp"

using namespace crust;

namespace {

// Two links joined by an in-memory wire that drops a share of packets
// (seeded: the same run every time) and a clock we advance ourselves:
// usrsctp's ticks and its gettimeofday move together (test_wall_clock.hpp
// says why both), so a run depends on the seed only.
struct pair_on_a_wire {
  test::frozen_wall_clock wall; // first: outlives the links
  uint64_t now_ms = 0;          // simulated time
  sctp_link a{2};
  sctp_link b{2};
  std::mt19937_64 rng{1};
  double loss = 0;
  uint64_t dropped = 0;

  size_t carry(sctp_link& from, sctp_link& to) {
    size_t n = 0;
    auto packets = from.take_output();
    for (auto& p : packets) {
      ++n;
      if (loss > 0 && std::uniform_real_distribution<>(0, 1)(rng) < loss) {
        ++dropped;
        continue;
      }
      to.input(p.data(), p.size());
    }
    return n;
  }

  // One step: packets both ways, then 1 ms of timers when the wire is quiet.
  void step() {
    auto moved = carry(a, b) + carry(b, a);
    if (moved == 0) {
      ++now_ms;
      wall.advance(std::chrono::milliseconds{1});
      sctp_stack::instance().tick(1);
    }
  }

  template <class Done>
  bool run_until(Done done, int max_steps = 200000) {
    for (int i = 0; i < max_steps; ++i) {
      if (done())
        return true;
      step();
    }
    return done();
  }
};

std::vector<uint8_t> numbered(uint32_t n, size_t size) {
  std::vector<uint8_t> m(size, static_cast<uint8_t>(n));
  std::memcpy(m.data(), &n, sizeof(n));
  return m;
}

uint32_t number_of(const std::vector<uint8_t>& m) {
  uint32_t n = 0;
  std::memcpy(&n, m.data(), sizeof(n));
  return n;
}

// Sends `count` messages alternating over two streams, as the buffer
// allows; checks every one arrives intact, in order per stream.
void transfer(pair_on_a_wire& w, uint32_t count, size_t size) {
  uint32_t sent = 0;
  uint32_t next[2] = {0, 0};
  uint32_t got = 0;
  bool intact = true;
  auto done = [&] {
    while (sent < count
           && w.a.send(sent % 2, numbered(sent, size).data(), size))
      ++sent;
    for (auto& m : w.b.take_received()) {
      auto n = number_of(m.bytes);
      intact = intact && m.bytes.size() == size && n % 2 == m.stream
               && n == next[m.stream] * 2 + m.stream
               && m.bytes.back() == static_cast<uint8_t>(n);
      ++next[m.stream];
      ++got;
    }
    return got == count;
  };
  CAF_CHECK(w.run_until(done));
  CAF_CHECK(intact);
  CAF_CHECK_EQUAL(got, count);
  CAF_MESSAGE(count << " messages of " << size << " B, " << w.dropped
                    << " packets dropped on the way");
}

} // namespace

CAF_TEST(both ends connect at once and the association comes up) {
  pair_on_a_wire w;
  CAF_REQUIRE(!w.a.down());
  CAF_REQUIRE_EQUAL(w.a.error(), "");
  w.a.connect();
  w.b.connect();
  CAF_CHECK(w.run_until([&] { return w.a.up() && w.b.up(); }, 1000));
  CAF_CHECK(!w.a.send(7, numbered(0, 8).data(), 8)); // no such stream
}

CAF_TEST(messages arrive intact and in order per stream) {
  pair_on_a_wire w;
  w.a.connect();
  w.b.connect();
  CAF_REQUIRE(w.run_until([&] { return w.a.up() && w.b.up(); }, 1000));
  transfer(w, 2000, 1024);
  transfer(w, 50, 64 * 1024); // several packets per message
}

CAF_TEST(five percent loss loses nothing) {
  pair_on_a_wire w;
  w.a.connect();
  w.b.connect();
  CAF_REQUIRE(w.run_until([&] { return w.a.up() && w.b.up(); }, 100000));
  w.loss = 0.05;
  transfer(w, 1000, 1024);
  CAF_CHECK_GREATER(w.dropped, 0u);
}

// 20 % loss both ways (DATA and SACKs alike): a burst of messages of up
// to 3 KB, over several seeds. Each arrives once, intact, in order per
// stream, and the link never goes quiet for long. The longest honest
// silence is one chunk whose retransmission or SACK keeps getting lost:
// T3 backs off 0.1, 0.2, 0.4, 0.8 s, then retries every second (RTO max
// 1 s), and each try fails with p = 1 - 0.8 * 0.8 = 0.36; over 300 seeds
// of this test the longest was 4.5 s (and the slowest burst 12.3 s). 8 s
// is 8 failed tries in a row. With gettimeofday running at real speed
// beside the stepped ticks, this went quiet for 12-50 s (T3 fired every
// second and resent nothing) and most seeds did not finish in 30 s.
CAF_TEST(twenty percent loss both ways: all arrive without long silences) {
  CAF_REQUIRE(test::wall_clock_is_ours());
  constexpr uint32_t count = 100;
  constexpr uint64_t max_silence_ms = 8000;
  constexpr uint64_t max_total_ms = 30000;
  auto size_of = [](uint32_t n) { return size_t{8} + (n * 1237u) % 2993u; };
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    CAF_MESSAGE("seed " << seed);
    pair_on_a_wire w;
    w.rng.seed(seed);
    w.a.connect();
    w.b.connect();
    CAF_REQUIRE(w.run_until([&] { return w.a.up() && w.b.up(); }, 1000));
    w.loss = 0.2;
    uint32_t sent = 0;
    uint32_t got = 0;
    uint32_t next[2] = {0, 0};
    bool intact = true;
    uint64_t start = w.now_ms;
    uint64_t last = w.now_ms; // when a message last arrived
    uint64_t silence = 0;     // the longest wait for the next message
    auto receive = [&] {
      for (auto& m : w.b.take_received()) {
        auto n = number_of(m.bytes);
        // Message n goes on stream n % 2: each stream's numbers come in
        // steps of two, so a duplicate or a gap breaks the sequence.
        intact = intact && m.stream < 2 && n == next[m.stream] * 2 + m.stream
                 && m.bytes == numbered(n, size_of(n));
        ++next[m.stream % 2];
        ++got;
        silence = std::max(silence, w.now_ms - last);
        last = w.now_ms;
      }
    };
    bool done = w.run_until([&] {
      while (sent < count) {
        auto m = numbered(sent, size_of(sent));
        if (!w.a.send(sent % 2, m.data(), m.size()))
          break;
        ++sent;
      }
      receive();
      return got >= count || w.now_ms - start > max_total_ms;
    }, 1000000);
    silence = std::max(silence, w.now_ms - last); // one that never came
    CAF_CHECK(done);
    CAF_CHECK_EQUAL(got, count);
    CAF_CHECK(intact);
    CAF_CHECK_LESS_OR_EQUAL(silence, max_silence_ms);
    CAF_CHECK_LESS_OR_EQUAL(w.now_ms - start, max_total_ms);
    CAF_MESSAGE("seed " << seed << ": " << got << " messages in "
                        << w.now_ms - start << " ms, longest silence "
                        << silence << " ms, " << w.dropped
                        << " packets dropped");
    // Nothing more turns up later (no duplicates after the last one).
    auto until = w.now_ms + 3000;
    w.run_until([&] { return w.now_ms >= until; });
    receive();
    CAF_CHECK_EQUAL(got, count);
  }
}

CAF_TEST(a link that is not up sends nothing) {
  sctp_link lonely{2};
  CAF_CHECK(!lonely.send(0, numbered(0, 8).data(), 8));
}
