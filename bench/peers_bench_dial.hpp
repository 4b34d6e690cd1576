// crust-bench-peers: many TCP dials from one process at once (epoll,
// non-blocking), for the connection-rate and idle-memory runs of raw TCP
// and of crust (whose dialer speaks Noise itself: peers_bench_noise.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace peers_bench {

// One connection's protocol, from connected to done.
struct dial_session {
  virtual ~dial_session() = default;
  // Connected: bytes to send first go to `out`.
  virtual void start(std::vector<char>& out) = 0;
  // Bytes arrived (replies go to `out`): -1 failed, 0 more, 1 done.
  virtual int on_bytes(const char* data, size_t size,
                       std::vector<char>& out) = 0;
  // Held and idle: bytes that keep the connection alive go to `out` (a
  // protocol with a heartbeat timeout drops a silent peer). False: none.
  virtual bool keepalive(std::vector<char>&) {
    return false;
  }
  // Why it failed, when it did.
  virtual std::string why() const {
    return {};
  }
};

using session_maker = std::function<std::unique_ptr<dial_session>(int index)>;

struct dial_outcome {
  uint64_t done = 0, failed = 0;
  std::string first_error;
};

// `in_flight` dials at once to 127.0.0.1:`port`. With `hold`, the first
// `count` done connections stay open (client_conns in the page counts
// them); once all are done it calls `all_held`, then keeps them (alive,
// see keepalive) until the page's abort. Without, each done connection
// is closed (reset, so no TIME_WAIT eats the ports) and a new one dialled,
// until the page's stop or abort. Dialling takes `limit_s` at most.
dial_outcome dial_many(uint16_t port, int in_flight, int count, bool hold,
                       double limit_s, const session_maker& make,
                       const std::function<void()>& all_held = {});

} // namespace peers_bench
