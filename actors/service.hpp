// The supervisor of one node and the only actor an application talks to:
// spawns and monitors the listener and every connection, runs the
// keep/drop protocol and the one-connection-per-peer rule (peer_table), and
// turns what its children report into events for the handler.
#pragma once

#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include "crust/config.hpp"
#include "transports/identity.hpp"

namespace crust {

struct service_state;

caf::behavior service(caf::stateful_actor<service_state>* self,
                      service_options opts, caf::actor handler, identity me);

} // namespace crust
