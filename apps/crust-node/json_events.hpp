// crust events as the JSON lines crust-node prints, one object per line,
// each with an "event" field.
#pragma once

#include <string>
#include <vector>

#include "crust/messages.hpp"

namespace crust::node {

std::string to_json(const listening& x);
std::string to_json(const new_peer& x);
std::string to_json(const message& x);
std::string to_json(const peer_lost& x);
std::string to_json(const punched& x);
std::string to_json(const path_changed& x);
std::string to_json(const connection_failed& x);
std::string to_json(const misbehaving& x);
std::string to_json(const bootstrap_finished& x);
std::string to_json(const bootstrap_failed& x);
std::string to_json(const warning& x);
std::string to_json(const port_mapping& x);
std::string to_json(const external_endpoints& x);
std::string to_json(const std::vector<peer_info>& xs);
std::string error_json(const std::string& what, const std::string& command = {});

/// {"event":"connection_info","info":{...}}: our half for connect-info.
std::string to_json(const rendezvous_info& x);

/// The half in a connect-info argument: the info object itself, or the
/// whole connection_info line as prepare-info printed it; empty when it
/// is neither (the service then says what is wrong with it).
std::string info_of(const std::string& text);
/// A command that worked: {"event": name, "peer_id": ...} plus extras.
std::string ack_json(const std::string& name, const peer_id& peer,
                     size_t bytes = 0);

/// {"event": name, counter: n}, e.g. {"event":"blacklisted","closed":2}.
std::string count_json(const std::string& name, const std::string& counter,
                       uint64_t n);

/// True when `bytes` are valid UTF-8 (and so printable as "text").
bool is_utf8(const std::vector<uint8_t>& bytes);

} // namespace crust::node
