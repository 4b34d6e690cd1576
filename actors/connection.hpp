// One broker per live connection, incoming or outgoing: the secure channel
// (Noise handshake, sealed records), SELECT, heartbeats, the send queue with
// priorities and back-pressure, and the graceful CLOSE. It reports to the
// service and delivers kept peers' messages straight to the handler.
//
// Messages from the service:  admit_atom (start reading and handshaking),
//   select_atom (we lead: this connection lives),
//   kept_atom (deliver messages), (close_atom, uint8_t reason) and
//   crust::send (replies ok_atom or an error).
// Messages to the service:    (conn_up_atom, connection_info) first, then
//   (hello_atom, peer_id, uint64_t session, bool bootstrapping),
//   selected_atom (we follow and
//   the peer chose this connection), (closed_atom, std::string reason,
//   bool duplicate) last; `duplicate` when the peer closed it because
//   another connection between us lives.
#pragma once

#include <caf/actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/io/network/native_socket.hpp>

#include "crust/config.hpp"
#include "crust/messages.hpp"
#include "transports/flood_gate.hpp"
#include "transports/noise_primitives.hpp"

namespace crust {

struct connection_setup {
  service_options opts;
  peer_id local_id;
  /// The node's Noise static key, derived from its identity.
  noise::keypair static_key;
  uint64_t session = 0;
  caf::actor service;
  caf::actor handler;
  /// The per-IP meters every connection of this service shares.
  std::shared_ptr<ip_meters> ips;
  connection_info info;
  /// For outgoing connections: what the application asked to dial.
  caf::optional<endpoint> target;
};

/// Runs the protocol on `hdl`, a connection the broker already owns.
caf::behavior connection(caf::io::broker* self, caf::io::connection_handle hdl,
                         connection_setup setup);

/// For an outgoing connection whose socket the dialer connected.
caf::behavior connection_from_socket(caf::io::broker* self,
                                     caf::io::network::native_socket fd,
                                     connection_setup setup);

/// For a session of the rudp engine that came up (the engine ran the
/// handshake; the connection asks it for the peer's HELLO on admission).
caf::behavior connection_over_rudp(caf::io::broker* self, caf::actor engine,
                                   uint32_t ep, uint32_t session,
                                   connection_setup setup);

} // namespace crust
