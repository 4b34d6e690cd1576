// crust-node: one crust node on the command line. Events go to stdout as
// JSON lines, commands come from stdin one per line, and words for people go
// to stderr. End of input or `quit` shuts the node down cleanly.
//
//   crust-node [--config-file=F] [--crust.KEY=VALUE ...] [--node.auto-keep=false]
//   crust-node netcheck [--json] [--config-file=F] [--crust.KEY=VALUE ...]
//
// Commands: connect ENDPOINT | connect-peer PEER_ID [via PEER] |
//           prepare-info | connect-info JSON |
//           send PEER TEXT | send-high PEER TEXT | keep PEER | drop PEER |
//           peers | blacklist ENTRY... | unblacklist ENTRY... |
//           allow-only [ENTRY...] | quit
// (PEER: the hex id or a unique prefix of it; PEER_ID: a whole hex id, of
// a peer a kept one can introduce us to; ENTRY: a peer id, an IP address
// or a CIDR range)
#include <caf/all.hpp>

#include <map>
#include <caf/io/all.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

#include "apps/crust-node/json_events.hpp"
#include "apps/crust-node/netcheck.hpp"
#include "config/options.hpp"
#include "crust/crust.hpp"

namespace {

using namespace crust;
using line_atom = caf::atom_constant<caf::atom("line")>;
using eof_atom = caf::atom_constant<caf::atom("eof")>;
using attach_atom = caf::atom_constant<caf::atom("attach")>;

struct node_config : crust::config {
  bool auto_keep = true;
  node_config() {
    opt_group{custom_options_, "node"}.add(
      auto_keep, "auto-keep", "keep every new peer (false: keep/drop decide)");
  }
};

void out(const std::string& json_line) {
  std::fwrite(json_line.data(), 1, json_line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// Where a connection runs, in words: a relayed one through its relay.
std::string where(const connection_info& info) {
  if (info.proto == transport::relay)
    return "through the relay at " + info.remote.host + ":"
           + std::to_string(info.remote.port);
  return "at " + to_string(info.remote);
}

// Which path a connection takes, in words: the relay, or direct.
std::string path_words(const connection_info& info) {
  if (info.proto == transport::relay)
    return where(info);
  return "directly over " + to_string(info.proto) + " " + where(info);
}

void say(const std::string& words) {
  std::cerr << "crust-node: " << words << std::endl;
}

struct cli_state {
  caf::actor service;
  /// Our half from the last prepare-info, for connect-info.
  std::string prepared;
  bool auto_keep = true;
  bool stopping = false;
  /// Commands wait until the node listens, so that a start-up failure is
  /// always reported even when stdin ends at once.
  bool started = false;
  std::vector<caf::message> waiting;
  int exit_code = 0;
  std::vector<peer_id> known; // peers seen in new_peer, for prefix lookup
};

std::optional<peer_id> resolve(const cli_state& st, const std::string& text) {
  if (auto id = peer_id::from_hex(text))
    return id;
  std::optional<peer_id> found;
  for (auto& p : st.known) {
    if (text.size() >= 4 && p.to_hex().compare(0, text.size(), text) == 0) {
      if (found && *found != p)
        return std::nullopt; // ambiguous
      found = p;
    }
  }
  return found;
}

caf::behavior cli(caf::stateful_actor<cli_state>* self, bool auto_keep) {
  self->state.auto_keep = auto_keep;
  auto reply_error = [=](const std::string& command) {
    return [=](caf::error& err) {
      out(node::error_json(self->system().render(err), command));
    };
  };
  auto stop = [=] {
    auto& st = self->state;
    if (st.stopping)
      return;
    st.stopping = true;
    say("shutting down");
    self->send(st.service, shutdown{});
  };
  self->set_down_handler([=](const caf::down_msg& dm) {
    self->quit(dm.reason ? dm.reason : caf::error{});
  });
  return {
    [=](attach_atom, caf::actor service) {
      self->state.service = service;
      self->monitor(service);
    },
    [=](const listening& ev) {
      out(node::to_json(ev));
      for (auto& ep : ev.endpoints)
        say("listening on " + to_string(ep) + " as " + ev.id.to_hex());
      auto& st = self->state;
      st.started = true;
      for (auto& msg : st.waiting)
        self->send(self, std::move(msg));
      st.waiting.clear();
    },
    [=](const new_peer& ev) {
      auto& st = self->state;
      out(node::to_json(ev));
      st.known.push_back(ev.peer);
      if (ev.info.proto == transport::relay)
        say("new peer " + ev.peer.short_hex() + " " + where(ev.info)
            + (ev.info.inbound ? " (it opened the circuit)"
                               : " (we opened the circuit)"));
      else
        say("new peer " + ev.peer.short_hex() + " " + where(ev.info)
            + (ev.info.inbound ? " (it dialled us)" : " (we dialled it)"));
      if (st.auto_keep)
        self->request(st.service, caf::infinite, keep{ev.peer})
          .then([](caf::ok_atom) {},
                [=](caf::error& err) {
                  // The peer left before we kept it: peer_lost says so.
                  if (err != make_error(errc::unknown_peer))
                    out(node::error_json(self->system().render(err), "keep"));
                });
    },
    [=](const message& ev) { out(node::to_json(ev)); },
    [=](const peer_lost& ev) {
      out(node::to_json(ev));
      say("lost peer " + ev.peer.short_hex() + ": " + ev.reason);
    },
    [=](const punched& ev) {
      out(node::to_json(ev));
      say("punched through to " + ev.peer.short_hex() + " over "
          + (ev.proto == transport::tcp ? "TCP" : "UDP") + " in round "
          + std::to_string(ev.round) + " after "
          + std::to_string(ev.millis) + " ms");
    },
    [=](const path_changed& ev) {
      out(node::to_json(ev));
      say("peer " + ev.peer.short_hex() + " now runs " + path_words(ev.to)
          + " (before: " + path_words(ev.from) + ")");
    },
    [=](const connection_failed& ev) {
      out(node::to_json(ev));
      say("could not connect to " + ev.target + ": " + ev.reason);
    },
    [=](const misbehaving& ev) {
      out(node::to_json(ev));
      say(ev.address + " misbehaved (" + to_string(ev.kind) + "): " + ev.detail);
    },
    [=](const bootstrap_finished& ev) {
      out(node::to_json(ev));
      say("bootstrap finished with " + std::to_string(ev.connections)
          + " peer(s) kept");
    },
    [=](const bootstrap_failed& ev) {
      out(node::to_json(ev));
      say("bootstrap reached no one");
      for (auto& why : ev.reasons)
        say("  " + why);
    },
    [=](const warning& ev) {
      out(node::to_json(ev));
      say("warning: " + ev.text);
    },
    [=](const port_mapping& ev) {
      out(node::to_json(ev));
      say(ev.method.empty() ? "no port mapping: " + ev.error
                            : "port mapped by " + ev.method + ": "
                                + node::join(ev.external));
    },
    [=](const external_endpoints& ev) {
      out(node::to_json(ev));
      say("NAT type " + ev.nat_type + "; seen from outside at "
          + node::join(node::describe(ev.addresses)));
    },
    [=](const service_failed& ev) {
      out(node::error_json(ev.reason));
      say(ev.reason);
      self->state.exit_code = 1;
    },
    [=](line_atom, const std::string& text) {
      auto& st = self->state;
      if (!st.started) {
        st.waiting.push_back(caf::make_message(line_atom::value, text));
        return;
      }
      std::istringstream in{text};
      std::string cmd, arg;
      in >> cmd;
      if (cmd.empty() || st.stopping)
        return;
      if (cmd == "quit") {
        stop();
        return;
      }
      if (cmd == "peers") {
        self->request(st.service, caf::infinite, list_peers{})
          .then(
            [](const std::vector<peer_info>& xs) {
              out(node::to_json(xs));
              for (auto& p : xs)
                say("peer " + p.peer.short_hex() + " " + where(p.info) + ", "
                    + (p.kept ? "kept" : "not kept yet"));
            },
                reply_error("peers"));
        return;
      }
      if (cmd == "allow-only") {
        std::vector<std::string> entries;
        for (std::string e; in >> e;)
          entries.push_back(e);
        self->request(st.service, caf::infinite, allow_only{entries})
          .then([](uint64_t n) {
                  out(node::count_json("allowing", "closed", n));
                },
                reply_error(cmd));
        return;
      }
      if (cmd == "blacklist" || cmd == "unblacklist") {
        std::vector<std::string> entries;
        for (std::string e; in >> e;)
          entries.push_back(e);
        auto ack = [=](uint64_t n) {
          out(node::count_json(cmd == "blacklist" ? "blacklisted"
                                                  : "unblacklisted",
                               cmd == "blacklist" ? "closed" : "removed", n));
        };
        if (cmd == "blacklist")
          self->request(st.service, caf::infinite, blacklist{entries})
            .then(ack, reply_error(cmd));
        else
          self->request(st.service, caf::infinite, unblacklist{entries})
            .then(ack, reply_error(cmd));
        return;
      }
      if (cmd == "prepare-info") {
        self->request(st.service, caf::infinite, prepare_connection_info{})
          .then(
            [=](const rendezvous_info& ri) {
              self->state.prepared = ri.json;
              out(node::to_json(ri));
            },
            reply_error(cmd));
        return;
      }
      if (cmd == "connect-info") {
        std::string rest;
        std::getline(in, rest);
        if (st.prepared.empty()) {
          out(node::error_json("run prepare-info first, and give its info "
                               "to the other node",
                               cmd));
          return;
        }
        self->send(st.service, connect_with{st.prepared, node::info_of(rest)});
        return;
      }
      in >> arg;
      if (cmd == "connect") {
        auto ep = endpoint::parse(arg);
        if (!ep) {
          out(node::error_json(self->system().render(ep.error()), cmd));
          return;
        }
        self->send(st.service, connect{*ep});
        return;
      }
      if (cmd == "connect-peer") {
        auto target = peer_id::from_hex(arg);
        if (!target) {
          out(node::error_json("\"" + arg + "\" is not a peer id (64 hex "
                                 "digits)", cmd));
          return;
        }
        connect_peer req{*target, caf::none};
        std::string word, via;
        if (in >> word >> via) {
          auto v = resolve(st, via);
          if (word != "via" || !v) {
            out(node::error_json("expected: connect-peer PEER_ID [via PEER]",
                                 cmd));
            return;
          }
          req.via = *v;
        }
        self->send(st.service, req);
        return;
      }
      if (cmd != "send" && cmd != "send-high" && cmd != "keep"
          && cmd != "drop") {
        out(node::error_json("unknown command \"" + cmd
                               + "\" (connect, connect-peer, prepare-info, "
                                 "connect-info, send, send-high, keep, "
                                 "drop, peers, blacklist, unblacklist, "
                                 "allow-only, quit)",
                             cmd));
        return;
      }
      auto peer = resolve(st, arg);
      if (!peer) {
        out(node::error_json("\"" + arg + "\" names no known peer", cmd));
        return;
      }
      auto p = *peer;
      if (cmd == "keep") {
        self->request(st.service, caf::infinite, keep{p})
          .then([=](caf::ok_atom) { out(node::ack_json("kept", p)); },
                reply_error(cmd));
      } else if (cmd == "drop") {
        self->request(st.service, caf::infinite, drop{p})
          .then([=](caf::ok_atom) { out(node::ack_json("dropped", p)); },
                reply_error(cmd));
      } else {
        std::string rest;
        std::getline(in, rest);
        if (!rest.empty() && rest.front() == ' ')
          rest.erase(0, 1);
        std::vector<uint8_t> bytes(rest.begin(), rest.end());
        auto n = bytes.size();
        auto prio = cmd == "send-high" ? priority::high : priority::normal;
        self->request(st.service, caf::infinite,
                      send{p, std::move(bytes), prio})
          .then([=](caf::ok_atom) { out(node::ack_json("sent", p, n)); },
                reply_error(cmd));
      }
    },
    [=](eof_atom) {
      auto& st = self->state;
      if (!st.started)
        st.waiting.push_back(caf::make_message(eof_atom::value));
      else
        stop();
    },
  };
}

} // namespace

// CAF 0.17 takes a boolean option on the command line only as a bare flag,
// so --node.auto-keep=false would be refused: read KEY=true|false of the
// boolean options (node.auto-keep and every boolean crust.* option) here,
// and apply them after CAF parsed the rest.
std::vector<std::string> boolean_keys() {
  std::vector<std::string> keys{"node.auto-keep"};
  for (auto& spec : crust::option_table())
    if (spec.kind() == crust::option_kind::boolean)
      keys.push_back(std::string{"crust."} + spec.key);
  return keys;
}

std::vector<std::string> take_booleans(const std::vector<std::string>& args,
                                       std::map<std::string, bool>& found) {
  static const auto keys = boolean_keys();
  std::vector<std::string> rest;
  for (auto& arg : args) {
    bool taken = false;
    for (auto& key : keys) {
      auto prefix = std::string{"--"} + key + "=";
      if (arg.compare(0, prefix.size(), prefix) != 0)
        continue;
      auto v = arg.substr(prefix.size());
      if (v == "true" || v == "1" || v == "false" || v == "0") {
        found[key] = v == "true" || v == "1";
        taken = true;
      }
    }
    if (!taken)
      rest.push_back(arg); // CAF parses it, or names the bad value
  }
  return rest;
}

int main(int argc, char** argv) {
  node_config cfg;
  std::vector<std::string> argv_rest(argv + 1, argv + argc);
  bool netcheck = !argv_rest.empty() && argv_rest.front() == "netcheck";
  bool as_json = false;
  if (netcheck) {
    argv_rest.erase(argv_rest.begin());
    auto j = std::find(argv_rest.begin(), argv_rest.end(), "--json");
    as_json = j != argv_rest.end();
    if (as_json)
      argv_rest.erase(j);
  }
  std::map<std::string, bool> booleans;
  auto args = take_booleans(argv_rest, booleans);
  if (auto err = cfg.parse(std::move(args))) {
    std::string what = "bad command line or config file";
    if (!cfg.config_file_path.empty())
      what += " (" + cfg.config_file_path + ")";
    what += ": " + cfg.render(err);
    out(node::error_json(what));
    say(what);
    return 1;
  }
  for (auto& [key, value] : booleans)
    if (key == "node.auto-keep")
      cfg.auto_keep = value;
    else
      caf::put(cfg.content, key, value);
  if (cfg.cli_helptext_printed)
    return 0;
  auto opts = read_options(cfg);
  if (!opts) {
    auto what = cfg.render(opts.error());
    out(node::error_json(what));
    say(what);
    return 1;
  }
  if (opts->identity_file.empty())
    say("using an ephemeral identity: a new peer id every start (set "
        "crust.identity-file to keep one)");
  int rc = 0;
  caf::actor_system sys{cfg};
  if (netcheck) {
    rc = node::netcheck(sys, *opts, as_json);
    std::_Exit(rc);
  }
  auto handler = sys.spawn(cli, cfg.auto_keep);
  auto svc = spawn_service(sys, *opts, handler);
  if (!svc) {
    auto what = error_detail(svc.error()).value_or(sys.render(svc.error()));
    out(node::error_json(what));
    say(what);
    std::fflush(stdout);
    std::_Exit(1); // the handler actor would keep the system alive
  }
  caf::anon_send(handler, attach_atom::value, *svc);
  // stdin blocks; a plain thread reads it so no actor ever waits on it.
  std::thread reader{[handler] {
    std::string text;
    while (std::getline(std::cin, text))
      caf::anon_send(handler, line_atom::value, text);
    caf::anon_send(handler, eof_atom::value);
  }};
  reader.detach();
  caf::scoped_actor self{sys};
  self->monitor(handler);
  self->receive([&](const caf::down_msg& dm) { rc = dm.reason ? 1 : 0; });
  std::fflush(stdout);
  // The reader may still block on stdin; leave without waiting for it.
  std::_Exit(rc);
}
