#include "actors/bootstrap.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "actors/timer.hpp"
#include "crust/messages.hpp"

namespace crust {

namespace {

using self_ptr = caf::stateful_actor<bootstrap_state>*;

// Dials what is due, and ends the round when it is over.
void step(self_ptr self, const bootstrap_setup& setup) {
  auto& plan = *self->state.plan;
  auto now = self->clock().now();
  for (auto& ep : plan.due(now))
    self->send(setup.service, bootstrap_dial_atom::value, ep);
  switch (plan.status()) {
    case bootstrap_plan::state::running:
      if (auto next = plan.next_due(); next && *next > now)
        set_timer(self, *next - now, bootstrap_tick_atom::value);
      return;
    case bootstrap_plan::state::finished:
      self->send(setup.handler,
                 bootstrap_finished{static_cast<uint32_t>(plan.kept())});
      break;
    case bootstrap_plan::state::failed:
      self->send(setup.handler, bootstrap_failed{plan.reasons()});
      break;
  }
  self->quit();
}

} // namespace

caf::behavior bootstrap(caf::stateful_actor<bootstrap_state>* self,
                        bootstrap_setup setup) {
  auto& plan = self->state.plan;
  plan.emplace(setup.plan, setup.cache, setup.contacts, setup.seed);
  plan->kept(setup.kept);
  self->set_error_handler([](caf::error&) {});
  // Start once the behavior is in place (the service may answer at once).
  self->send(self, bootstrap_tick_atom::value);
  return {
    [=](bootstrap_tick_atom) { step(self, setup); },
    [=](bootstrap_result_atom, const endpoint& ep, bool reached, bool retry,
        const std::string& reason) {
      auto& plan = *self->state.plan;
      if (reached)
        plan.reached(ep);
      else if (retry)
        plan.failed(ep, reason, self->clock().now());
      else
        plan.gave_up(ep, reason);
      step(self, setup);
    },
    [=](kept_count_atom, uint32_t n) {
      self->state.plan->kept(n);
      step(self, setup);
    },
  };
}

} // namespace crust
