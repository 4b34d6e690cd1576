// The service's state and its connection bookkeeping, shared by
// service.cpp (behaviour, commands, dialling) and service_peers.cpp (what
// happens as connections come, identify themselves and go).
#pragma once

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "actors/admission.hpp"
#include "actors/connection.hpp"
#include "actors/peer_table.hpp"
#include "actors/timer.hpp"
#include "crust/config.hpp"
#include "transports/wire.hpp"

namespace crust {

struct conn_record {
  caf::actor hdl;
  connection_info info;
  caf::optional<endpoint> target;
  /// Set when the service already told the application about this
  /// connection's end (or decided it needs no word).
  bool reported = false;
  /// Why the service closed it, when it did.
  std::string reason;
  /// Counted by admission (an admitted incoming connection), and whether
  /// its handshake finished.
  bool counted = false;
  bool established = false;
};

struct service_state {
  service_options opts;
  caf::actor handler;
  peer_id id;
  /// The Noise static key, derived from the node's identity.
  noise::keypair static_key;
  uint64_t session = 0;
  caf::actor listener;
  uint16_t bound_port = 0;
  int listener_restarts = 0;
  std::optional<peer_table> table;
  std::optional<admission> adm;
  std::shared_ptr<ip_meters> ips;
  conn_id next_id = 1;
  std::unordered_map<caf::actor_addr, conn_id> ids;
  std::unordered_map<conn_id, conn_record> conns;
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
conn_id register_conn(self_ptr self, const caf::actor& hdl);

/// The connection that sent the current message, if it is one of ours.
std::optional<conn_id> sender_conn(self_ptr self);

/// Asks a connection to close with `r`; `reason` is what the application
/// will read.
void close_conn(self_ptr self, conn_id c, wire::close_reason r,
                std::string reason);

/// A new connection announced itself: admit it, or refuse it unread.
void on_conn_up(self_ptr self, conn_id c, const connection_info& info);

/// A connection identified itself.
void on_hello(self_ptr self, conn_id c, const peer_id& peer, uint64_t session);

/// Follower: the leader selected `c`.
void on_selected(self_ptr self, conn_id c);

/// A connection is gone; tells the application what it needs to know.
void on_closed(self_ptr self, conn_id c, std::string reason);

} // namespace crust
