// What the outside sees of us, merged from three witnesses: the gateway's
// port mapping, STUN, and the peers' echoes (OBSERVED frames). Pure: the
// service holds the inputs and sends the result when it changes.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "crust/messages.hpp"

namespace crust {

/// An echo as a peer sent it: "IP:PORT" with an IPv4 address and a port,
/// or empty when it is anything else.
std::string valid_echo(const std::string& text);

/// The event for the application. `echoes`: observer IP -> where it sees
/// us. An echoed address is included once STUN agrees on its IP or a
/// second observer (at another IP) says the same IP: one peer alone could
/// lie. `rudp_mapped`: where STUN sees the rudp socket itself ("IP:PORT"),
/// included as source "stun-rudp".
external_endpoints external_view(const std::optional<external_endpoints>& stun,
                                 const std::optional<port_mapping>& mapping,
                                 const std::map<std::string, std::string>& echoes,
                                 const std::optional<std::string>& rudp_mapped
                                 = std::nullopt);

/// Same addresses, NAT type and verdicts (what is worth telling anew).
bool same_view(const external_endpoints& a, const external_endpoints& b);

} // namespace crust
