// LAN discovery: announces where this node listens, signed, on UDP
// crust.beacon-port (every IPv4 broadcast address of the interfaces the
// node listens on, or crust.beacon-targets, and IPv6 link-local multicast;
// see beacon_sockets), and tells the service of
// every peer it hears. Answers a newcomer's announcement at once (never
// with more bytes than it got, at most 10 answers a second) so that
// nodes find each other without waiting for the next round.
//
// Blocking socket calls: spawn it detached. It polls its socket on a
// short timer instead of blocking, so it hears messages (and exit) too.
//
// To the service: (beacon_found_atom, peer_id, endpoint) with the endpoint
// to dial: the announced one on the packet's source address.
// From the service: (beacon_endpoints_atom, std::vector<endpoint>) where
// we listen now (our ports moved): announced at once.
#pragma once

#include <caf/atom.hpp>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "discovery/io/beacon_sockets.hpp"
#include "crust/endpoint.hpp"
#include "discovery/beacon_packet.hpp"
#include "transports/identity.hpp"
#include "transports/defence/token_bucket.hpp"

namespace crust {

// -- atoms: to the service -------------------------------------------

using beacon_found_atom = caf::atom_constant<caf::atom("bcn_found")>;
using beacon_endpoints_atom = caf::atom_constant<caf::atom("bcn_eps")>;

struct beacon_setup {
  caf::actor service;
  std::shared_ptr<const identity> me;
  std::string network;
  std::string bind_address; // the listen address
  uint16_t port = 5484;
  /// "IP:PORT" to announce to; empty: the broadcast addresses.
  std::vector<std::string> targets;
  std::vector<endpoint> endpoints; // where we listen first
};

struct beacon_state {
  beacon_sockets sockets;
  beacon_replay_guard replays;
  std::unique_ptr<token_bucket> answers;
  /// Dropped packets by reason, for a person (and, later, metrics).
  std::map<std::string, uint64_t> dropped;
  std::chrono::steady_clock::time_point next_announce;
  std::vector<endpoint> endpoints; // where we listen now
  static inline const char* name = "crust.beacon";
};

caf::behavior beacon(caf::stateful_actor<beacon_state>* self,
                     beacon_setup setup);

} // namespace crust
