// `crust-node netcheck`: what the network around this node looks like,
// for a person (or, with --json, for a script): local addresses, the port
// mapping the gateway gave (removed again at exit), what each STUN server
// saw and how fast, the NAT's type, and where connected peers see us.
#pragma once

#include <caf/actor_system.hpp>

#include <string>
#include <vector>

#include "crust/config.hpp"
#include "crust/messages.hpp"

namespace crust::node {

/// Runs a service on `opts` (no bootstrap cache, no beacon) until it has
/// heard from the port mapper and the STUN servers, prints the report,
/// and shuts the service down. The process's exit code.
int netcheck(caf::actor_system& sys, service_options opts, bool json);

std::string join(const std::vector<std::string>& xs,
                 const std::string& sep = ", ");

/// "udp 198.18.0.11:4000 (stun)" for each address.
std::vector<std::string> describe(const std::vector<external_address>& xs);

} // namespace crust::node
