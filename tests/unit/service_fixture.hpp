// The fixture of the service tests: a service and its connections on CAF's
// deterministic scheduler and test multiplexer, a recording handler, and
// remote peers played with secure channels of their own, so every byte the
// node reads and writes goes through real Noise. Include it after defining
// CAF_SUITE.
#pragma once

#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/io_dsl.hpp>

#include <cstdlib>
#include <functional>
#include <memory>

#include "crust/crust.hpp"
#include "tests/unit/channel_pair.hpp"
#include "transports/io/identity_file.hpp"

using namespace caf;
using namespace caf::io;
using namespace std::chrono_literals;
using crust::identity;
using crust::load_or_create_identity;
using crust::peer_id;
using crust::wire::frame_type;

namespace {

struct recorder_state {
  std::vector<crust::listening> listens;
  std::vector<crust::new_peer> peers;
  std::vector<crust::message> msgs;
  std::vector<crust::peer_lost> lost;
  std::vector<crust::misbehaving> abuse;
  std::vector<crust::send_failed> failed;
  std::vector<crust::warning> warnings;
  caf::actor msg_sender;
};

// (The unused name: CAF 0.17 trips UBSan on actors spawned without args.)
behavior recorder(stateful_actor<recorder_state>* self, std::string) {
  return {
    [=](crust::listening& x) { self->state.listens.push_back(x); },
    [=](crust::new_peer& x) { self->state.peers.push_back(x); },
    [=](crust::message& x) {
      self->state.msgs.push_back(x);
      self->state.msg_sender = actor_cast<actor>(self->current_sender());
    },
    [=](crust::peer_lost& x) { self->state.lost.push_back(x); },
    [=](crust::misbehaving& x) { self->state.abuse.push_back(x); },
    [=](crust::send_failed& x) { self->state.failed.push_back(x); },
    [=](crust::warning& x) { self->state.warnings.push_back(x); },
    // What a node with NAT traversal on also reports (not looked at).
    [=](crust::port_mapping&) {},
    [=](crust::external_endpoints&) {},
    [=](crust::bootstrap_failed&) {},
    [=](crust::bootstrap_finished&) {},
  };
}

// A peer dialling into the node under test.
struct remote {
  connection_handle conn;
  identity me;
  crust::secure_channel ch;
  crust::test::received got; // what the node sent, decrypted

  remote(connection_handle c, const identity& who, uint64_t session)
    : conn(c), me(who), ch(crust::test::channel_settings(who, true, session)) {
    // nop
  }
};

struct fixture : test_node_fixture<test_coordinator_fixture<crust::config>> {
  accept_handle acc = accept_handle::from_int(1);
  std::string dir;
  std::optional<identity> node_identity;
  actor rec;
  actor svc;
  peer_id local;

  explicit fixture(std::function<void(crust::service_options&)> tweak = {}) {
    char tmpl[] = "/tmp/crust-service-test-XXXXXX";
    dir = mkdtemp(tmpl);
    crust::service_options opts;
    opts.listen_address = "127.0.0.1";
    opts.listen_port = 7000; // the test multiplexer cannot pick a port
    opts.decision_timeout = 1s;
    opts.handshake_timeout = 3s;
    opts.heartbeat_interval = 5s;
    opts.heartbeat_timeout = 15s;
    opts.max_frame_size = crust::wire::min_record_size;
    opts.network_name = "test";
    opts.identity_file = dir + "/node.id";
    opts.max_half_open_per_ip = 3;
    opts.beacon = false; // a real UDP socket has no place here
    if (tweak)
      tweak(opts);
    node_identity = unbox(load_or_create_identity(opts.identity_file));
    mpx.provide_acceptor(7000, acc);
    rec = sys.spawn(recorder, std::string{"handler"});
    svc = unbox(crust::spawn_service(sys, opts, rec));
    run();
    CAF_REQUIRE_EQUAL(events().listens.size(), 1u);
    local = events().listens[0].id;
    CAF_REQUIRE(local == node_identity->id());
  }

  ~fixture() {
    anon_send_exit(svc, exit_reason::user_shutdown);
    anon_send_exit(rec, exit_reason::user_shutdown);
    run();
    // Fire the timers still pending (their actors are gone already).
    while (sched.trigger_timeout())
      run();
    std::string cmd = "rm -rf '" + dir + "'";
    (void) std::system(cmd.c_str());
  }

  // Timers fire only when a test advances the clock, never inside run().
  bool trigger_timeout() override {
    return false;
  }

  recorder_state& events() {
    return deref<stateful_actor<recorder_state>>(rec).state;
  }

  // An identity that leads (lower id) or follows the node under test.
  identity peer_identity(bool leads) {
    for (;;) {
      auto id = identity::ephemeral();
      if ((id.id() < local) == leads)
        return id;
    }
  }

  connection_handle accept(int id) {
    auto conn = connection_handle::from_int(id);
    mpx.add_pending_connect(acc, conn);
    mpx.accept_connection(acc);
    run();
    return conn;
  }

  void send_raw(connection_handle conn, const std::vector<char>& bytes) {
    mpx.virtual_send(conn, bytes);
    run();
  }

  // Decrypts what the node wrote to `r` so far (handshake replies go back).
  void read_node(remote& r) {
    auto& buf = mpx.output_buffer(r.conn);
    std::vector<char> bytes(buf.begin(), buf.end());
    buf.clear();
    std::vector<char> reply;
    crust::test::deliver(r.ch, bytes, r.got, reply);
    if (!reply.empty())
      send_raw(r.conn, reply);
  }

  // A peer that dials in and completes the handshake.
  std::unique_ptr<remote> dial_in(int conn_id, const identity& who,
                                  uint64_t session = 1) {
    auto r = std::make_unique<remote>(accept(conn_id), who, session);
    std::vector<char> first;
    r->ch.start(first);
    send_raw(r->conn, first);
    read_node(*r); // message 2 in, message 3 out
    read_node(*r); // whatever followed (SELECT when the node leads)
    return r;
  }

  // A dialled-in peer whose connection the node has selected.
  std::unique_ptr<remote> selected_peer(int conn_id, const identity& who,
                                        uint64_t session = 1) {
    auto r = dial_in(conn_id, who, session);
    if (who.id() < local)
      peer_sends(*r, frame_type::select);
    return r;
  }

  // A selected peer, kept, with what the node wrote so far read and set
  // aside: `got` then holds only what comes next.
  std::unique_ptr<remote> kept_peer(int conn_id, const identity& who) {
    auto r = selected_peer(conn_id, who);
    keep(who.id());
    read_node(*r);
    r->got = {};
    return r;
  }

  void peer_sends(remote& r, frame_type t, std::vector<uint8_t> body = {}) {
    std::vector<char> rec_bytes;
    CAF_REQUIRE(r.ch.seal(t, body.data(), body.size(), nullptr, 0, rec_bytes));
    send_raw(r.conn, rec_bytes);
  }

  void data_from(remote& r, const std::string& text) {
    std::vector<uint8_t> body{crust::wire::flag_last | crust::wire::flag_normal};
    body.insert(body.end(), text.begin(), text.end());
    peer_sends(r, frame_type::data, body);
  }

  bool node_sent(remote& r, frame_type t) {
    read_node(r);
    for (auto x : r.got.types)
      if (x == t)
        return true;
    return false;
  }

  bool wrote_close(remote& r, crust::wire::close_reason reason) {
    read_node(r);
    for (size_t i = 0; i < r.got.types.size(); ++i)
      if (r.got.types[i] == frame_type::close && !r.got.bodies[i].empty()
          && r.got.bodies[i][0] == static_cast<uint8_t>(reason))
        return true;
    return false;
  }

  void keep(const peer_id& id) {
    self->send(svc, crust::keep{id});
    run();
  }

  // What came back to the test's own actor for its plain sends (anything
  // else, such as an answer, counts in `other`).
  struct replies {
    std::vector<crust::sent> sent;
    std::vector<crust::send_failed> failed;
    size_t other = 0;
  };

  replies take_replies() {
    replies r;
    for (bool more = true; more;)
      self->receive([&](crust::sent& x) { r.sent.push_back(x); },
                    [&](crust::send_failed& x) { r.failed.push_back(x); },
                    others >> [&](message_view&) -> result<message> {
                      ++r.other;
                      return message{};
                    },
                    after(std::chrono::seconds(0)) >> [&] { more = false; });
    return r;
  }

  void plain_send(const peer_id& id, std::vector<uint8_t> bytes) {
    self->send(svc, crust::send{id, std::move(bytes), crust::priority::normal});
  }

  // Sends a request and returns the error it was answered with (none: ok).
  error send_result(const peer_id& id, const std::string& text) {
    auto reply = self->request(svc, infinite,
                               crust::send{id, {text.begin(), text.end()},
                                           crust::priority::normal});
    run();
    error result;
    reply.receive([](ok_atom) {},
                  [&](error& err) { result = std::move(err); });
    return result;
  }
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace
