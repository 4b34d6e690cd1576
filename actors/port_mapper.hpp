// Asks the gateway to forward the listener's port to us: UPnP IGD first
// (miniupnpc), NAT-PMP/PCP second (libnatpmp), for TCP and for UDP (the
// reliable UDP transport shares the port number). Renews at half the
// lease, maps a new port when ours moves (keeping the old one's mapping
// until the service releases it: connections made through it still
// arrive), and removes every mapping at shutdown. Tells the service what it got, or why nothing.
//
// Every library call blocks (SSDP discovery waits its whole timeout):
// spawn it detached.
//
// From the service: (map_port_atom, port) to map, or map a new port;
// (release_port_atom, port) to remove an old port's mapping; (close_atom)
// as a request, answered with ok once the mappings are removed. An exit
// message removes them too.
// To the service: crust::port_mapping.
#pragma once

#include <caf/atom.hpp>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nat/io/natpmp_gateway.hpp"
#include "nat/io/upnp_igd.hpp"

namespace crust {

// -- atoms: the mapper's protocol ------------------------------------

using map_port_atom = caf::atom_constant<caf::atom("map_port")>;
using renew_atom = caf::atom_constant<caf::atom("renew")>;
using release_port_atom = caf::atom_constant<caf::atom("rel_port")>;

struct port_mapper_setup {
  caf::actor service;
  bool use_upnp = true;
  bool use_natpmp = true;
  uint32_t lease = 3600;
  std::chrono::milliseconds timeout{2000};
  std::string description = "crust";
};

/// A mapping the gateway holds for us.
struct held_mapping {
  std::string method; // what holds it ("upnp", "natpmp"; empty: nothing)
  uint16_t port = 0;  // our port
  bool udp_mapped = false;
};

struct port_mapper_state {
  std::optional<nat::upnp_igd> igd;
  std::optional<nat::natpmp_gateway> pmp;
  std::string method; // what holds the mapping now, if anything
  uint16_t port = 0;  // our listener's port
  uint32_t lease = 0;
  bool udp_mapped = false;
  /// Old ports' mappings, until the service releases them (not renewed:
  /// a release comes long before half a lease).
  std::vector<held_mapping> retired;
  uint64_t renewal = 0; // the current renewal timer's number
  static inline const char* name = "crust.port_mapper";
};

caf::behavior port_mapper(caf::stateful_actor<port_mapper_state>* self,
                          port_mapper_setup setup);

} // namespace crust
