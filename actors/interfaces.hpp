// The addresses a node bound to a wildcard address can be reached at.
#pragma once

#include <string>
#include <vector>

namespace crust {

/// IPv4 addresses of every interface that is up (loopback included), or
/// just `bound` when it is not a wildcard address.
std::vector<std::string> reachable_addresses(const std::string& bound);

} // namespace crust
