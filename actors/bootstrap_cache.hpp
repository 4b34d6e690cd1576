// The bootstrap cache as an actor: it keeps the file (transports/
// cache_file) up to date as the service reaches peers directly or fails to,
// and answers what a new bootstrap round should dial. Blocking file I/O:
// spawn it detached.
//
// Messages:  (cache_success_atom, peer_id, endpoint) we dialled it there;
//            (cache_failure_atom, peer_id) dialling it failed;
//            (cache_learned_atom, peer_id, endpoint) a peer told us of it;
//            (cache_moved_atom, peer_id, std::vector<endpoint>) a peer
//            listens there now (its ports moved);
//            (cache_list_atom) -> std::vector<endpoint>, best first, each
//            pinned to its peer id;
//            (close_atom) quits once every change before it is saved.
// Problems with the file go to the handler as crust::warning.
#pragma once

#include <caf/atom.hpp>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include <string>
#include <vector>

#include "crust/endpoint.hpp"
#include "discovery/peer_cache.hpp"

namespace crust {

// -- atoms: the cache keeper's protocol ------------------------------

using cache_success_atom = caf::atom_constant<caf::atom("cache_ok")>;
using cache_failure_atom = caf::atom_constant<caf::atom("cache_fail")>;
using cache_list_atom = caf::atom_constant<caf::atom("cache_list")>;
using cache_learned_atom = caf::atom_constant<caf::atom("cache_lrnd")>;
using cache_moved_atom = caf::atom_constant<caf::atom("cache_movd")>;

struct cache_setup {
  std::string path;
  std::string network;
  size_t capacity = 200;
  caf::actor handler;
};

caf::behavior bootstrap_cache(caf::event_based_actor* self, cache_setup setup);

/// What a bootstrap round dials from `cache`: every endpoint of every
/// entry, best entry first, pinned to the entry's peer id.
std::vector<endpoint> dial_list(const peer_cache& cache);

} // namespace crust
