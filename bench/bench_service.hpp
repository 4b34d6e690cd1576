// What every benchmark's crust side does the same way: start a service
// whose handler is the benchmark's scoped actor, and ignore what it does
// not wait for.
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <vector>
#include <string>

#include "crust/crust.hpp"

namespace bench {

/// Whatever else a service tells its handler: ignored, without an answer.
inline auto ignore_rest() {
  return caf::others >> [](caf::message_view&) -> caf::result<caf::message> {
    return caf::delegated<caf::message>{};
  };
}

/// Spawns a service with `opts` whose handler is `self` and waits (10 s at
/// most) until it listens. Its port, or 0 with the reason in `why`.
uint16_t start_service(caf::actor_system& sys, caf::scoped_actor& self,
                       const crust::service_options& opts, caf::actor& svc,
                       std::string& why);

/// Sends `payload` to `peer` through `to` (the service or new_peer's
/// link) as plain sends, at most `window` bytes not yet confirmed by
/// crust::sent, until `stop()` holds. Returns the error that ended it
/// (none when stopped); `each` runs once per round.
caf::error pour(caf::scoped_actor& self, const caf::actor& to,
                const crust::peer_id& peer, const std::vector<uint8_t>& payload,
                uint64_t window, const std::function<bool()>& stop,
                const std::function<void()>& each = [] {});

} // namespace bench
