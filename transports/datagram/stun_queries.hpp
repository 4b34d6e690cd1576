// STUN Binding requests sent from the rudp socket itself, sans-I/O: the
// answer is where the NAT maps *that* socket, the one peers punch to. A
// fresh socket's mapping (address discovery's) shows the NAT's IP and how
// it behaves, but its port says nothing of ours when the NAT does not
// keep source ports; this one does (Tailscale's disco asks STUN from its
// one socket for the same reason).
//
// One socket speaks both protocols: STUN's first byte is 0-3 (RFC 7983),
// crust's datagrams start at 0xC1. Only an answer to a transaction we
// have open, from the server we asked, counts; anything else in STUN's
// range is dropped unanswered.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nat/stun.hpp"
#include "transports/ip_endpoint.hpp"

namespace crust::datagram {

/// True when `data` is in STUN's range of first bytes (RFC 7983: 0-3).
bool is_stun(const uint8_t* data, size_t size);

class stun_queries {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// Questions open at once: a socket asks one or two servers.
  static constexpr size_t max_open = 4;

  /// One question's end: `mapped` where the server saw us, else `error`.
  struct answer {
    uint32_t query = 0;
    std::optional<ip_endpoint> mapped;
    std::string error;
  };

  struct request {
    ip_endpoint to;
    std::vector<uint8_t> bytes;
  };

  /// Asks `server` where it sees us; the query's number (never 0), or 0
  /// when max_open questions are open.
  uint32_t ask(const ip_endpoint& server, time_point now);

  /// A datagram in STUN's range from `from`: true when it answered an
  /// open question (its answer is queued), false when it is dropped.
  bool receive(const ip_endpoint& from, const uint8_t* data, size_t size);

  /// Retransmissions due by `now`, and questions that go unanswered.
  void tick(time_point now);

  /// True while a question is open (the caller keeps ticking).
  bool open() const {
    return !open_.empty();
  }

  std::vector<request>& out() {
    return out_;
  }

  std::vector<answer>& answers() {
    return answers_;
  }

  /// Retransmission: sends at 0, 250, 750, 1750 and 3750 ms, then waits
  /// 4 s: a question ends within 8 s.
  static constexpr auto rto = std::chrono::milliseconds(250);
  static constexpr int sends = 5;

private:
  struct question {
    uint32_t query = 0;
    ip_endpoint server;
    stun::transaction_id id{};
    std::vector<uint8_t> bytes;
    stun::retransmission schedule{rto, sends};
    uint32_t ignored = 0; // answers from it that did not parse
  };

  void step(question& q, time_point now, bool& done);

  uint32_t next_ = 1;
  std::map<stun::transaction_id, question> open_;
  std::vector<request> out_;
  std::vector<answer> answers_;
};

} // namespace crust::datagram
