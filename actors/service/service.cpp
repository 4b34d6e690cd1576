#include "actors/service/service.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <sodium.h>

#include "actors/atoms.hpp"
#include "actors/connection/connection.hpp"
#include "actors/bootstrap_cache.hpp"
#include "actors/respond.hpp"
#include "actors/service/state.hpp"
#include "transports/io/identity_file.hpp"
#include "crust/errors.hpp"
#include "crust/service.hpp"
#include "discovery/io/cache_file.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

// How long shutdown waits for connections to say goodbye.
constexpr auto shutdown_grace = std::chrono::seconds(2);

} // namespace

void fan_out(self_ptr self, const service_event& ev) {
  auto& st = self->state;
  st.boot->on(ev);
  st.discovery->on(ev);
  st.nat->on(ev);
  st.punch->on(ev);
  st.relay->on(ev);
}

void close_and_wait(self_ptr self, caf::actor child, caf::timespan limit) {
  auto& st = self->state;
  if (!child)
    return;
  st.children->erase(child);
  st.child_roles.erase(child.address());
  self->demonitor(child);
  ++st.closing;
  auto done = [=] {
    --self->state.closing;
    quit_when_done(self);
  };
  self->request(child, limit, close_atom::value)
    .then([=](caf::ok_atom) { done(); }, [=](caf::error&) { done(); });
}

namespace {

// Closes, at once, every connection admission now refuses; returns how many.
uint64_t close_refused(self_ptr self) {
  auto& st = self->state;
  uint64_t closed = 0;
  auto& policy = st.conns->policy();
  std::vector<std::pair<conn_id, const char*>> refused;
  st.conns->for_each([&](conn_id c, const conn_table::record& rec) {
    auto& ip = rec.info.remote.host;
    bool known = rec.identified();
    const char* why = nullptr;
    if (policy.blocked(ip) || (known && policy.blocked(rec.peer)))
      why = "blacklisted";
    else if (known ? !policy.allowed(ip, rec.peer) : !policy.may_be_allowed(ip))
      why = "not on the allow list";
    if (why && rec.ph != conn_table::phase::closing)
      refused.emplace_back(c, why);
  });
  for (auto& [c, why] : refused) {
    ++closed;
    close_conn(self, c, wire::close_reason::refused, why);
  }
  return closed;
}

} // namespace

caf::behavior service(caf::stateful_actor<service_state>* self,
                      service_options opts, caf::actor handler, identity me,
                      cache_start cache) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.handler = std::move(handler);
  st.id = me.id();
  st.me = std::make_shared<const identity>(me);
  st.static_key = me.noise_static();
  randombytes_buf(&st.session, sizeof(st.session));
  st.listen.emplace(self);
  st.nat.emplace(self);
  st.discovery.emplace(self);
  st.boot.emplace(self);
  st.punch.emplace(self);
  st.punch->set_upgrade_interval(st.opts.relay_upgrade_interval);
  st.relay.emplace(self);
  st.conns.emplace(st.id, admission::limits{st.opts.max_connections_per_ip,
                                            st.opts.max_half_open_per_ip,
                                            st.opts.max_half_open,
                                            st.opts.max_connections});
  st.conns->policy().allow_only(st.opts.allow_only); // checked by validate()
  st.ips = std::make_shared<ip_meters>(
    flow_rates{double(st.opts.max_bytes_per_sec_per_ip),
               double(st.opts.max_records_per_sec_per_ip)});
  st.listen->spawn_listener();
  for (auto& text : cache.warnings)
    self->send(st.handler, warning{text});
  st.boot->start(cache.persist, cache.cached);
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
    if (on_child_down(self, dm) || st.punch->on_down(dm))
      return;
    auto i = st.actors.ids.find(dm.source);
    if (i != st.actors.ids.end())
      on_closed(self, i->second,
                "connection actor failed: " + self->system().render(dm.reason));
  });
  caf::message_handler commands{
    [=](conn_up_atom, const connection_info& info) {
      // Only connection actors say conn_up (their spawn functions return
      // this handle type; the listener's forks announce themselves).
      auto hdl = caf::actor_cast<connection_actor>(self->current_sender());
      on_conn_up(self, register_conn(self, hdl), info);
    },
    [=](hello_atom, const peer_id& peer, uint64_t session, bool bootstrapping) {
      if (auto c = sender_conn(self))
        on_hello(self, *c, peer, session, bootstrapping);
    },
    [=](selected_atom) {
      if (auto c = sender_conn(self))
        on_selected(self, *c);
    },
    [=](path_atom, bool direct) {
      if (auto c = sender_conn(self))
        on_path(self, *c, direct);
    },
    [=](closed_atom, std::string& reason, bool duplicate) {
      auto c = sender_conn(self);
      if (!c)
        return;
      // The leader kept another connection to this peer; the application
      // hears about that one, not about this loser.
      if (duplicate)
        self->state.conns->settle(*c);
      on_closed(self, *c, std::move(reason));
    },
    [=](decide_atom, conn_id c) {
      auto& st = self->state;
      auto e = st.conns->find(c);
      if (e && e->ph == conn_table::phase::undecided)
        close_conn(self, c, wire::close_reason::timeout,
                   "no keep/drop decision within "
                     + to_text(st.opts.decision_timeout));
    },
    // from a connection: where its peer sees us
    [=](observed_atom, const std::string& text) {
      auto c = sender_conn(self);
      auto rec = c ? self->state.conns->find(*c) : nullptr;
      if (rec)
        fan_out(self, events::observed{rec->info.remote.host, text});
    },

    [=](warning& ev) { self->send(self->state.handler, std::move(ev)); },
    [=](service_failed& ev) {
      self->send(self->state.handler, ev);
      self->state.stopping = true;
      self->quit(make_error(errc::invalid_config, ev.reason));
    },
    [=](const connect& cmd) { connect_to(self, cmd.target); },
    [=](const keep& cmd) {
      auto& st = self->state;
      if (!st.conns->live(cmd.peer))
        return respond(self, make_error(errc::unknown_peer));
      if (auto c = st.conns->keep(cmd.peer)) {
        self->send(*st.actors.find(*c), kept_atom::value);
        if (auto path = st.conns->start_move(*c))
          start_move(self, *c, *path);
        events::kept ev{*c, std::nullopt, st.conns->reached(*c)};
        if (ev.reached)
          ev.dialled = *st.conns->find(*c)->target;
        fan_out(self, ev);
      }
      respond(self, caf::none);
    },
    [=](const drop& cmd) {
      auto c = self->state.conns->live(cmd.peer);
      if (!c)
        return respond(self, make_error(errc::unknown_peer));
      close_conn(self, *c, wire::close_reason::dropped,
                 "dropped by this node");
      respond(self, caf::none);
    },
    [=](send& cmd) {
      auto& st = self->state;
      auto c = st.conns->live(cmd.peer);
      if (!c)
        return refuse_send(self, st.handler, cmd, errc::unknown_peer);
      if (st.conns->find(*c)->ph != conn_table::phase::kept)
        return refuse_send(self, st.handler, cmd, errc::not_kept);
      // The connection answers the original sender (or no one).
      self->delegate(*st.actors.find(*c), std::move(cmd));
    },
    [=](const blacklist& cmd) {
      auto added = self->state.conns->policy().blacklist(cmd.entries);
      if (!added)
        return respond(self, added.error());
      respond_with(self, close_refused(self));
    },
    [=](const allow_only& cmd) {
      if (auto err = self->state.conns->policy().allow_only(cmd.entries))
        return respond(self, err);
      respond_with(self, close_refused(self));
    },
    [=](const unblacklist& cmd) {
      auto removed = self->state.conns->policy().unblacklist(cmd.entries);
      if (!removed)
        return respond(self, removed.error());
      respond_with(self, static_cast<uint64_t>(*removed));
    },
    [=](list_peers) {
      auto& st = self->state;
      std::vector<peer_info> result;
      st.conns->for_each_live([&](const peer_id& p, conn_id c,
                                  const conn_table::record& rec) {
        // Where it runs now: a relayed connection's direct path, once it
        // moved there.
        auto i = st.paths.find(c);
        auto& info = i != st.paths.end() ? i->second : rec.info;
        result.push_back(
          peer_info{p, info, rec.reached == conn_table::phase::kept});
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
      // Circuits through us close with their reason, before the
      // connections that carry them.
      st.relay->stop();
      // Connections over rudp first say CLOSE, then the socket goes.
      std::vector<conn_id> all;
      st.conns->for_each(
        [&](conn_id c, const conn_table::record&) { all.push_back(c); });
      for (auto c : all)
        close_conn(self, c, wire::close_reason::normal, "shutdown");
      st.listen->stop();
      // Not killed with the others: the cache saves what it was told, the
      // mapper removes its mappings, and the service waits for both.
      close_and_wait(self, std::exchange(child(self, child_role::cache), nullptr), shutdown_grace);
      close_and_wait(self, std::exchange(child(self, child_role::port_mapper), nullptr),
                     std::chrono::seconds(2) + st.opts.upnp_timeout * 2);
      set_timer(self, shutdown_grace, shutdown{});
      quit_when_done(self);
    },
  };
  return commands.or_else(child_handlers(self))
    .or_else(st.nat->handlers())
    .or_else(st.discovery->handlers())
    .or_else(st.boot->handlers())
    .or_else(st.listen->handlers())
    .or_else(st.punch->handlers())
    .or_else(st.relay->handlers());
}

namespace {

// Checks the bootstrap cache before the service runs: an unwritable one
// stops start-up when it is required, and only warns otherwise.
caf::expected<cache_start> open_cache(const service_options& opts) {
  cache_start result;
  if (opts.bootstrap_cache_file.empty())
    return result;
  cache_file file{opts.bootstrap_cache_file, opts.network_name,
                  opts.bootstrap_cache_size};
  auto loaded = [&]() -> caf::expected<cache_file::loaded> {
    if (auto err = file.check_writable())
      return err;
    return file.load();
  }();
  if (!loaded) {
    auto why = error_detail(loaded.error()).value_or("unusable");
    if (opts.bootstrap_cache_required)
      return make_error(errc::invalid_config,
                        "crust.bootstrap-cache-file: " + why
                          + " (set crust.bootstrap-cache-required=false to "
                            "run without persistence)");
    result.warnings.push_back(why + "; running without a bootstrap cache");
    return result;
  }
  result.persist = true;
  result.cached = dial_list(loaded->cache);
  if (!loaded->warning.empty())
    result.warnings.push_back(loaded->warning);
  return result;
}

} // namespace

caf::expected<caf::actor> spawn_service(caf::actor_system& sys,
                                        const service_options& opts,
                                        caf::actor handler) {
  if (auto err = validate(opts))
    return err;
  if (sodium_init() < 0)
    return make_error(errc::invalid_config, "libsodium failed to initialise");
  auto me = opts.identity_file.empty()
              ? caf::expected<identity>{identity::ephemeral()}
              : load_or_create_identity(opts.identity_file);
  if (!me)
    return me.error();
  auto cache = open_cache(opts);
  if (!cache)
    return cache.error();
  return sys.spawn(service, opts, std::move(handler), std::move(*me),
                   std::move(*cache));
}

caf::expected<caf::actor> spawn_service(caf::actor_system& sys,
                                        caf::actor handler) {
  auto opts = read_options(sys.config());
  if (!opts)
    return opts.error();
  return spawn_service(sys, *opts, std::move(handler));
}

} // namespace crust
