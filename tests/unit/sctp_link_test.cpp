#define CAF_SUITE sctp_link
#include <caf/test/unit_test.hpp>

#include <cstring>
#include <random>

#include "transports/sctp_link.hpp"

using namespace crust;

namespace {

// Two links joined by an in-memory wire that drops a share of packets
// (seeded: the same run every time) and a clock we advance ourselves.
struct pair_on_a_wire {
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
    if (moved == 0)
      sctp_stack::instance().tick(1);
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

CAF_TEST(a link that is not up sends nothing) {
  sctp_link lonely{2};
  CAF_CHECK(!lonely.send(0, numbered(0, 8).data(), 8));
}
