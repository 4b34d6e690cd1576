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

/// Sends `payload` to `peer` through `svc`, `window` sends awaiting the
/// service's answer (crust's backpressure), until `stop()` holds. A full
/// send queue waits a millisecond. Returns the error that ended it (none
/// when stopped); `each` runs once per round.
caf::error pour(caf::scoped_actor& self, const caf::actor& svc,
                const crust::peer_id& peer, const std::vector<uint8_t>& payload,
                size_t window, const std::function<bool()>& stop,
                const std::function<void()>& each = [] {});

} // namespace bench
