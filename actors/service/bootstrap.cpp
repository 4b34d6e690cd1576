// The service's bootstrap part (bootstrap_part.hpp).
#include "actors/service/bootstrap_part.hpp"
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

uint32_t bootstrap_part::kept() const {
  return static_cast<uint32_t>(self_->state.conns->kept());
}

void bootstrap_part::start_round(std::vector<endpoint> cached) {
  auto self = self_;
  auto& st = self->state;
  if (st.stopping || child(self, child_role::bootstrap)
      || (cached.empty() && contacts_.empty()))
    return;
  bootstrap_setup setup;
  setup.service = caf::actor_cast<caf::actor>(self);
  setup.handler = st.handler;
  setup.plan.concurrency = st.opts.bootstrap_concurrency;
  setup.plan.target = st.opts.bootstrap_target;
  setup.cache = std::move(cached);
  setup.contacts = contacts_;
  setup.kept = kept();
  randombytes_buf(&setup.seed, sizeof(setup.seed));
  adopt(self, child_role::bootstrap, self->spawn(bootstrap, std::move(setup)));
}

void bootstrap_part::start(bool persist, const std::vector<endpoint>& cached) {
  for (auto& text : self_->state.opts.contacts)
    if (auto ep = endpoint::parse(text))
      contacts_.push_back(*ep); // validate() checked every one
  persist_ = persist;
  restart_cache();
  start_round(cached);
}

void bootstrap_part::restart_cache() {
  auto self = self_;
  auto& st = self->state;
  if (!persist_ || child(self, child_role::cache) || st.stopping)
    return;
  cache_setup cs{st.opts.bootstrap_cache_file, st.opts.network_name,
                 st.opts.bootstrap_cache_size, st.handler};
  adopt(self, child_role::cache,
        spawn_blocking(self->home_system(), bootstrap_cache, cs));
}

void bootstrap_part::on(const service_event& ev) {
  std::visit(
    [this](auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, events::announced>) {
        if (auto& cache = child(self_, child_role::cache); cache && x.dialled)
          self_->send(cache, cache_success_atom::value, x.peer, *x.dialled);
      } else if constexpr (std::is_same_v<T, events::kept>) {
        on_kept_changed(); // first: the round counts kept peers
        if (x.reached)
          tell_round(*x.dialled, *x.reached);
      } else if constexpr (std::is_same_v<T, events::lost>) {
        if (x.end.dial_failed)
          tell_cache_failed(*x.end.target);
        if (x.end.bootstrap)
          tell_round(*x.end.target, *x.end.bootstrap);
        if (x.end.was_live)
          on_kept_changed();
      } else if constexpr (std::is_same_v<T, events::dial_failed>) {
        tell_cache_failed(x.target);
        if (x.round)
          tell_round(x.target, *x.round);
      } else if constexpr (std::is_same_v<T, events::peers_learned>) {
        // A round only for someone new, and only while short. While a
        // round runs (the one that reached the peer who told us may not
        // have ended yet), they wait for it to end.
        if (x.to_dial.empty()
            || kept() >= self_->state.opts.bootstrap_target)
          return;
        if (!child(self_, child_role::bootstrap))
          return start_round(x.to_dial);
        for (auto& ep : x.to_dial)
          if (learned_.size() < max_learned
              && std::find(learned_.begin(), learned_.end(), ep)
                   == learned_.end())
            learned_.push_back(ep);
      }
    },
    ev);
}

void bootstrap_part::tell_round(const endpoint& target, const result& r) {
  if (auto& round = child(self_, child_role::bootstrap))
    self_->send(round, bootstrap_result_atom::value, target, r.reached,
                r.retry, r.reason);
}

void bootstrap_part::tell_cache_failed(const endpoint& target) {
  if (auto& cache = child(self_, child_role::cache); cache && target.pinned)
    self_->send(cache, cache_failure_atom::value, *target.pinned);
}

void bootstrap_part::on_kept_changed() {
  auto n = kept();
  if (auto& round = child(self_, child_role::bootstrap)) {
    self_->send(round, kept_count_atom::value, n);
    return;
  }
  auto& st = self_->state;
  if (n >= st.opts.min_connections) {
    short_rounds_ = 0;
    return;
  }
  if (!rebootstrap_pending_ && !st.stopping) {
    rebootstrap_pending_ = true;
    set_timer(self_, rebootstrap_delay(short_rounds_), rebootstrap_atom::value);
  }
}

void bootstrap_part::on_round_ended() {
  if (kept() < self_->state.opts.min_connections)
    ++short_rounds_;
  auto learned = std::exchange(learned_, {});
  if (!learned.empty() && kept() < self_->state.opts.bootstrap_target) {
    start_round(std::move(learned));
    if (child(self_, child_role::bootstrap))
      return; // the new round hears the kept count
  }
  on_kept_changed();
}

void bootstrap_part::rebootstrap() {
  auto self = self_;
  auto& st = self->state;
  rebootstrap_pending_ = false;
  if (st.stopping || child(self, child_role::bootstrap)
      || kept() >= st.opts.min_connections)
    return;
  auto& cache = child(self, child_role::cache);
  if (!cache) {
    start_round({});
    return;
  }
  self->request(cache, caf::infinite, cache_list_atom::value)
    .then([this](const std::vector<endpoint>& cached) { start_round(cached); },
          [this](caf::error&) { start_round({}); });
}

caf::message_handler bootstrap_part::handlers() {
  auto self = self_;
  return {
    // from a round: dial this
    [self](bootstrap_dial_atom, const endpoint& target) {
      if (self->current_sender() == child(self, child_role::bootstrap))
        connect_to(self, target, origin::bootstrap_out);
    },
    // from ourselves: the delay after a short round is over
    [this](rebootstrap_atom) { rebootstrap(); },
  };
}

} // namespace crust
