// The addresses a node bound to a wildcard address can be reached at.
#pragma once

#include <string>
#include <vector>

namespace crust {

/// IPv4 addresses of every interface that is up (loopback included), or
/// just `bound` when it is not a wildcard address.
std::vector<std::string> reachable_addresses(const std::string& bound);

/// A loopback address: nothing outside reaches a node listening there, so
/// it maps no port and asks no STUN server (and its tests send nothing
/// off the host).
bool is_loopback(const std::string& address);

} // namespace crust
