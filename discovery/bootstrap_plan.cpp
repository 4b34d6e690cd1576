#include "discovery/bootstrap_plan.hpp"

#include <algorithm>

namespace crust {

namespace {

// The same place, pinned or not.
bool same_place(const endpoint& a, const endpoint& b) {
  return a.proto == b.proto && a.host == b.host && a.port == b.port;
}

} // namespace

bootstrap_plan::bootstrap_plan(settings s, std::vector<endpoint> cache,
                               std::vector<endpoint> contacts, uint64_t seed)
  : cfg_(s), rng_(seed) {
  for (auto* list : {&cache, &contacts})
    for (auto& ep : *list) {
      auto dup = std::any_of(targets_.begin(), targets_.end(),
                             [&](const target& t) {
                               return same_place(t.ep, ep);
                             });
      if (!dup)
        targets_.push_back(target{ep, 0, false, false, false, {}, {}});
    }
}

bootstrap_plan::target* bootstrap_plan::find(const endpoint& ep) {
  for (auto& t : targets_)
    if (t.ep == ep)
      return &t;
  return nullptr;
}

std::vector<endpoint> bootstrap_plan::due(time_point now) {
  std::vector<endpoint> result;
  if (status() != state::running)
    return result;
  auto busy = static_cast<size_t>(
    std::count_if(targets_.begin(), targets_.end(),
                  [](const target& t) { return t.in_flight; }));
  for (auto& t : targets_) {
    if (busy >= cfg_.concurrency)
      break;
    if (t.done || t.in_flight || t.next > now)
      continue;
    t.in_flight = true;
    ++busy;
    result.push_back(t.ep);
  }
  return result;
}

void bootstrap_plan::reached(const endpoint& ep) {
  if (auto t = find(ep)) {
    t->in_flight = false;
    t->done = true;
    t->reached = true;
  }
}

void bootstrap_plan::gave_up(const endpoint& ep, const std::string& reason) {
  if (auto t = find(ep)) {
    t->in_flight = false;
    t->done = true;
    t->last_error = reason;
  }
}

bootstrap_plan::duration bootstrap_plan::backoff_for(uint32_t failures) const {
  auto d = cfg_.backoff;
  for (uint32_t i = 1; i < failures && d < cfg_.backoff_cap; ++i)
    d *= 2;
  return std::min(d, cfg_.backoff_cap);
}

void bootstrap_plan::failed(const endpoint& ep, const std::string& reason,
                            time_point now) {
  auto t = find(ep);
  if (!t)
    return;
  t->in_flight = false;
  t->last_error = reason;
  if (++t->failures >= cfg_.attempts) {
    t->done = true;
    return;
  }
  // Jitter in [0.5, 1.5) of the delay: peers that lost the same node at
  // the same moment do not all come back at the same moment.
  std::uniform_real_distribution<double> jitter{0.5, 1.5};
  auto base = std::chrono::duration<double>(backoff_for(t->failures));
  t->next = now + std::chrono::duration_cast<duration>(base * jitter(rng_));
}

bootstrap_plan::state bootstrap_plan::status() const {
  if (kept_ >= cfg_.target)
    return state::finished;
  auto open = std::any_of(targets_.begin(), targets_.end(),
                          [](const target& t) { return !t.done; });
  if (open)
    return state::running;
  return kept_ > 0 ? state::finished : state::failed;
}

std::optional<bootstrap_plan::time_point> bootstrap_plan::next_due() const {
  std::optional<time_point> result;
  if (status() != state::running)
    return result;
  for (auto& t : targets_)
    if (!t.done && !t.in_flight && (!result || t.next < *result))
      result = t.next;
  return result;
}

std::vector<std::string> bootstrap_plan::reasons() const {
  std::vector<std::string> result;
  for (auto& t : targets_)
    if (t.done && !t.reached)
      result.push_back(to_string(t.ep) + ": " + t.last_error);
  return result;
}

std::string to_string(bootstrap_plan::state x) {
  switch (x) {
    case bootstrap_plan::state::running:
      return "running";
    case bootstrap_plan::state::finished:
      return "finished";
    case bootstrap_plan::state::failed:
      return "failed";
  }
  return "unknown";
}

} // namespace crust
