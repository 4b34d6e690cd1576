// Learns where the internet sees this node and what NAT is in between:
// STUN Binding requests to crust.stun-servers from one fresh UDP socket
// per check, RFC 5780's tests where a server supports them (nat/nat_probe
// decides; this actor moves its datagrams). Each check ends with
// (nat_report_atom, external_endpoints) to the service, which adds the
// port mapping and what peers echo.
//
// Name resolution and sockets are blocking calls: spawn it detached. It
// polls its socket on a short timer while a check runs.
//
// From the service: (discover_atom) starts a check unless one runs.
#pragma once

#include <caf/atom.hpp>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include <optional>
#include <string>
#include <vector>

#include "crust/messages.hpp"
#include "nat/nat_probe.hpp"

namespace crust {

// -- atoms: the discovery's protocol ---------------------------------

using discover_atom = caf::atom_constant<caf::atom("discover")>;
using nat_report_atom = caf::atom_constant<caf::atom("nat_report")>;

struct address_discovery_setup {
  caf::actor service;
  std::string bind_address = "0.0.0.0";
  std::vector<std::string> servers; // HOST:PORT
};

struct address_discovery_state {
  int fd = -1;
  std::optional<stun::nat_probe> probe;
  std::vector<ip_endpoint> local;
  /// Servers whose names did not resolve, with why.
  std::vector<stun_server_result> unresolved;
  ~address_discovery_state();
  static inline const char* name = "crust.address_discovery";
};

caf::behavior
address_discovery(caf::stateful_actor<address_discovery_state>* self,
                  address_discovery_setup setup);

/// The event for a finished probe (without mapping or peer addresses).
external_endpoints to_event(const stun::nat_report& report,
                            std::vector<stun_server_result> unresolved);

} // namespace crust
