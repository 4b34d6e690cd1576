// The service's state, shared by the service's files: service.cpp
// (behaviour, commands, the events' fan-out), peers.cpp (what happens as
// connections come, identify themselves and go, carried out for
// node/conn_table), dial.cpp, children.cpp (supervision), and the parts
// (listening, bootstrap, discovery, nat and punch .cpp, each with its own
// header and private state).
#pragma once

#include <caf/atom.hpp>

#include <caf/actor.hpp>
#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "actors/service/bootstrap_part.hpp"
#include "actors/service/discovery_part.hpp"
#include "actors/service/events.hpp"
#include "actors/service/listening_part.hpp"
#include "actors/service/relay_part.hpp"
#include "actors/service/nat_part.hpp"
#include "actors/service/punch_part.hpp"
#include "node/conn_table.hpp"
#include "node/restart_budget.hpp"
#include "actors/connection/connection.hpp"
#include "actors/timer.hpp"
#include "transports/identity.hpp"
#include "crust/config.hpp"
#include "crust/messages.hpp"
#include "transports/wire.hpp"

namespace crust {

// -- atoms: the service's messages to itself -------------------------

using decide_atom = caf::atom_constant<caf::atom("decide_to")>;
using rebootstrap_atom = caf::atom_constant<caf::atom("reboot")>;
using stop_rudp_atom = caf::atom_constant<caf::atom("rudp_stop")>;

/// The service's children other than connections, each watched by one
/// helper (children.cpp): monitored, and when one fails, reported
/// to the application and restarted within its restart_budget.
enum class child_role {
  listener,
  cache,
  bootstrap,
  beacon,
  port_mapper,
  address_discovery,
};

const char* to_string(child_role r);

/// The connection actors behind the table's ids, both ways.
struct conn_actors {
  std::unordered_map<conn_id, connection_actor> by_id;
  std::unordered_map<caf::actor_addr, conn_id> ids;

  const connection_actor* find(conn_id c) const {
    auto i = by_id.find(c);
    return i == by_id.end() ? nullptr : &i->second;
  }
};

struct service_state {
  service_options opts;
  caf::actor handler;
  peer_id id;
  /// Signs peer exchange samples.
  std::shared_ptr<const identity> me;
  /// The Noise static key, derived from the node's identity.
  noise::keypair static_key;
  uint64_t session = 0;
  /// Every child but connections, by role (service/children.cpp).
  std::map<child_role, caf::actor> kids;
  int listener_restarts = 0;
  /// Every connection's record and phase, and admission (node/conn_table).
  std::optional<conn_table> conns;
  std::shared_ptr<ip_meters> ips;
  /// Bootstrapping: a part (bootstrap_part.hpp).
  std::optional<bootstrap_part> boot;
  /// Which child each monitored actor is, and how often each may fail.
  std::unordered_map<caf::actor_addr, child_role> child_roles;
  std::map<child_role, restart_budget> budgets;
  /// Children the shutdown still waits for (close_and_wait).
  int closing = 0;
  /// The LAN beacon and peer exchange: a part (discovery_part.hpp).
  std::optional<discovery_part> discovery;
  /// NAT traversal: a part with its own state (nat_part.hpp).
  std::optional<nat_part> nat;
  /// The listener and our rudp socket: a part (listening_part.hpp).
  std::optional<listening_part> listen;
  /// Hole punching, and introducing kept peers: a part (punch_part.hpp).
  std::optional<punch_part> punch;
  /// Relaying for others, and connections through relays: a part
  /// (relay_part.hpp).
  std::optional<relay_part> relay;
  conn_actors actors;
  /// Where each anchor whose connection moved to a direct path runs now
  /// (for path_changed back to the relay once that path is gone).
  std::unordered_map<conn_id, connection_info> paths;
  bool stopping = false;
  /// Every live child, for the service's last act: stopping them.
  std::shared_ptr<std::set<caf::actor>> children
    = std::make_shared<std::set<caf::actor>>();
  static inline const char* name = "crust.service";
};

using self_ptr = caf::stateful_actor<service_state>*;

/// The template for every connection this service runs.
connection_setup make_setup(self_ptr self);

/// Starts tracking (and monitoring) a connection actor; idempotent.
conn_id register_conn(self_ptr self, const connection_actor& hdl);

/// Tracks a connection we dialled (`setup` as it was spawned with).
void register_dialled(self_ptr self, const connection_actor& hdl,
                      const connection_setup& setup);

/// The connection that sent the current message, if it is one of ours.
std::optional<conn_id> sender_conn(self_ptr self);

/// The connection the sender speaks for: sender_conn, or the anchor a
/// path carries (what a path hears from the peer is its anchor's).
std::optional<conn_id> speaker_conn(self_ptr self);

/// Moves anchor `anchor`'s connection to its path `path`.
void start_move(self_ptr self, conn_id anchor, conn_id path);

/// Anchor `anchor` says its connection runs on its path now (`direct`)
/// or on the relay again: the application hears path_changed.
void on_path(self_ptr self, conn_id anchor, bool direct);

/// Asks a connection to close with `r`; `reason` is what the application
/// will read.
void close_conn(self_ptr self, conn_id c, wire::close_reason r,
                std::string reason);

/// A new connection announced itself: admit it, or refuse it unread.
void on_conn_up(self_ptr self, conn_id c, const connection_info& info);

/// A connection identified itself.
void on_hello(self_ptr self, conn_id c, const peer_id& peer, uint64_t session,
              bool bootstrapping);

/// Follower: the leader selected `c`.
void on_selected(self_ptr self, conn_id c);

/// A connection is gone; tells the application what it needs to know.
void on_closed(self_ptr self, conn_id c, std::string reason);

// -- children (children.cpp) ----------------------------------------------

/// The child of `role` (null: none now).
caf::actor& child(self_ptr self, child_role role);

/// Records `hdl` as the child of `role`: monitored, stopped with the
/// service, restarted when it fails.
void adopt(self_ptr self, child_role role, const caf::actor& hdl);

/// A monitored actor went down; false when it is none of the children
/// above (a connection, say).
bool on_child_down(self_ptr self, const caf::down_msg& dm);

/// Starts the child of `role` again, unless it runs or we stop.
void restart_child(self_ptr self, child_role role);

/// The messages the helper sends itself (a restart's delay is over).
caf::message_handler child_handlers(self_ptr self);


/// Quits once shutting down and nothing is left to wait for.
void quit_when_done(self_ptr self);

/// Tells every part that hears events about `ev` (events.hpp).
void fan_out(self_ptr self, const service_event& ev);

/// Shutting down: asks `child` to close (it answers ok when done, e.g.
/// the cache once saved) and keeps the service alive until it did or
/// `limit` passed.
void close_and_wait(self_ptr self, caf::actor child, caf::timespan limit);

/// Dials `target` for the application or, with origin bootstrap_out, for
/// a bootstrap round.
void connect_to(self_ptr self, const endpoint& target,
                origin from = origin::direct);

} // namespace crust
