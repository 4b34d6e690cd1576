#include "crust/messages.hpp"

#include <caf/all.hpp>

#include "crust/errors.hpp"

namespace crust {

std::string to_string(origin x) {
  switch (x) {
    case origin::direct:
      return "direct";
    case origin::bootstrap_in:
      return "bootstrap-in";
    case origin::bootstrap_out:
      return "bootstrap-out";
    case origin::beacon:
      return "beacon";
    case origin::punched:
      return "punched";
    case origin::relayed:
      return "relayed";
  }
  return "unknown";
}

std::string to_string(misbehaviour x) {
  switch (x) {
    case misbehaviour::decrypt_failure:
      return "decrypt_failure";
    case misbehaviour::flood:
      return "flood";
    case misbehaviour::oversize:
      return "oversize";
    case misbehaviour::handshake_timeout:
      return "handshake_timeout";
    case misbehaviour::handshake_invalid:
      return "handshake_invalid";
    case misbehaviour::protocol_violation:
      return "protocol_violation";
  }
  return "unknown";
}

std::string to_string(priority x) {
  return x == priority::high ? "high" : "normal";
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<peer_id>("crust::peer_id");
  cfg.add_message_type<endpoint>("crust::endpoint");
  cfg.add_message_type<std::vector<endpoint>>("std::vector<crust::endpoint>");
  cfg.add_message_type<connection_info>("crust::connection_info");
  cfg.add_message_type<listening>("crust::listening");
  cfg.add_message_type<new_peer>("crust::new_peer");
  cfg.add_message_type<message>("crust::message");
  cfg.add_message_type<sent>("crust::sent");
  cfg.add_message_type<send_failed>("crust::send_failed");
  cfg.add_message_type<peer_lost>("crust::peer_lost");
  cfg.add_message_type<punched>("crust::punched");
  cfg.add_message_type<path_changed>("crust::path_changed");
  cfg.add_message_type<connection_failed>("crust::connection_failed");
  cfg.add_message_type<misbehaving>("crust::misbehaving");
  cfg.add_message_type<service_failed>("crust::service_failed");
  cfg.add_message_type<bootstrap_finished>("crust::bootstrap_finished");
  cfg.add_message_type<bootstrap_failed>("crust::bootstrap_failed");
  cfg.add_message_type<warning>("crust::warning");
  cfg.add_message_type<port_mapping>("crust::port_mapping");
  cfg.add_message_type<external_address>("crust::external_address");
  cfg.add_message_type<stun_server_result>("crust::stun_server_result");
  cfg.add_message_type<external_endpoints>("crust::external_endpoints");
  cfg.add_message_type<connect>("crust::connect");
  cfg.add_message_type<connect_peer>("crust::connect_peer");
  cfg.add_message_type<prepare_connection_info>(
    "crust::prepare_connection_info");
  cfg.add_message_type<rendezvous_info>("crust::rendezvous_info");
  cfg.add_message_type<connect_with>("crust::connect_with");
  cfg.add_message_type<keep>("crust::keep");
  cfg.add_message_type<drop>("crust::drop");
  cfg.add_message_type<send>("crust::send");
  cfg.add_message_type<list_peers>("crust::list_peers");
  cfg.add_message_type<peer_info>("crust::peer_info");
  cfg.add_message_type<std::vector<peer_info>>("std::vector<crust::peer_info>");
  cfg.add_message_type<shutdown>("crust::shutdown");
  cfg.add_message_type<blacklist>("crust::blacklist");
  cfg.add_message_type<unblacklist>("crust::unblacklist");
  cfg.add_message_type<allow_only>("crust::allow_only");
  cfg.add_error_category(error_category, [](uint8_t code, caf::atom_value,
                                            const caf::message& ctx) {
    auto result = "crust::" + to_string(static_cast<errc>(code));
    if (ctx.match_elements<std::string>()) // as crust::error_detail reads it
      result += ": " + ctx.get_as<std::string>(0);
    return result;
  });
}

} // namespace crust
