// One actor per live connection, incoming or outgoing, whatever carries
// it: a thin adapter between its carrier and a `link` (transports/link),
// which decides what frames mean. tcp.cpp carries it over a TCP scribe
// and the secure channel; rudp.cpp over a session of the rudp engine.
// link_host.hpp holds what both share. It reports to the service and
// delivers kept peers' messages straight to the handler.
//
// Messages from the service:  admit_atom (start reading and handshaking),
//   select_atom (we lead: this connection lives),
//   kept_atom (deliver messages), (close_atom, uint8_t reason),
//   exchange_atom (ask the peer for its sample), (peers_atom, sample)
//   (answer its request) and crust::send (replies ok_atom or an error;
//   a plain send hears crust::sent or crust::send_failed instead).
// Messages to the service:    (conn_up_atom, connection_info) first, then
//   (hello_atom, peer_id, uint64_t session, bool bootstrapping),
//   selected_atom (we follow and the peer chose this connection),
//   peers_request_atom, (peers_atom, sample), (observed_atom, text), and
//   (closed_atom, std::string reason, bool duplicate) last; `duplicate`
//   when the peer closed it because another connection between us lives.
#pragma once

#include <caf/atom.hpp>

#include <caf/actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/io/network/native_socket.hpp>

#include "actors/rudp_engine/engine.hpp"
#include "crust/config.hpp"
#include "crust/messages.hpp"
#include "transports/defence/flood_gate.hpp"
#include "transports/noise/primitives.hpp"

namespace crust {

// -- atoms: the connection actor's protocol with the service ---------

using conn_up_atom = caf::atom_constant<caf::atom("conn_up")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using select_atom = caf::atom_constant<caf::atom("select")>;
using selected_atom = caf::atom_constant<caf::atom("selected")>;
using kept_atom = caf::atom_constant<caf::atom("kept")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using admit_atom = caf::atom_constant<caf::atom("admit")>;
using exchange_atom = caf::atom_constant<caf::atom("exchange")>;
using peers_request_atom = caf::atom_constant<caf::atom("peers_req")>;
using peers_atom = caf::atom_constant<caf::atom("peers")>;
using observed_atom = caf::atom_constant<caf::atom("observed")>;

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

/// A connection over `hdl`, a TCP connection `parent` accepted.
caf::actor fork_tcp_connection(caf::io::broker* parent,
                               caf::io::connection_handle hdl,
                               connection_setup setup);

/// A connection over `fd`, a TCP socket the dialer connected.
caf::actor spawn_tcp_connection(caf::actor_system& sys,
                                caf::io::network::native_socket fd,
                                connection_setup setup);

/// A connection over a session of the rudp engine that came up (the
/// engine ran the handshake; the connection asks it for the peer's HELLO
/// on admission).
caf::actor spawn_rudp_connection(caf::actor_system& sys,
                                 rudp_engine_actor engine, rudp_socket socket,
                                 rudp_session session, connection_setup setup);

} // namespace crust
