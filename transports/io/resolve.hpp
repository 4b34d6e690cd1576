// Name resolution, which blocks (getaddrinfo): only for blocking actors,
// such as address discovery resolving its STUN servers.
#pragma once

#include <caf/expected.hpp>

#include <string>

#include "transports/ip_endpoint.hpp"

namespace crust {

/// The first IPv4 address of "HOST:PORT" (a name or an address), for UDP;
/// an error says why not.
caf::expected<ip_endpoint> resolve_udp4(const std::string& host_port);

} // namespace crust
