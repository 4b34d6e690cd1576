// One bootstrap round: dials what the cache and the contacts offer
// (through the service, so connections are ordinary ones with origin
// bootstrap_out) until crust.bootstrap-target peers are kept or nothing is
// left, then tells the handler bootstrap_finished or bootstrap_failed and
// quits. The plan (what, when) is discovery/bootstrap_plan.
//
// To the service:   (bootstrap_dial_atom, endpoint)
// From the service: (bootstrap_result_atom, endpoint, bool reached,
//                   bool retry, std::string reason) for each dial (reached:
//                   the node keeps the peer; retry: worth another try), and
//                   (kept_count_atom, uint32_t) whenever that changes.
#pragma once

#include <caf/atom.hpp>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include <optional>
#include <vector>

#include "discovery/bootstrap_plan.hpp"
#include "crust/endpoint.hpp"

namespace crust {

// -- atoms: a round's protocol with the service ----------------------

using bootstrap_dial_atom = caf::atom_constant<caf::atom("bs_dial")>;
using bootstrap_result_atom = caf::atom_constant<caf::atom("bs_result")>;
using kept_count_atom = caf::atom_constant<caf::atom("kept_count")>;
using bootstrap_tick_atom = caf::atom_constant<caf::atom("bs_tick")>;

struct bootstrap_setup {
  caf::actor service;
  caf::actor handler;
  bootstrap_plan::settings plan;
  std::vector<endpoint> cache;
  std::vector<endpoint> contacts;
  uint32_t kept = 0;
  uint64_t seed = 0;
};

struct bootstrap_state {
  std::optional<bootstrap_plan> plan;
  static inline const char* name = "crust.bootstrap";
};

caf::behavior bootstrap(caf::stateful_actor<bootstrap_state>* self,
                        bootstrap_setup setup);

} // namespace crust
