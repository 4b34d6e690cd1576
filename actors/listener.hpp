// The TCP doorman: binds crust.listen-address:crust.listen-port, tells the
// service the bound port, and hands every accepted connection to a
// connection broker of its own. crust opens the listening socket itself,
// with SO_REUSEPORT, so that hole punching can connect from the same port
// (transports/io/tcp_socket); on CAF's test multiplexer, CAF does.
//
// To the service: (bound_atom, uint16_t port) once bound, or
//   crust::service_failed when the port cannot be bound.
#pragma once

#include <caf/atom.hpp>

#include <caf/behavior.hpp>
#include <caf/io/broker.hpp>

#include "actors/connection/connection.hpp"

namespace crust {

// -- atoms: to the service -------------------------------------------

using bound_atom = caf::atom_constant<caf::atom("bound")>;

/// `setup` is the template for every accepted connection.
caf::behavior listener(caf::io::broker* self, connection_setup setup);

} // namespace crust
