// The signals of a hole-punching attempt, end to end between the two
// peers: OFFER, ANSWER, SYNC and CANCEL (docs/PROTOCOL.md, "Hole
// punching"). A mutual peer forwards them unread (or the application
// carries them, crust::connect_with); each is signed by its sender and
// bound to its receiver, the network and the protocol version, so the
// forwarder can drop or delay them but not forge or redirect them.
// Sans-I/O: encode and decode.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "crust/peer_id.hpp"
#include "nat/punch/candidates.hpp"
#include "transports/identity.hpp"
#include "transports/punch_hello.hpp" // attempt_id, probe_key

namespace crust {

enum class signal_kind : uint8_t {
  offer = 1,
  answer = 2,
  sync = 3,
  cancel = 4,
};

/// What the attempt may use (a bit each).
enum punch_caps : uint8_t {
  cap_tcp = 0x01,      // TCP simultaneous open from the listen port
  cap_udp = 0x02,      // UDP probes from the rudp socket
  cap_birthday = 0x04, // many sockets and probes against a symmetric NAT
};

struct punch_signal {
  signal_kind kind = signal_kind::offer;
  attempt_id attempt{};
  /// 1 to max_punch_rounds.
  uint8_t round = 1;
  // -- offer and answer --------------------------------------------------------
  nat_mapping mapping = nat_mapping::unknown;
  uint8_t caps = 0;
  /// The offer's; zero in an answer.
  probe_key key{};
  std::vector<candidate> candidates;
  // -- cancel ------------------------------------------------------------------
  /// Why the sender gives up (text for the other side's failure report).
  std::string reason;
};

/// Bounds every receiver checks.
constexpr uint8_t max_punch_rounds = 3;
constexpr size_t max_signal_candidates = 2 * max_candidates_per_transport;
constexpr size_t max_cancel_reason = 200;
/// The largest encoded signal (an offer with every candidate an IPv6
/// one), well inside a FORWARD frame.
constexpr size_t max_signal_size
  = 1 + 16 + 1 + 1 + 1 + 32 + 1 + max_signal_candidates * (1 + 1 + 4 + 1 + 16 + 2)
    + identity::signature_size;

/// What a signal's signature covers after its context: kind, attempt,
/// round and the kind's fields (candidates beyond max_signal_candidates
/// and text beyond max_cancel_reason left out).
std::vector<uint8_t> signal_body(const punch_signal& s);

/// The signal `s` from `me` to `to`, signed; candidates beyond
/// max_signal_candidates and text beyond max_cancel_reason are left out.
std::vector<uint8_t> encode_signal(const identity& me, const peer_id& to,
                                   const std::string& network,
                                   const punch_signal& s);

/// Reads a signal that `from` sent to `me`: the signature, the kind, the
/// bounds and every field are checked; the error says what is wrong.
caf::expected<punch_signal> decode_signal(const peer_id& from,
                                          const peer_id& me,
                                          const std::string& network,
                                          const uint8_t* bytes, size_t size);

/// The attempt a signal belongs to, read without checking anything else
/// (for routing a signal to its attempt before verifying it); false when
/// too short.
bool peek_attempt(const uint8_t* bytes, size_t size, attempt_id& out);

} // namespace crust
