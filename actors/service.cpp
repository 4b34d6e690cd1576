#include "actors/service.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <sodium.h>

#include <memory>
#include <set>

#include "actors/atoms.hpp"
#include "actors/connection.hpp"
#include "actors/dialer.hpp"
#include "actors/interfaces.hpp"
#include "actors/listener.hpp"
#include "actors/peer_table.hpp"
#include "actors/respond.hpp"
#include "crust/errors.hpp"
#include "crust/service.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

// A listener that keeps crashing is a bug, not bad luck: give up then.
constexpr int max_listener_restarts = 3;

// How long shutdown waits for connections to say goodbye.
constexpr auto shutdown_grace = std::chrono::seconds(2);

} // namespace

struct conn_record {
  caf::actor hdl;
  connection_info info;
  caf::optional<endpoint> target;
  /// Set when the service already told the application about this
  /// connection's end (or decided it needs no word).
  bool reported = false;
  /// Why the service closed it, when it did.
  std::string reason;
};

struct service_state {
  service_options opts;
  caf::actor handler;
  peer_id id;
  uint64_t session = 0;
  caf::actor listener;
  uint16_t bound_port = 0;
  int listener_restarts = 0;
  std::optional<peer_table> table;
  conn_id next_id = 1;
  std::unordered_map<caf::actor_addr, conn_id> ids;
  std::unordered_map<conn_id, conn_record> conns;
  bool stopping = false;
  /// Every live child, for the service's last act: stopping them.
  std::shared_ptr<std::set<caf::actor>> children
    = std::make_shared<std::set<caf::actor>>();
  static const char* name;
};

const char* service_state::name = "crust.service";

namespace {

using self_ptr = caf::stateful_actor<service_state>*;

// Timers go out without a sender (see connection.cpp).
template <class... Ts>
void set_timer(self_ptr self, caf::timespan after, Ts... xs) {
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), after, xs...);
}

connection_setup make_setup(self_ptr self) {
  auto& st = self->state;
  connection_setup s;
  s.opts = st.opts;
  s.local_id = st.id;
  s.session = st.session;
  s.service = caf::actor_cast<caf::actor>(self);
  s.handler = st.handler;
  return s;
}

void spawn_listener(self_ptr self) {
  auto& st = self->state;
  auto setup = make_setup(self);
  if (st.bound_port != 0)
    setup.opts.listen_port = st.bound_port; // a restart keeps its port
  st.listener = self->home_system().middleman().spawn_broker(listener, setup);
  self->monitor(st.listener);
  st.children->insert(st.listener);
}

conn_id register_conn(self_ptr self, const caf::actor& hdl) {
  auto& st = self->state;
  auto addr = hdl.address();
  if (auto i = st.ids.find(addr); i != st.ids.end())
    return i->second;
  auto c = st.next_id++;
  st.ids.emplace(addr, c);
  st.conns[c].hdl = hdl;
  st.table->add(c);
  self->monitor(hdl);
  st.children->insert(hdl);
  return c;
}

std::optional<conn_id> sender_conn(self_ptr self) {
  auto& st = self->state;
  auto i = st.ids.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (i == st.ids.end())
    return std::nullopt;
  return i->second;
}

void close_conn(self_ptr self, conn_id c, wire::close_reason r,
                std::string reason) {
  auto& rec = self->state.conns[c];
  if (rec.reason.empty())
    rec.reason = std::move(reason);
  self->send(rec.hdl, close_atom::value, static_cast<uint8_t>(r));
}

void announce(self_ptr self, conn_id c) {
  auto& st = self->state;
  auto e = st.table->find(c);
  st.conns[c].reported = false;
  self->send(st.handler, new_peer{e->peer, st.conns[c].info});
  set_timer(self, st.opts.decision_timeout, decide_atom::value, c);
}

// A live connection was replaced by a newer one from a restarted peer.
void supersede(self_ptr self, conn_id old) {
  auto& st = self->state;
  auto& rec = st.conns[old];
  rec.reported = true;
  self->send(st.handler,
             peer_lost{st.table->find(old)->peer,
                       "superseded by a newer connection (the peer restarted)"});
  close_conn(self, old, wire::close_reason::superseded, "superseded");
}

void on_closed(self_ptr self, conn_id c, std::string reason) {
  auto& st = self->state;
  auto i = st.conns.find(c);
  if (i == st.conns.end())
    return;
  auto rec = std::move(i->second);
  st.conns.erase(i);
  st.ids.erase(rec.hdl.address());
  st.children->erase(rec.hdl);
  auto entry = st.table->find(c);
  auto peer = entry ? std::optional<peer_id>{entry->peer} : std::nullopt;
  auto lost = st.table->remove(c);
  if (!rec.reason.empty())
    reason = rec.reason;
  if (lost && !rec.reported)
    self->send(st.handler, peer_lost{*lost, reason});
  else if (rec.target && !rec.reported && !(peer && st.table->live(*peer)))
    self->send(st.handler, connection_failed{to_string(*rec.target), reason});
  if (st.stopping && st.conns.empty())
    self->quit();
}

void on_hello(self_ptr self, conn_id c, const peer_id& peer, uint64_t session) {
  auto& st = self->state;
  auto out = st.table->on_hello(c, peer, session);
  switch (out.act) {
    case peer_table::action::wait:
      return;
    case peer_table::action::close_self: {
      auto& rec = st.conns[c];
      if (rec.target)
        self->send(st.handler,
                   connection_failed{to_string(*rec.target),
                                     "that endpoint is this node itself"});
      rec.reported = true;
      close_conn(self, c, wire::close_reason::self, "connected to itself");
      return;
    }
    case peer_table::action::close_duplicate:
      st.conns[c].reported = true;
      close_conn(self, c, wire::close_reason::duplicate, "duplicate");
      return;
    case peer_table::action::select:
      if (out.superseded)
        supersede(self, *out.superseded);
      self->send(st.conns[c].hdl, select_atom::value);
      announce(self, c);
      return;
  }
}

void connect_to(self_ptr self, const endpoint& target) {
  auto& st = self->state;
  if (target.proto != transport::tcp) {
    self->send(st.handler,
               connection_failed{to_string(target),
                                 "this build dials tcp:// endpoints only"});
    return;
  }
  auto d = self->home_system().spawn<caf::detached>(dialer, target,
                                                    st.opts.connect_timeout);
  auto margin = std::chrono::seconds(5);
  self->request(d, st.opts.connect_timeout + margin, dial_atom::value)
    .then(
      [=](caf::io::network::native_socket fd, const endpoint& local) {
        auto& st = self->state;
        if (st.stopping) {
          caf::io::network::close_socket(fd);
          return;
        }
        auto setup = make_setup(self);
        setup.target = target;
        setup.info.local = local;
        setup.info.remote = target;
        setup.info.remote.pinned = caf::none;
        auto hdl = self->home_system().middleman().spawn_broker(
          connection_from_socket, fd, setup);
        auto c = register_conn(self, hdl);
        st.conns[c].info = setup.info;
        st.conns[c].target = target;
      },
      [=](caf::error& err) {
        auto reason = err.category() == error_category && !err.context().empty()
                        ? err.context().get_as<std::string>(0)
                        : self->system().render(err);
        self->send(self->state.handler,
                   connection_failed{to_string(target), reason});
      });
}

} // namespace

caf::behavior service(caf::stateful_actor<service_state>* self,
                      service_options opts, caf::actor handler, peer_id id) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.handler = std::move(handler);
  st.id = id;
  randombytes_buf(&st.session, sizeof(st.session));
  st.table.emplace(id);
  spawn_listener(self);
  // Children never outlive their service. Links would do it, but a child
  // killed with exit_reason::kill would take the service down too; the
  // list is shared because the state is gone when attachables run.
  auto children = st.children;
  self->attach_functor([children](const caf::error&) {
    for (auto& child : *children)
      caf::anon_send_exit(child, caf::exit_reason::user_shutdown);
  });
  // A stray error message (e.g. an application answering one of our
  // replies with "unexpected message") must not stop a node: CAF's default
  // error handler would quit the service and every connection with it.
  self->set_error_handler([](caf::error&) {});
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    if (st.listener && dm.source == st.listener.address()) {
      st.children->erase(st.listener);
      st.listener = nullptr;
      if (st.stopping || !dm.reason)
        return;
      if (++st.listener_restarts > max_listener_restarts) {
        auto why = "the listener failed " + std::to_string(max_listener_restarts)
                   + " times: " + self->system().render(dm.reason);
        self->send(st.handler, service_failed{why});
        self->quit(dm.reason);
        return;
      }
      spawn_listener(self);
      return;
    }
    auto i = st.ids.find(dm.source);
    if (i != st.ids.end())
      on_closed(self, i->second,
                "connection actor failed: " + self->system().render(dm.reason));
  });
  return {
    [=](conn_up_atom, const connection_info& info) {
      auto hdl = caf::actor_cast<caf::actor>(self->current_sender());
      auto c = register_conn(self, hdl);
      if (!self->state.conns[c].target)
        self->state.conns[c].info = info;
    },
    [=](hello_atom, const peer_id& peer, uint64_t session) {
      if (auto c = sender_conn(self))
        on_hello(self, *c, peer, session);
    },
    [=](selected_atom) {
      auto c = sender_conn(self);
      if (!c)
        return;
      if (auto old = self->state.table->on_selected(*c))
        supersede(self, *old);
      announce(self, *c);
    },
    [=](closed_atom, std::string& reason, bool duplicate) {
      auto c = sender_conn(self);
      if (!c)
        return;
      // The leader kept another connection to this peer; the application
      // hears about that one, not about this loser.
      if (duplicate)
        self->state.conns[*c].reported = true;
      on_closed(self, *c, std::move(reason));
    },
    [=](decide_atom, conn_id c) {
      auto& st = self->state;
      auto e = st.table->find(c);
      if (e && e->ph == peer_table::phase::undecided)
        close_conn(self, c, wire::close_reason::timeout,
                   "no keep/drop decision within "
                     + to_text(st.opts.decision_timeout));
    },
    [=](bound_atom, uint16_t port) {
      auto& st = self->state;
      st.bound_port = port;
      listening ev;
      ev.id = st.id;
      for (auto& addr : reachable_addresses(st.opts.listen_address))
        ev.endpoints.push_back(endpoint{transport::tcp, addr, port, {}});
      self->send(st.handler, std::move(ev));
    },
    [=](service_failed& ev) {
      self->send(self->state.handler, ev);
      self->state.stopping = true;
      self->quit(make_error(errc::invalid_config, ev.reason));
    },
    [=](const connect& cmd) { connect_to(self, cmd.target); },
    [=](const keep& cmd) {
      auto& st = self->state;
      auto c = st.table->live(cmd.peer);
      if (!c)
        return respond(self, make_error(errc::unknown_peer));
      if (st.table->keep(cmd.peer))
        self->send(st.conns[*c].hdl, kept_atom::value);
      respond(self, caf::none);
    },
    [=](const drop& cmd) {
      auto c = self->state.table->live(cmd.peer);
      if (!c)
        return respond(self, make_error(errc::unknown_peer));
      close_conn(self, *c, wire::close_reason::dropped,
                 "dropped by this node");
      respond(self, caf::none);
    },
    [=](send& cmd) {
      auto& st = self->state;
      auto c = st.table->live(cmd.peer);
      if (!c)
        return respond(self, make_error(errc::unknown_peer));
      if (st.table->find(*c)->ph != peer_table::phase::kept)
        return respond(self, make_error(errc::not_kept));
      // The connection answers the original sender (or no one).
      self->delegate(st.conns[*c].hdl, std::move(cmd));
    },
    [=](list_peers) {
      auto& st = self->state;
      std::vector<peer_info> result;
      st.table->for_each_live([&](const peer_id& p, conn_id c,
                                  const peer_table::entry& e) {
        result.push_back(peer_info{p, st.conns[c].info,
                                   e.ph == peer_table::phase::kept});
      });
      return result;
    },
    [=](shutdown) {
      auto& st = self->state;
      if (st.stopping) {
        // The grace period is over (or the application insists).
        self->quit();
        return;
      }
      st.stopping = true;
      if (st.listener)
        self->send_exit(st.listener, caf::exit_reason::user_shutdown);
      if (st.conns.empty()) {
        self->quit();
        return;
      }
      for (auto& [c, rec] : st.conns)
        close_conn(self, c, wire::close_reason::normal, "shutdown");
      set_timer(self, shutdown_grace, shutdown{});
    },
  };
}

caf::expected<caf::actor> spawn_service(caf::actor_system& sys,
                                        const service_options& opts,
                                        caf::actor handler) {
  if (auto err = validate(opts))
    return err;
  if (sodium_init() < 0)
    return make_error(errc::invalid_config, "libsodium failed to initialise");
  return sys.spawn(service, opts, std::move(handler), peer_id::random());
}

caf::expected<caf::actor> spawn_service(caf::actor_system& sys,
                                        caf::actor handler) {
  auto opts = read_options(sys.config());
  if (!opts)
    return opts.error();
  return spawn_service(sys, *opts, std::move(handler));
}

} // namespace crust
