// Where a peer can be reached: `tcp://IP:PORT`, optionally pinned to the
// peer id expected there as `tcp://IP:PORT#PEERID` (IPv6 as `[::1]`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/optional.hpp>

#include "crust/peer_id.hpp"

namespace crust {

enum class transport : uint8_t { tcp = 0, rudp = 1, relay = 2 };

std::string to_string(transport x);

struct endpoint {
  transport proto = transport::tcp;
  std::string host;
  uint16_t port = 0;
  /// The peer id that must answer at this endpoint, when known in advance.
  caf::optional<peer_id> pinned;

  /// Parses the textual form; the error names what is wrong with `text`.
  static caf::expected<endpoint> parse(std::string_view text);

  friend bool operator==(const endpoint& a, const endpoint& b) {
    return a.proto == b.proto && a.host == b.host && a.port == b.port
           && a.pinned == b.pinned;
  }
};

/// The textual form that `endpoint::parse` reads back (tcp:// and udp://;
/// a relayed connection's ends print as relay://RELAY-IP:PORT#PEER, which
/// is not dialled).
std::string to_string(const endpoint& x);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, endpoint& x) {
  return f(caf::meta::type_name("crust::endpoint"), x.proto, x.host, x.port,
           x.pinned);
}

} // namespace crust
