// The service's hole punching, a part with state of its own:
// - the introducer: a kept peer asks this node (FORWARD) to pass a signal
//   on to another peer it keeps, and the node does (FORWARDED) or says why
//   not (FORWARD_FAILED); the link bounds each frame and the rate per
//   connection;
// - the attempts: crust::connect_peer starts one (we offer), an OFFER
//   forwarded to us starts one (we answer); each is a hole_punch actor
//   (actors/hole_punch) whose signals go out through the mutual peers
//   that carry them, whose punched sockets become connections here, and
//   which hears when its peer is connected (the announced event).
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/atom.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <chrono>
#include <optional>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/punch_registry.hpp"
#include "actors/service/events.hpp"
#include "crust/messages.hpp"
#include "crust/peer_id.hpp"
#include "node/conn_table.hpp"
#include "node/upgrade_schedule.hpp"
#include "nat/punch/attempt.hpp"
#include "nat/punch/rendezvous.hpp"
#include "nat/punch/signal.hpp"
#include "transports/punch_hello.hpp"

namespace crust {

struct service_state;

/// The punch part's timer: relayed peers' tries for a direct path are due.
using upgrade_atom = caf::atom_constant<caf::atom("upgrade")>;
/// From ourselves: an attempt the application asked for has run
/// crust.relay-after without connecting (its id's bytes).
using relay_early_atom = caf::atom_constant<caf::atom("relay_erly")>;

/// A number in [0, 1) from the CSPRNG (jitter).
double unit_random();

class punch_part {
public:
  using self_ptr = caf::stateful_actor<service_state>*;

  /// Attempts at once, and mutual peers asked per attempt.
  static constexpr size_t max_attempts = 8;
  static constexpr size_t max_vias = 4;

  /// Halves prepared for connect_with, and how long each is good for.
  static constexpr size_t max_prepared = 16;
  static constexpr auto prepared_lifetime = std::chrono::minutes(10);

  explicit punch_part(self_ptr self)
    : self_(self), registry_(std::make_shared<punch_registry>()) {
    // nop
  }

  /// The first wait before a relayed peer's next try (the option).
  void set_upgrade_interval(std::chrono::steady_clock::duration first);

  /// From the application (connect_peer), from connections (FORWARD,
  /// FORWARDED, FORWARD_FAILED, and punched: an accepted connection
  /// joined an attempt) and from attempts and their punchers.
  caf::message_handler handlers();

  /// An event from the service: announced (an attempt's peer is
  /// connected); peers_learned (who told us of whom) and a failed dial to
  /// one of those (the teller is asked to introduce us: automatic
  /// introduction).
  void on(const service_event& ev);

  /// Peers learned from samples remembered for automatic introduction.
  static constexpr size_t max_learned = 64;

  /// An attempt actor is gone; false when `dm` is not about one.
  bool on_down(const caf::down_msg& dm);

  /// The live attempts, as connections see them.
  const std::shared_ptr<punch_registry>& registry() const {
    return registry_;
  }

  /// Signals forwarded to this node that did not verify (bounded
  /// counters, for tests and the status page).
  uint64_t bad_signals() const {
    return bad_signals_;
  }

  /// The application hears that connecting to `peer` failed, and why.
  void fail(const peer_id& peer, const std::string& why);

private:
  /// A relay tried alongside an attempt (or after it failed): what each
  /// side learned, so that the application hears one failure, with both
  /// reasons, only once both failed.
  struct relay_try {
    bool punch_over = false;
    std::string punch_why; // empty: the punch connected
    std::optional<std::string> relay_failed;
  };

  struct attempt_rec {
    caf::actor actor;
    peer_id peer;
    probe_key key{};
    /// The connections its signals go out on (the mutual peers').
    std::vector<conn_id> vias;
    /// We offered because the application asked: it hears a failure.
    bool ours = false;
    /// When it began and when its peer's connection came up, for the
    /// punched report.
    std::chrono::steady_clock::time_point started
      = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> connected_at;
    /// A try for a direct path to a relayed peer (punch_upgrade.cpp).
    bool upgrade = false;
    /// The relay asked for alongside (crust.relay-after), if any.
    std::shared_ptr<relay_try> relay;
  };

  void connect_peer(const crust::connect_peer& cmd);
  void introduce_after_failed_dial(const endpoint& target);
  /// What we bring to an attempt with `peer` (candidates, mapping, caps).
  punch_attempt::local_info our_info(const peer_id& peer) const;
  rendezvous_info prepare();
  void connect_with(const crust::connect_with& cmd);
  void introduce(conn_id asker, const peer_id& to,
                 std::vector<uint8_t>& payload);
  void on_signal(conn_id via, const peer_id& from,
                 const std::vector<uint8_t>& payload);
  void on_forward_failed(conn_id via, const std::vector<uint8_t>& context);
  void on_punched_socket(caf::io::network::native_socket fd,
                         const std::string& ip, uint16_t port,
                         const std::vector<uint8_t>& attempt);
  void on_udp_path(const attempt_id& id, const std::string& ip,
                   uint16_t port);
  void on_done(const std::vector<uint8_t>& attempt, bool connected,
               uint8_t round, const std::string& reasons);
  /// Asks a relay among `rec`'s mutual peers (any kept peer for an
  /// attempt the application signalled) for a circuit to its peer.
  void start_relay(attempt_rec& rec);
  void on_relay_early(const std::vector<uint8_t>& attempt);
  void spawn_attempt(bool offerer, const attempt_id& id, const probe_key& key,
                     const peer_id& peer, std::vector<conn_id> vias,
                     std::optional<punch_signal> offer,
                     bool signalled = false);
  void end(std::map<attempt_id, attempt_rec>::iterator i,
           const std::string& why);

  // Direct paths for relayed peers (punch_upgrade.cpp).
  /// An event that concerns relayed peers' tries; false when it does not.
  bool on_upgrade_event(const service_event& ev);
  /// The tries due now start; the timer is armed for the next.
  void run_upgrades();
  bool start_upgrade(const peer_id& peer);
  void arm_upgrades();
  void follower_upgrades();
  /// `peer` may take part in an attempt: not connected, or connected
  /// through a relay without a direct path yet.
  bool may_punch(const peer_id& peer) const;

  self_ptr self_;
  std::shared_ptr<punch_registry> registry_;
  std::map<attempt_id, attempt_rec> attempts_;
  // Who named each peer a sample told us of (oldest first), for automatic
  // introduction when dialling it fails.
  std::vector<std::pair<peer_id, peer_id>> learned_;
  // Our halves for connect_with: attempt -> when it was prepared.
  std::map<attempt_id, caf::actor_clock::time_point> prepared_;
  uint64_t bad_signals_ = 0;
  // When each relayed peer is tried again (we lead those only).
  upgrade_schedule upgrades_{upgrade_schedule::settings{}};
  std::optional<upgrade_schedule::time_point> upgrades_armed_;
  /// When we, not leading, last tried a relayed peer because our own
  /// endpoints changed (at most once per upgrade interval each).
  std::map<peer_id, upgrade_schedule::time_point> follower_tries_;
  std::chrono::steady_clock::duration upgrade_interval_
    = std::chrono::seconds(30);
};

} // namespace crust
