// The service's side of bootstrapping: the cache keeper and the rounds.
// A round (actors/bootstrap) asks the service to dial; the service tells it
// how each dial ended and how many peers are kept, and tells the cache
// which peers it reached directly.
#include "actors/service/state.hpp"

#include <caf/all.hpp>

#include <sodium.h>

#include <algorithm>

#include "actors/atoms.hpp"
#include "actors/blocking.hpp"
#include "actors/bootstrap.hpp"
#include "actors/bootstrap_cache.hpp"
#include "crust/messages.hpp"

namespace crust {

namespace {

// After a round that left the node short: 5 s, doubling up to 5 minutes.
caf::timespan rebootstrap_delay(uint32_t short_rounds) {
  auto d = std::chrono::seconds(5);
  for (uint32_t i = 0; i < short_rounds && d < std::chrono::minutes(5); ++i)
    d *= 2;
  return std::min<caf::timespan>(d, std::chrono::minutes(5));
}

} // namespace

uint32_t kept_count(self_ptr self) {
  return static_cast<uint32_t>(self->state.conns->kept());
}

namespace {

} // namespace

void bootstrap_with(self_ptr self, std::vector<endpoint> cached) {
  auto& st = self->state;
  if (st.stopping || child(self, child_role::bootstrap)
      || (cached.empty() && st.contacts.empty()))
    return;
  bootstrap_setup setup;
  setup.service = caf::actor_cast<caf::actor>(self);
  setup.handler = st.handler;
  setup.plan.concurrency = st.opts.bootstrap_concurrency;
  setup.plan.target = st.opts.bootstrap_target;
  setup.cache = std::move(cached);
  setup.contacts = st.contacts;
  setup.kept = kept_count(self);
  randombytes_buf(&setup.seed, sizeof(setup.seed));
  adopt(self, child_role::bootstrap, self->spawn(bootstrap, std::move(setup)));
}

void start_bootstrap(self_ptr self, bool persist,
                     const std::vector<endpoint>& cached) {
  auto& st = self->state;
  for (auto& text : st.opts.contacts)
    if (auto ep = endpoint::parse(text))
      st.contacts.push_back(*ep); // validate() checked every one
  st.persist = persist;
  start_cache(self);
  bootstrap_with(self, cached);
}

void start_cache(self_ptr self) {
  auto& st = self->state;
  if (!st.persist || child(self, child_role::cache) || st.stopping)
    return;
  cache_setup cs{st.opts.bootstrap_cache_file, st.opts.network_name,
                 st.opts.bootstrap_cache_size, st.handler};
  adopt(self, child_role::cache, spawn_blocking(self->home_system(), bootstrap_cache, cs));
}

void bootstrap_outcome(self_ptr self, const endpoint& target,
                       const conn_table::ending::bootstrap_result& result) {
  auto& st = self->state;
  if (child(self, child_role::bootstrap))
    self->send(child(self, child_role::bootstrap), bootstrap_result_atom::value, target,
               result.reached, result.retry, result.reason);
}

void bootstrap_not_dialled(self_ptr self, const endpoint& target,
                           const std::string& reason) {
  auto& st = self->state;
  if (child(self, child_role::bootstrap))
    self->send(child(self, child_role::bootstrap), bootstrap_result_atom::value, target, false,
               true, reason);
}

void direct_success(self_ptr self, const peer_id& peer, const endpoint& target) {
  auto& st = self->state;
  if (child(self, child_role::cache))
    self->send(child(self, child_role::cache), cache_success_atom::value, peer, target);
}

void dial_failure(self_ptr self, const endpoint& target) {
  auto& st = self->state;
  if (child(self, child_role::cache) && target.pinned)
    self->send(child(self, child_role::cache), cache_failure_atom::value, *target.pinned);
}

void kept_changed(self_ptr self) {
  auto& st = self->state;
  auto n = kept_count(self);
  if (child(self, child_role::bootstrap)) {
    self->send(child(self, child_role::bootstrap), kept_count_atom::value, n);
    return;
  }
  if (n >= st.opts.min_connections) {
    st.short_rounds = 0;
    return;
  }
  if (!st.rebootstrap_pending && !st.stopping) {
    st.rebootstrap_pending = true;
    set_timer(self, rebootstrap_delay(st.short_rounds), rebootstrap_atom::value);
  }
}

void bootstrap_ended(self_ptr self) {
  auto& st = self->state;
  if (kept_count(self) < st.opts.min_connections)
    ++st.short_rounds;
  kept_changed(self);
}

void rebootstrap(self_ptr self) {
  auto& st = self->state;
  st.rebootstrap_pending = false;
  if (st.stopping || child(self, child_role::bootstrap)
      || kept_count(self) >= st.opts.min_connections)
    return;
  if (!child(self, child_role::cache)) {
    bootstrap_with(self, {});
    return;
  }
  self->request(child(self, child_role::cache), caf::infinite, cache_list_atom::value)
    .then([=](const std::vector<endpoint>& cached) { bootstrap_with(self, cached); },
          [=](caf::error&) { bootstrap_with(self, {}); });
}

} // namespace crust
