// A STUN client's messages (RFC 8489): the Binding request that asks a
// server which address it sees us at, and the parse of its answer, with
// the retransmission schedule for UDP. Sans-I/O: bytes and time in, bytes
// and decisions out. The address discovery actor drives it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include "transports/ip_endpoint.hpp"

namespace crust::stun {

constexpr uint32_t magic_cookie = 0x2112A442;
constexpr size_t header_size = 20;

using transaction_id = std::array<uint8_t, 12>;

/// A fresh transaction id from the system's CSPRNG.
transaction_id new_transaction_id();

/// CHANGE-REQUEST flags (RFC 5780): ask the server to answer from its
/// other address and/or port, to learn how our NAT filters.
constexpr uint8_t change_ip = 0x04;
constexpr uint8_t change_port = 0x02;

/// A Binding request: CHANGE-REQUEST when `change` is not 0, then
/// FINGERPRINT.
std::vector<uint8_t> binding_request(const transaction_id& id,
                                     uint8_t change = 0);

/// A Binding success response: where the server saw us and, from a
/// server with RFC 5780 support, its second address (OTHER-ADDRESS).
struct binding_response : ip_endpoint {
  std::optional<ip_endpoint> other;
};

/// Parses a Binding response to transaction `id`: header, cookie,
/// attribute framing and, when present, FINGERPRINT are checked;
/// XOR-MAPPED-ADDRESS is preferred over MAPPED-ADDRESS. An error response
/// or anything malformed is an error saying why.
caf::expected<binding_response>
parse_binding_response(const uint8_t* data, size_t size,
                       const transaction_id& id);

/// The transaction id of a message that looks like a STUN response, for
/// matching it to a request before parsing it.
std::optional<transaction_id> response_id(const uint8_t* data, size_t size);

/// CRC-32 (ISO-HDLC) as FINGERPRINT uses it, before its XOR.
uint32_t crc32(const uint8_t* data, size_t size);

/// RFC 8489's retransmission for one request over UDP: sends at 0, RTO,
/// 3 RTO, 7 RTO, ... (`sends` in all), then waits 16 RTO for an answer.
class retransmission {
public:
  using clock = std::chrono::steady_clock;

  explicit retransmission(clock::duration rto = std::chrono::milliseconds(500),
                          int sends = 7)
    : rto_(rto), sends_(sends) {
    // nop
  }

  enum class step { send, wait, give_up };

  /// What to do at `now`; `deadline` is when to ask again.
  step poll(clock::time_point now, clock::time_point& deadline);

private:
  clock::duration rto_;
  int sends_;
  int sent_ = 0;
  clock::time_point next_{};
  clock::duration interval_{};
};

} // namespace crust::stun
