// The atoms several of crust's actors share (never seen by applications).
// Each interface's own atoms live in its header: the connection's in
// actors/connection/connection.hpp, the engine's in
// actors/rudp_engine/engine.hpp, a round's in actors/bootstrap.hpp, and so
// on.
#pragma once

#include <caf/atom.hpp>

namespace crust {

using close_atom = caf::atom_constant<caf::atom("close")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

} // namespace crust
