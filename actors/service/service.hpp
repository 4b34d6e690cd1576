// The supervisor of one node and the only actor an application talks to:
// spawns and monitors the listener and every connection, runs the
// keep/drop protocol and the one-connection-per-peer rule (node/conn_table), and
// turns what its children report into events for the handler.
#pragma once

#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include <string>
#include <vector>

#include "crust/config.hpp"
#include "crust/endpoint.hpp"
#include "transports/identity.hpp"

namespace crust {

struct service_state;

/// What spawn_service found of the bootstrap cache before the service ran
/// (so that an unwritable cache can stop start-up with an error).
struct cache_start {
  bool persist = false;         // the cache file is usable
  std::vector<endpoint> cached; // what a first round dials, best first
  std::vector<std::string> warnings;
};

caf::behavior service(caf::stateful_actor<service_state>* self,
                      service_options opts, caf::actor handler, identity me,
                      cache_start cache);

} // namespace crust
