// The one helper that watches the service's children: every child is
// adopted (monitored, stopped with the service) and when one goes down the
// down handler switches on its role. A child that failed is reported to
// the application (crust::warning naming it and the error) and restarted
// after a delay that doubles, at most restart_budget's crashes a minute;
// then it stays off, and the application hears that too. The listener
// keeps its own rule (three restarts, then the service fails: a node that
// cannot listen is no node), and a bootstrap round that failed ends as if
// it had finished (the next round follows with its own backoff).
// Connections are not children here: their end is conn_table's.
#include "actors/service/state.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "crust/config.hpp"

namespace crust {

namespace {

// A listener that keeps crashing is a bug, not bad luck: give up then.
constexpr int max_listener_restarts = 3;

using restart_atom = caf::atom_constant<caf::atom("restart")>;

void on_listener_down(self_ptr self, const caf::error& reason) {
  auto& st = self->state;
  if (st.stopping || !reason)
    return;
  if (++st.listener_restarts > max_listener_restarts) {
    auto why = "the listener failed " + std::to_string(max_listener_restarts)
               + " times: " + self->system().render(reason);
    self->send(st.handler, service_failed{why});
    self->quit(reason);
    return;
  }
  restart_child(self, child_role::listener);
}

} // namespace

const char* to_string(child_role r) {
  switch (r) {
    case child_role::listener:
      return "the listener";
    case child_role::cache:
      return "the bootstrap cache";
    case child_role::bootstrap:
      return "the bootstrap round";
    case child_role::beacon:
      return "the LAN beacon";
    case child_role::port_mapper:
      return "the port mapper";
    case child_role::address_discovery:
      return "address discovery";
  }
  return "a child";
}

caf::actor& child(self_ptr self, child_role role) {
  return self->state.kids[role];
}

void adopt(self_ptr self, child_role role, const caf::actor& hdl) {
  auto& st = self->state;
  child(self, role) = hdl;
  st.child_roles[hdl.address()] = role;
  st.children->insert(hdl);
  self->monitor(hdl);
}

bool on_child_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.child_roles.find(dm.source);
  if (i == st.child_roles.end())
    return false;
  auto role = i->second;
  st.child_roles.erase(i);
  auto& slot = child(self, role);
  if (slot && slot.address() == dm.source) {
    st.children->erase(slot);
    slot = nullptr;
  }
  switch (role) {
    case child_role::listener:
      on_listener_down(self, dm.reason);
      return true;
    case child_role::bootstrap:
      if (dm.reason && !st.stopping)
        self->send(st.handler, warning{std::string{to_string(role)} + " failed ("
                                       + self->system().render(dm.reason)
                                       + "); the next round follows"});
      st.boot->on_round_ended();
      return true;
    default:
      break;
  }
  if (st.stopping || !dm.reason)
    return true; // closed on purpose
  auto what = std::string{to_string(role)} + " failed ("
              + self->system().render(dm.reason) + ")";
  auto& budget = st.budgets[role];
  if (auto delay = budget.on_crash(self->clock().now())) {
    self->send(st.handler, warning{what + "; restarting it in "
                                   + to_text(*delay)});
    set_timer(self, *delay, restart_atom::value, static_cast<uint8_t>(role));
  } else {
    self->send(st.handler,
               warning{what + "; it failed " + std::to_string(budget.crashes())
                       + " times within " + to_text(budget.bounds().window)
                       + " and stays off"});
  }
  return true;
}

void restart_child(self_ptr self, child_role role) {
  auto& st = self->state;
  if (st.stopping || child(self, role))
    return;
  switch (role) {
    case child_role::listener:
      st.listen->spawn_listener();
      return;
    case child_role::cache:
      st.boot->restart_cache();
      return;
    case child_role::bootstrap:
      st.boot->rebootstrap();
      return;
    case child_role::beacon:
      st.discovery->restart_beacon();
      return;
    case child_role::port_mapper:
    case child_role::address_discovery:
      st.nat->start(st.listen->bound_port());
      return;
  }
}

caf::message_handler child_handlers(self_ptr self) {
  return {
    // from ourselves: a restart's delay is over
    [=](restart_atom, uint8_t role) {
      restart_child(self, static_cast<child_role>(role));
    },
  };
}

} // namespace crust
