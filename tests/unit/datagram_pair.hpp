// The datagram channel tests' shared pieces: two channels on an in-memory
// wire (wire_pair) and the settings they start from. Included by
// datagram_channel_test.cpp and datagram_probe_test.cpp.
#pragma once

#include <caf/test/unit_test.hpp>

#include <cstring>
#include <random>

#include "transports/datagram/channel.hpp"
#include "transports/datagram/packet.hpp"
#include "transports/identity.hpp"
#include "transports/datagram/sctp_link.hpp"
#include "tests/unit/stun_server.hpp"
#include "tests/unit/test_wall_clock.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

using clock_type = datagram_channel::clock;

datagram_channel::settings settings_for(const identity& me) {
  datagram_channel::settings s;
  s.static_key = me.noise_static();
  s.local = hello{me.id(), 42, false};
  s.network_name = "test";
  s.cookie_threshold = 4;
  s.max_half_open = 64;
  return s;
}

// Two channels (a at 10.0.0.1:1000, b at 10.0.0.2:2000) on an in-memory
// wire with seeded loss, a clock we advance (usrsctp's ticks and its
// gettimeofday with it: test_wall_clock.hpp), and strangers who may write
// to b.
struct wire_pair {
  test::frozen_wall_clock wall; // first: outlives the channels
  identity ida = identity::ephemeral();
  identity idb = identity::ephemeral();
  clock_type::time_point now = clock_type::now();
  datagram_channel a{settings_for(ida), now};
  datagram_channel b{settings_for(idb), now};
  ip_endpoint at_a{"10.0.0.1", 1000};
  ip_endpoint at_b{"10.0.0.2", 2000};
  std::mt19937_64 rng{7};
  double loss = 0;
  std::vector<datagram_channel::outgoing> to_strangers;
  std::vector<std::vector<uint8_t>> seen_by_b; // every datagram for b

  size_t carry(datagram_channel& from, const ip_endpoint& src,
               datagram_channel& to, const ip_endpoint& dst) {
    from.flush(now);
    auto packets = std::move(from.out());
    from.out().clear();
    for (auto& p : packets) {
      if (!(p.to == dst)) {
        to_strangers.push_back(std::move(p));
        continue;
      }
      if (loss > 0 && std::uniform_real_distribution<>(0, 1)(rng) < loss)
        continue;
      if (&to == &b)
        seen_by_b.push_back(p.bytes);
      to.receive(src, p.bytes.data(), p.bytes.size(), now);
    }
    return packets.size();
  }

  void step() {
    auto moved = carry(a, at_a, b, at_b) + carry(b, at_b, a, at_a);
    if (moved == 0) {
      now += 1ms;
      wall.advance(1ms);
      sctp_stack::instance().tick(1);
      a.tick(now);
      b.tick(now);
    }
  }

  template <class Done>
  bool run_until(Done done, int max_steps = 400000) {
    for (int i = 0; i < max_steps && !done(); ++i)
      step();
    return done();
  }

  // Steps until `ch` reports `session` down; its reason ("" if never).
  std::string down_reason(datagram_channel& ch, uint32_t session,
                          int max_steps = 400000) {
    std::string why;
    run_until([&] {
      for (auto& ev : ch.events())
        if (ev.what == datagram_channel::event::down && ev.session == session)
          why = ev.reason;
      ch.events().clear();
      return !why.empty();
    }, max_steps);
    return why;
  }

  // Both sides up; returns a's and b's session indices.
  std::pair<uint32_t, uint32_t> connect() {
    auto sa = a.dial(at_b, idb.id(), false, now);
    CAF_REQUIRE(sa != 0);
    uint32_t sb = 0;
    bool a_up = false;
    CAF_REQUIRE(run_until([&] {
      for (auto& ev : a.events())
        a_up |= ev.what == datagram_channel::event::up && ev.session == sa;
      for (auto& ev : b.events())
        if (ev.what == datagram_channel::event::up)
          sb = ev.session;
      a.events().clear();
      b.events().clear();
      return a_up && sb != 0;
    }));
    return {sa, sb};
  }
};

std::vector<uint8_t> numbered(uint32_t n, size_t size) {
  std::vector<uint8_t> m(size, static_cast<uint8_t>(n));
  std::memcpy(m.data(), &n, sizeof(n));
  return m;
}

// Sends `count` messages a -> b on two streams and checks every one
// arrives once, in order per stream.
void transfer(wire_pair& w, uint32_t sa, int count, size_t size) {
  int sent = 0;
  uint32_t next[2] = {0, 0};
  int got = 0;
  bool ordered = true;
  CAF_REQUIRE(w.run_until([&] {
    while (sent < count) {
      auto stream = static_cast<uint16_t>(sent % 2);
      auto m = numbered(static_cast<uint32_t>(sent / 2), size);
      if (!w.a.send(sa, stream, m.data(), m.size()))
        break;
      ++sent;
    }
    for (auto& ev : w.b.events()) {
      if (ev.what != datagram_channel::event::frame)
        continue;
      uint32_t n;
      std::memcpy(&n, ev.bytes.data(), sizeof(n));
      ordered &= ev.bytes.size() == size && n == next[ev.stream]++;
      ++got;
    }
    w.b.events().clear();
    return got == count;
  }, 4000000));
  CAF_CHECK(ordered);
}

} // namespace
