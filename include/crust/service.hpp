// Spawning a crust service: the one actor an application talks to.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "crust/config.hpp"
#include "crust/messages.hpp"

namespace crust {

/// Spawns a service that reports events to `handler` and takes commands
/// (connect, keep, drop, send, list_peers, shutdown). Its peer id is the
/// key in `opts.identity_file` (created when missing), or a fresh one when
/// that is empty. Fails with errc::invalid_config when `opts` are out of
/// range or the identity file cannot be used.
caf::expected<caf::actor> spawn_service(caf::actor_system& sys,
                                        const service_options& opts,
                                        caf::actor handler);

/// As above, with the options read from the system's config (see
/// read_options).
caf::expected<caf::actor> spawn_service(caf::actor_system& sys,
                                        caf::actor handler);

} // namespace crust
