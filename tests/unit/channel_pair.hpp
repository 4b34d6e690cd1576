// Two secure channels talking to each other in memory, for tests.
#pragma once

#include <vector>

#include "transports/identity.hpp"
#include "transports/secure_channel.hpp"

namespace crust::test {

inline secure_channel::settings channel_settings(const identity& me,
                                                 bool initiator,
                                                 uint64_t session = 1) {
  secure_channel::settings s;
  s.initiator = initiator;
  s.static_key = me.noise_static();
  s.local = hello{me.id(), session};
  s.network_name = "test";
  return s;
}

struct received {
  std::vector<wire::frame_type> types;
  std::vector<std::vector<uint8_t>> bodies;
  bool established = false;
  bool failed = false;
};

/// Feeds `bytes` to `ch`, collecting events; handshake replies go to `reply`.
inline void deliver(secure_channel& ch, const std::vector<char>& bytes,
                    received& got, std::vector<char>& reply) {
  ch.feed(bytes.data(), bytes.size());
  for (;;) {
    frame_view f;
    auto ev = ch.next(reply, f);
    if (ev == secure_channel::event::need_more)
      return;
    if (ev == secure_channel::event::failed) {
      got.failed = true;
      return;
    }
    if (ev == secure_channel::event::established)
      got.established = true;
    if (ev == secure_channel::event::frame) {
      got.types.push_back(f.type);
      got.bodies.emplace_back(f.body, f.body + f.size);
    }
  }
}

/// Runs the handshake between `a` and `b` to the end: both start (an
/// initiator sends message 1, a punched end its PUNCH_HELLO, a responder
/// nothing), then bytes move both ways until neither has more to say.
inline void handshake(secure_channel& a, secure_channel& b, received& ga,
                      received& gb) {
  std::vector<char> to_b, to_a;
  a.start(to_b);
  b.start(to_a);
  for (int i = 0; i < 8 && (!to_a.empty() || !to_b.empty()); ++i) {
    std::vector<char> next_to_a, next_to_b;
    if (!to_b.empty())
      deliver(b, to_b, gb, next_to_a);
    if (!to_a.empty())
      deliver(a, to_a, ga, next_to_b);
    to_a = std::move(next_to_a);
    to_b = std::move(next_to_b);
  }
}

} // namespace crust::test
