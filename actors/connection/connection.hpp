// One actor per live connection, incoming or outgoing, whatever carries
// it: a thin adapter between its carrier and a `link` (transports/link),
// which decides what frames mean. tcp.cpp carries it over a TCP scribe
// and the secure channel; rudp.cpp over a session of the rudp engine.
// link_host.hpp holds what both share. It reports to the service and
// delivers kept peers' messages straight to the handler.
//
// Its interface is the typed actor connection_actor below (the protocol in
// words, then the checked alias, as CAF's middleman_actor.hpp does). Each
// carrier extends it with the messages only it hears (its carrier's and
// its own timers), so that the service can send a connection nothing else.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/io/network/native_socket.hpp>

#include <memory>

#include "actors/atoms.hpp"
#include "actors/punch_registry.hpp"
#include "actors/rudp_engine/engine.hpp"
#include "crust/config.hpp"
#include "crust/messages.hpp"
#include "transports/defence/flood_gate.hpp"
#include "transports/noise/primitives.hpp"
#include "transports/path_ledger.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<crust::path_ledger::handover>)

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
using endpoints_atom = caf::atom_constant<caf::atom("endpoints")>;
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using forwarded_atom = caf::atom_constant<caf::atom("forwarded")>;
using forward_failed_atom = caf::atom_constant<caf::atom("fwd_failed")>;
using punched_atom = caf::atom_constant<caf::atom("punched")>;
using circ_open_atom = caf::atom_constant<caf::atom("circ_open")>;
using circ_opened_atom = caf::atom_constant<caf::atom("circ_opnd")>;
using circ_in_atom = caf::atom_constant<caf::atom("circ_in")>;
using circ_data_atom = caf::atom_constant<caf::atom("circ_data")>;
using circ_credit_atom = caf::atom_constant<caf::atom("circ_cred")>;
using circ_close_atom = caf::atom_constant<caf::atom("circ_close")>;
using circ_route_atom = caf::atom_constant<caf::atom("circ_route")>;
using path_leave_atom = caf::atom_constant<caf::atom("path_leave")>;
using path_join_atom = caf::atom_constant<caf::atom("path_join")>;
using path_atom = caf::atom_constant<caf::atom("path")>;
using path_end_atom = caf::atom_constant<caf::atom("path_end")>;
using path_fence_atom = caf::atom_constant<caf::atom("path_fence")>;
using path_bounce_atom = caf::atom_constant<caf::atom("path_bnce")>;

/// What moves with a connection from one path to the next (it never
/// leaves the process, so it travels as a pointer: one owner at a time).
using handover_ptr = std::shared_ptr<path_ledger::handover>;

/// A connection.
///
/// From the service:
///   admit_atom: start reading (and handshaking, where the carrier runs
///       the handshake); not a byte is read before it
///   select_atom: we lead and this connection lives (SELECT)
///   kept_atom: the application keeps the peer; deliver its messages
///   (close_atom, uint8_t reason): close with that wire::close_reason
///   exchange_atom: ask the peer for its sample of peers
///   (peers_atom, sample): answer the peer's request
///   (endpoints_atom, std::vector<std::string>): tell a kept peer where
///       we listen now (ENDPOINTS: our ports moved)
///   (forward_atom, peer_id to, payload): ask the peer to pass it on to
///       `to`; (forwarded_atom, peer_id from, payload): pass on what
///       `from` asked us to; (forward_failed_atom, peer_id to, uint8_t
///       wire::forward_refusal, context): tell the peer why its FORWARD
///       to `to` was not passed on
///   circuits (docs/PROTOCOL.md, "Circuits"; ids u32, limits as their
///   26 bytes): (circ_open_atom, id, peer_id to), (circ_opened_atom, id,
///   credit, limits), (circ_in_atom, id, peer_id from, credit, limits),
///   (circ_data_atom, id, bytes), (circ_credit_atom, id, uint32_t),
///   (circ_close_atom, id, uint8_t reason): the frames to send;
///   (circ_route_atom, id, actor): circuit `id`'s frames from the peer go
///   to that actor (a relayed connection) instead of the service
///   (path_leave_atom, to): to an anchor (a relayed connection): move
///       the connection to its path `to` (docs/DESIGN.md, "Relay")
/// Between an anchor and its path (docs/DESIGN.md, "Relay"):
///   (path_leave_atom, to): from the anchor to its path: give the
///       connection back to `to` (the peer moved back to the relay)
///   (path_join_atom, handover, from): carry the connection from now on
///       (from the anchor to its path, and back when the path ends or
///       gives it back); one that cannot join sends it back to `from`
///   (path_end_atom, reason): from a path to its anchor: the peer ended
///       the connection there (or broke a rule): it ends, with `reason`
///   path_fence_atom: from an anchor that took its connection back: no
///       send follows to the path, which answers path_fence_atom once it
///       passed back every send it still had, and only then quits
///   (path_bounce_atom, send): from a path that gave the connection
///       back: a send delegated to it before the anchor knew, with its
///       sender's answer still owed (older than any send the anchor holds)
/// From a relayed connection whose circuit this connection carries:
///   circ_data_atom, circ_credit_atom, circ_close_atom as above
/// From the application (or the service, delegating):
///   crust::send: answered with ok or an error when it came as a request;
///       a plain send hears crust::sent or crust::send_failed instead
/// To the service, the connection telling itself apart by its sender:
///   (conn_up_atom, connection_info) first, then
///   (punched_atom, attempt bytes) when it is a hole punch's path,
///   (hello_atom, peer_id, uint64_t session, bool bootstrapping),
///   selected_atom (we follow and the peer chose this connection),
///   peers_request_atom, (peers_atom, sample), (observed_atom, text),
///   (endpoints_atom, texts): a kept peer's ports moved,
///   (forward_atom, to, payload), (forwarded_atom, from, payload),
///   (forward_failed_atom, to, uint8_t why, context), the circuit frames
///   the peer sent that no route claims (the same messages as above), and
///   (path_atom, bool direct) from an anchor each time its connection
///       moved to its path (true) or back to the relay (false),
///   (closed_atom, std::string reason, bool duplicate) last; `duplicate`
///   when the peer closed it because another connection between us lives.
/// To the handler: crust::message of kept peers, and misbehaving.
using connection_actor = caf::typed_actor<
  caf::reacts_to<admit_atom>,
  caf::reacts_to<select_atom>,
  caf::reacts_to<kept_atom>,
  caf::reacts_to<close_atom, uint8_t>,
  caf::reacts_to<exchange_atom>,
  caf::reacts_to<peers_atom, std::vector<uint8_t>>,
  caf::reacts_to<endpoints_atom, std::vector<std::string>>,
  caf::reacts_to<forward_atom, peer_id, std::vector<uint8_t>>,
  caf::reacts_to<forwarded_atom, peer_id, std::vector<uint8_t>>,
  caf::reacts_to<forward_failed_atom, peer_id, uint8_t, std::vector<uint8_t>>,
  caf::reacts_to<circ_open_atom, uint32_t, peer_id>,
  caf::reacts_to<circ_opened_atom, uint32_t, uint32_t, std::vector<uint8_t>>,
  caf::reacts_to<circ_in_atom, uint32_t, peer_id, uint32_t,
                 std::vector<uint8_t>>,
  caf::reacts_to<circ_data_atom, uint32_t, std::vector<uint8_t>>,
  caf::reacts_to<circ_credit_atom, uint32_t, uint32_t>,
  caf::reacts_to<circ_close_atom, uint32_t, uint8_t>,
  caf::reacts_to<circ_route_atom, uint32_t, caf::actor>,
  caf::reacts_to<path_leave_atom, caf::actor>,
  caf::reacts_to<path_join_atom, handover_ptr, caf::actor>,
  caf::reacts_to<path_end_atom, std::string>,
  caf::reacts_to<path_fence_atom>,
  caf::reacts_to<path_bounce_atom, send>,
  caf::reacts_to<send>>;

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
  /// A hole punch's path: its attempt (set on the socket a punch
  /// connected).
  std::optional<secure_channel::punch_path> punch;
  /// The service's live attempts, which a connection the listener accepts
  /// may join by its PUNCH_HELLO.
  std::shared_ptr<punch_registry> punches;
};

/// A connection over `hdl`, a TCP connection `parent` accepted.
connection_actor fork_tcp_connection(caf::io::broker* parent,
                                     caf::io::connection_handle hdl,
                                     connection_setup setup);

/// A connection over `fd`, a TCP socket the dialer connected.
connection_actor spawn_tcp_connection(caf::actor_system& sys,
                                      caf::io::network::native_socket fd,
                                      connection_setup setup);

/// A connection over a session of the rudp engine that came up (the
/// engine ran the handshake; the connection asks it for the peer's HELLO
/// on admission).
connection_actor spawn_rudp_connection(caf::actor_system& sys,
                                       rudp_engine_actor engine,
                                       rudp_socket socket,
                                       rudp_session session,
                                       connection_setup setup);

/// A connection through a relay: circuit `circuit` carried by `carrier`
/// (our connection to the relay), `credit` bytes we may send first and
/// the relay's `window`. It runs its own Noise handshake end to end
/// (initiator: the side that opened the circuit, !setup.info.inbound).
connection_actor spawn_relayed_connection(caf::actor_system& sys,
                                          connection_actor carrier,
                                          uint32_t circuit, uint32_t credit,
                                          uint32_t window,
                                          connection_setup setup);

} // namespace crust
