#include "actors/service.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <sodium.h>

#include "actors/atoms.hpp"
#include "actors/connection.hpp"
#include "actors/dialer.hpp"
#include "actors/interfaces.hpp"
#include "actors/listener.hpp"
#include "actors/peer_table.hpp"
#include "actors/respond.hpp"
#include "actors/service_state.hpp"
#include "crust/errors.hpp"
#include "crust/service.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

// A listener that keeps crashing is a bug, not bad luck: give up then.
constexpr int max_listener_restarts = 3;

// How long shutdown waits for connections to say goodbye.
constexpr auto shutdown_grace = std::chrono::seconds(2);

void spawn_listener(self_ptr self) {
  auto& st = self->state;
  auto setup = make_setup(self);
  if (st.bound_port != 0)
    setup.opts.listen_port = st.bound_port; // a restart keeps its port
  st.listener = self->home_system().middleman().spawn_broker(listener, setup);
  self->monitor(st.listener);
  st.children->insert(st.listener);
}

void connect_to(self_ptr self, const endpoint& target) {
  auto& st = self->state;
  if (target.proto != transport::tcp) {
    self->send(st.handler,
               connection_failed{to_string(target),
                                 "this build dials tcp:// endpoints only"});
    return;
  }
  if (st.adm->blocked(target.host)
      || (target.pinned && st.adm->blocked(*target.pinned))) {
    self->send(st.handler,
               connection_failed{to_string(target), "blacklisted"});
    return;
  }
  if (target.pinned ? !st.adm->allowed(target.host, *target.pinned)
                    : !st.adm->may_be_allowed(target.host)) {
    self->send(st.handler,
               connection_failed{to_string(target), "not on the allow list"});
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

// Closes, at once, every connection admission now refuses; returns how many.
uint64_t close_refused(self_ptr self) {
  auto& st = self->state;
  uint64_t closed = 0;
  for (auto& [c, rec] : st.conns) {
    auto& ip = rec.info.remote.host;
    auto e = st.table->find(c);
    bool known = e && e->ph != peer_table::phase::identifying;
    const char* why = nullptr;
    if (st.adm->blocked(ip) || (known && st.adm->blocked(e->peer)))
      why = "blacklisted";
    else if (known ? !st.adm->allowed(ip, e->peer) : !st.adm->may_be_allowed(ip))
      why = "not on the allow list";
    if (why && rec.reason.empty()) {
      ++closed;
      close_conn(self, c, wire::close_reason::refused, why);
    }
  }
  return closed;
}

} // namespace

caf::behavior service(caf::stateful_actor<service_state>* self,
                      service_options opts, caf::actor handler, identity me) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.handler = std::move(handler);
  st.id = me.id();
  st.static_key = me.noise_static();
  randombytes_buf(&st.session, sizeof(st.session));
  st.table.emplace(st.id);
  st.adm.emplace(admission::limits{st.opts.max_connections_per_ip,
                                   st.opts.max_half_open_per_ip,
                                   st.opts.max_half_open,
                                   st.opts.max_connections});
  st.adm->allow_only(st.opts.allow_only); // checked by validate()
  st.ips = std::make_shared<ip_meters>(
    flow_rates{double(st.opts.max_bytes_per_sec_per_ip),
               double(st.opts.max_records_per_sec_per_ip)});
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
      on_conn_up(self, register_conn(self, hdl), info);
    },
    [=](hello_atom, const peer_id& peer, uint64_t session) {
      if (auto c = sender_conn(self))
        on_hello(self, *c, peer, session);
    },
    [=](selected_atom) {
      if (auto c = sender_conn(self))
        on_selected(self, *c);
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
    [=](const blacklist& cmd) {
      auto added = self->state.adm->blacklist(cmd.entries);
      if (!added)
        return respond(self, added.error());
      respond_with(self, close_refused(self));
    },
    [=](const allow_only& cmd) {
      if (auto err = self->state.adm->allow_only(cmd.entries))
        return respond(self, err);
      respond_with(self, close_refused(self));
    },
    [=](const unblacklist& cmd) {
      auto removed = self->state.adm->unblacklist(cmd.entries);
      if (!removed)
        return respond(self, removed.error());
      respond_with(self, static_cast<uint64_t>(*removed));
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
  if (opts.identity_file.empty())
    return sys.spawn(service, opts, std::move(handler), identity::ephemeral());
  auto me = identity::load_or_create(opts.identity_file);
  if (!me)
    return me.error();
  return sys.spawn(service, opts, std::move(handler), std::move(*me));
}

caf::expected<caf::actor> spawn_service(caf::actor_system& sys,
                                        caf::actor handler) {
  auto opts = read_options(sys.config());
  if (!opts)
    return opts.error();
  return spawn_service(sys, *opts, std::move(handler));
}

} // namespace crust
