// A node's half of a hole punch that the application signals itself, as
// the original crust's connection info did (crust::prepare_connection_info
// and connect_with): who we are, a fresh attempt id and key share, our
// NAT's mapping, what we can punch and our candidates, signed by us, as
// one JSON object (docs/PROTOCOL.md, "Rendezvous info"). The application
// carries it to the peer by its own means; the two halves make one
// attempt, the same on both sides. Sans-I/O: encode, decode, combine.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "crust/peer_id.hpp"
#include "nat/punch/signal.hpp"
#include "transports/identity.hpp"

namespace crust {

struct rendezvous {
  peer_id peer;
  attempt_id attempt{};
  /// This side's share of the attempt's probe key.
  probe_key key{};
  nat_mapping mapping = nat_mapping::unknown;
  uint8_t caps = 0;
  std::vector<candidate> candidates;
};

/// The longest JSON text read.
constexpr size_t max_rendezvous_size = 8192;

/// `r` as one JSON object, signed by `me` (r.peer is set to its id);
/// candidates beyond max_signal_candidates are left out.
std::string encode_rendezvous(const identity& me, const std::string& network,
                              rendezvous r);

/// Reads and verifies a JSON object that encode_rendezvous wrote on
/// `network`: every field present, well formed and bounded, nothing else,
/// the signature its peer's. The error says what is wrong.
caf::expected<rendezvous> decode_rendezvous(const std::string& network,
                                            std::string_view json);

/// One attempt from two halves: its id and key are derived from both
/// (whichever is ours), the side with the smaller peer id offers, and
/// `theirs` is the peer's half as the attempt reads an OFFER or ANSWER.
struct rendezvous_attempt {
  attempt_id id{};
  probe_key key{};
  bool we_offer = false;
  punch_signal theirs;
};

rendezvous_attempt combine(const rendezvous& ours, const rendezvous& theirs);

} // namespace crust
