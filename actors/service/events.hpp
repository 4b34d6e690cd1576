// What the service tells its parts. Every part hears every event through
// its on(const service_event&) and keeps what concerns it, so that no
// part calls into another (libp2p's FromSwarm is the model). The service
// fans each event out (fan_out, service.cpp) to the parts that hear
// events, in a fixed order: bootstrap, discovery, NAT, punch. A part raises an
// event of its own (listening_up, ports_retired, peers_learned) through fan_out too.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crust/endpoint.hpp"
#include "crust/peer_id.hpp"
#include "node/conn_table.hpp"

namespace crust {

namespace events {

/// The listener is bound: we listen at `endpoints`, TCP on `tcp_port`
/// (again after our ports moved: the new ones).
struct listening_up {
  std::vector<endpoint> endpoints;
  uint16_t tcp_port = 0;
};

/// Our ports moved and the old ones' grace is over: TCP port `tcp_port`
/// no longer listens (its mapping may go).
struct ports_retired {
  uint16_t tcp_port = 0;
};

/// The application heard new_peer for connection `c`; `dialled` is what
/// we dialled to reach the peer (none: it came to us).
struct announced {
  conn_id c = 0;
  peer_id peer;
  std::optional<endpoint> dialled;
};

/// The application keeps the peer of connection `c`; `dialled` and
/// `reached` are set when a bootstrap round is owed the dial's result.
struct kept {
  conn_id c = 0;
  std::optional<endpoint> dialled;
  std::optional<conn_table::ending::bootstrap_result> reached;
};

/// A connection is gone, with conn_table's one outcome for it.
struct lost {
  conn_table::ending end;
  conn_id c = 0;
};

/// A dial never made a connection; `round` is the result a bootstrap
/// round is owed (none: it was not the round's dial).
struct dial_failed {
  endpoint target;
  std::optional<conn_table::ending::bootstrap_result> round;
};

/// A connection's peer at `observer` (an IP) sees us at `seen`.
struct observed {
  std::string observer;
  std::string seen;
};

/// Peer exchange taught us peers we are not connected to.
struct peers_learned {
  std::vector<endpoint> to_dial;
  /// The kept peer whose sample named them (it can introduce us when a
  /// dial fails: punch_part).
  peer_id from;
};

/// Connection `c` became a path of `peer`'s relayed connection.
struct path_up {
  conn_id c = 0;
  peer_id peer;
};

/// What the outside sees of us changed (external_endpoints said anew).
struct endpoints_changed {};

} // namespace events

using service_event
  = std::variant<events::listening_up, events::ports_retired,
                 events::announced, events::kept,
                 events::lost, events::dial_failed, events::observed,
                 events::peers_learned, events::path_up,
                 events::endpoints_changed>;

} // namespace crust
