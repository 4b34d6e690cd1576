// The service's NAT traversal, a part with state of its own: once the
// listener is bound it starts the port mapper and address discovery
// (children the supervision helper keeps), holds what each said last and
// where peers see us, and tells the application one external_endpoints
// view whenever it changes. It hears the bound port and OBSERVED echoes as
// the service's events (events.hpp); the supervision helper restarts it.
#pragma once

#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/service/events.hpp"
#include "crust/messages.hpp"

namespace crust {

struct service_state;

class nat_part {
public:
  using self_ptr = caf::stateful_actor<service_state>*;

  explicit nat_part(self_ptr self) : self_(self) {
    // nop
  }

  /// From the port mapper (port_mapping), from address discovery
  /// (nat_report) and from ourselves (discover: the periodic recheck).
  caf::message_handler handlers();

  /// An event from the service: listening_up (start; again when our
  /// ports moved: map the new port, look again, tell kept peers),
  /// ports_retired (the old port's mapping goes), observed (a
  /// connection's peer says where it sees us).
  void on(const service_event& ev);

  /// The listener is bound to `port`: map it and learn our address. Starts
  /// whichever child is not running (also after one failed); a new port
  /// moves the mapping.
  void start(uint16_t port);

  /// What the application heard last of our outside (none yet).
  /// What each peer says it sees of us (observer -> "IP:PORT"), trusted
  /// or not: the view above counts an echo only when STUN or a second
  /// peer agrees; hole punching also guesses from a lone one.
  const std::map<std::string, std::string>& echoes() const {
    return echoes_;
  }

  const std::optional<external_endpoints>& view() const {
    return published_;
  }

private:
  void on_observed(const std::string& observer, const std::string& text);

  void publish();

  void on_ports_moved();

  /// Tells every kept peer where we listen now (ENDPOINTS).
  void tell_peers();

  /// Asks the server that answered address discovery where it sees the
  /// rudp socket (the port peers punch to).
  void ask_from_rudp_socket(const external_endpoints& report);

  self_ptr self_;
  uint16_t mapped_port_ = 0;
  /// Where the listener is bound, and the endpoints it announced.
  uint16_t listening_port_ = 0;
  std::vector<endpoint> listening_;
  /// Our ports moved: kept peers hear so when the mapping answers.
  bool tell_pending_ = false;
  bool rechecking_ = false;
  std::optional<port_mapping> mapping_;
  std::optional<external_endpoints> stun_;
  /// Where STUN sees the rudp socket itself ("IP:PORT").
  std::optional<std::string> rudp_mapped_;
  /// Observer IP -> "IP:PORT", bounded: one vote per IP.
  std::map<std::string, std::string> echoes_;
  std::optional<external_endpoints> published_;
};

} // namespace crust
