#include "actors/bootstrap_cache.hpp"

#include <caf/all.hpp>

#include <ctime>

#include "actors/atoms.hpp"
#include "crust/messages.hpp"
#include "discovery/io/cache_file.hpp"

namespace crust {

std::vector<endpoint> dial_list(const peer_cache& cache) {
  std::vector<endpoint> result;
  for (auto& e : cache.ranked())
    for (auto ep : e.endpoints) {
      ep.pinned = e.peer;
      result.push_back(ep);
    }
  return result;
}

caf::behavior bootstrap_cache(caf::event_based_actor* self, cache_setup setup) {
  auto file = std::make_shared<cache_file>(setup.path, setup.network,
                                           setup.capacity);
  auto handler = setup.handler;
  // Every change is written at once: they are rare (a direct connection,
  // a failed dial), and a crash must not lose them.
  auto change = [=](const std::function<void(peer_cache&)>& f) {
    auto r = file->update(f);
    if (!r)
      self->send(handler, warning{self->system().render(r.error())
                                  + "; the change is not saved"});
    else if (!r->warning.empty())
      self->send(handler, warning{r->warning});
  };
  self->set_error_handler([](caf::error&) {});
  return {
    [=](cache_success_atom, const peer_id& peer, const endpoint& at) {
      auto now = static_cast<int64_t>(std::time(nullptr));
      change([&](peer_cache& c) { c.succeeded(peer, at, now); });
    },
    [=](cache_learned_atom, const peer_id& peer, const endpoint& at) {
      change([&](peer_cache& c) { c.learned(peer, at); });
    },
    [=](cache_moved_atom, const peer_id& peer,
        const std::vector<endpoint>& now_at) {
      change([&](peer_cache& c) { c.moved(peer, now_at); });
    },
    [=](cache_failure_atom, const peer_id& peer) {
      change([&](peer_cache& c) { c.failed(peer); });
    },
    [=](close_atom) {
      // After every change queued before it (the mailbox is in order): a
      // node that shuts down right after connecting still remembers.
      self->quit();
      return caf::ok_atom::value;
    },
    [=](cache_list_atom) -> std::vector<endpoint> {
      auto r = file->load();
      if (!r) {
        self->send(handler, warning{self->system().render(r.error())});
        return {};
      }
      if (!r->warning.empty())
        self->send(handler, warning{r->warning});
      return dial_list(r->cache);
    },
  };
}

} // namespace crust
