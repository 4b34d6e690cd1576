// The service and its connections on CAF's deterministic scheduler and test
// multiplexer: the test plays the remote peer byte by byte.
#define CAF_SUITE service
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/io_dsl.hpp>

#include "crust/crust.hpp"
#include "tests/unit/ids.hpp"
#include "transports/frame_decoder.hpp"
#include "transports/hello.hpp"

using namespace caf;
using namespace caf::io;
using namespace std::chrono_literals;
using crust::peer_id;
using crust::wire::frame_type;

namespace {

using crust::test::filled_id;

struct recorder_state {
  std::vector<crust::listening> listens;
  std::vector<crust::new_peer> peers;
  std::vector<crust::message> msgs;
  std::vector<crust::peer_lost> lost;
  std::vector<crust::misbehaving> abuse;
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
  };
}

// Above any random id: the node under test leads.
const peer_id follower_id = filled_id(0xFF);
// Below any random id: the remote leads.
const peer_id leader_id = filled_id(0x00);

struct frame {
  frame_type type;
  std::vector<uint8_t> body;
};

struct fixture : test_node_fixture<test_coordinator_fixture<crust::config>> {
  accept_handle acc = accept_handle::from_int(1);
  actor rec;
  actor svc;
  peer_id local;

  fixture() {
    crust::service_options opts;
    opts.listen_address = "127.0.0.1";
    opts.listen_port = 7000; // the test multiplexer cannot pick a port
    opts.decision_timeout = 1s;
    opts.handshake_timeout = 3s;
    opts.heartbeat_interval = 5s;
    opts.heartbeat_timeout = 15s;
    mpx.provide_acceptor(7000, acc);
    rec = sys.spawn(recorder, std::string{"handler"});
    svc = unbox(crust::spawn_service(sys, opts, rec));
    run();
    CAF_REQUIRE_EQUAL(events().listens.size(), 1u);
    local = events().listens[0].id;
  }

  ~fixture() {
    anon_send_exit(svc, exit_reason::user_shutdown);
    anon_send_exit(rec, exit_reason::user_shutdown);
    run();
    // Fire the timers still pending (their actors are gone already).
    while (sched.trigger_timeout())
      run();
  }

  // Timers fire only when a test advances the clock, never inside run().
  bool trigger_timeout() override {
    return false;
  }

  recorder_state& events() {
    return deref<stateful_actor<recorder_state>>(rec).state;
  }

  connection_handle accept(int id) {
    auto conn = connection_handle::from_int(id);
    mpx.add_pending_connect(acc, conn);
    mpx.accept_connection(acc);
    run();
    return conn;
  }

  void peer_sends(connection_handle conn, const std::vector<char>& bytes) {
    mpx.virtual_send(conn, bytes);
    run();
  }

  void peer_sends(connection_handle conn, frame_type t,
                  std::vector<uint8_t> body = {}) {
    std::vector<char> buf;
    crust::append_frame(buf, t, body.data(), body.size());
    peer_sends(conn, buf);
  }

  void hello_from(connection_handle conn, const peer_id& id, uint64_t session) {
    std::vector<char> buf;
    crust::append_hello(buf, crust::hello{1, id, session});
    peer_sends(conn, buf);
  }

  void data_from(connection_handle conn, const std::string& text) {
    std::vector<uint8_t> body{crust::wire::flag_last | crust::wire::flag_normal};
    body.insert(body.end(), text.begin(), text.end());
    peer_sends(conn, frame_type::data, body);
  }

  // Decodes (and consumes) what the node wrote on `conn`.
  std::vector<frame> written(connection_handle conn) {
    auto& buf = mpx.output_buffer(conn);
    crust::frame_decoder dec{1 << 20};
    dec.feed(buf.data(), buf.size());
    buf.clear();
    std::vector<frame> result;
    crust::frame_view f;
    while (dec.next(f) == crust::frame_decoder::status::frame)
      result.push_back({f.type, {f.body, f.body + f.size}});
    return result;
  }

  bool wrote_close(connection_handle conn, crust::wire::close_reason r) {
    for (auto& f : written(conn))
      if (f.type == frame_type::close && !f.body.empty()
          && f.body[0] == static_cast<uint8_t>(r))
        return true;
    return false;
  }

  // A connection from `id` that the node under test has selected.
  connection_handle selected_peer(int conn_id, const peer_id& id,
                                  uint64_t session = 1) {
    auto conn = accept(conn_id);
    hello_from(conn, id, session);
    if (id == leader_id)
      peer_sends(conn, frame_type::select);
    return conn;
  }

  void keep(const peer_id& id) {
    self->send(svc, crust::keep{id});
    run();
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

CAF_TEST_FIXTURE_SCOPE(service_tests, fixture)

CAF_TEST(the node says hello and a leader selects the connection) {
  auto conn = accept(2);
  auto out = written(conn);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].type == frame_type::hello);
  CAF_CHECK(std::equal(local.bytes.begin(), local.bytes.end(),
                       out[0].body.begin() + 1));
  hello_from(conn, follower_id, 1);
  out = written(conn);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].type == frame_type::select);
  CAF_REQUIRE_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().peers[0].peer == follower_id);
  CAF_CHECK(events().peers[0].info.inbound);
}

CAF_TEST(a follower waits for select before reporting the peer) {
  auto conn = accept(2);
  hello_from(conn, leader_id, 1);
  CAF_CHECK(events().peers.empty());
  for (auto& f : written(conn))
    CAF_CHECK(f.type != frame_type::select);
  peer_sends(conn, frame_type::select);
  CAF_REQUIRE_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().peers[0].peer == leader_id);
}

CAF_TEST(messages of a kept peer reach the handler and sends reach the peer) {
  auto conn = selected_peer(2, follower_id);
  keep(follower_id);
  data_from(conn, "hi");
  CAF_REQUIRE_EQUAL(events().msgs.size(), 1u);
  CAF_CHECK(events().msgs[0].peer == follower_id);
  CAF_CHECK(events().msgs[0].bytes == (std::vector<uint8_t>{'h', 'i'}));
  written(conn);
  CAF_CHECK(!send_result(follower_id, "yo"));
  auto out = written(conn);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].type == frame_type::data);
  CAF_CHECK(out[0].body == (std::vector<uint8_t>{crust::wire::flag_last
                                                   | crust::wire::flag_normal,
                                                 'y', 'o'}));
}

CAF_TEST(messages of an undecided peer wait for keep) {
  auto conn = selected_peer(2, leader_id);
  data_from(conn, "early");
  CAF_CHECK(events().msgs.empty());
  keep(leader_id);
  CAF_REQUIRE_EQUAL(events().msgs.size(), 1u);
}

CAF_TEST(send to an unkept or unknown peer is an error reply) {
  selected_peer(2, follower_id);
  CAF_CHECK(send_result(follower_id, "x") == crust::make_error(crust::errc::not_kept));
  CAF_CHECK(send_result(filled_id(0x77), "x")
            == crust::make_error(crust::errc::unknown_peer));
}

CAF_TEST(drop closes the connection with reason dropped) {
  auto conn = selected_peer(2, follower_id);
  written(conn);
  self->send(svc, crust::drop{follower_id});
  run();
  CAF_CHECK(wrote_close(conn, crust::wire::close_reason::dropped));
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "dropped"));
}

CAF_TEST(an undecided peer is closed after the decision timeout) {
  auto conn = selected_peer(2, follower_id);
  written(conn);
  advance_time(1s);
  run();
  CAF_CHECK(wrote_close(conn, crust::wire::close_reason::timeout));
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "no keep/drop decision"));
}

CAF_TEST(a kept peer is not closed by the decision timeout) {
  selected_peer(2, follower_id);
  keep(follower_id);
  advance_time(1s);
  run();
  CAF_CHECK(events().lost.empty());
}

CAF_TEST(a second connection of the same session is closed as duplicate) {
  auto first = selected_peer(2, follower_id, 1);
  auto second = selected_peer(3, follower_id, 1);
  CAF_CHECK(wrote_close(second, crust::wire::close_reason::duplicate));
  CAF_CHECK(!wrote_close(first, crust::wire::close_reason::duplicate));
  CAF_CHECK_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().lost.empty());
  keep(follower_id);
  data_from(first, "still here");
  CAF_CHECK_EQUAL(events().msgs.size(), 1u);
}

CAF_TEST(a restarted peer supersedes its old connection) {
  auto first = selected_peer(2, follower_id, 1);
  selected_peer(3, follower_id, 2);
  CAF_CHECK(wrote_close(first, crust::wire::close_reason::superseded));
  CAF_CHECK_EQUAL(events().peers.size(), 2u);
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "superseded"));
}

CAF_TEST(a crashed connection actor is reported as a lost peer) {
  auto conn = selected_peer(2, follower_id);
  keep(follower_id);
  data_from(conn, "x");
  CAF_REQUIRE(events().msg_sender);
  anon_send_exit(events().msg_sender, exit_reason::kill);
  run();
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "connection actor failed"));
}

CAF_TEST(an oversize frame raises misbehaving and others are still served) {
  auto bad = accept(2);
  peer_sends(bad, std::vector<char>{0x7f, -1, -1, -1});
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::oversize);
  CAF_CHECK(wrote_close(bad, crust::wire::close_reason::violation));
  selected_peer(3, follower_id);
  CAF_CHECK_EQUAL(events().peers.size(), 1u);
}

CAF_TEST(data before select is a protocol violation) {
  auto conn = accept(2);
  hello_from(conn, leader_id, 1);
  data_from(conn, "too soon");
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::protocol_violation);
  CAF_CHECK(events().abuse[0].peer == leader_id);
}

CAF_TEST(silence before hello is a handshake timeout) {
  auto conn = accept(2);
  advance_time(3s);
  run();
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::handshake_timeout);
  CAF_CHECK(wrote_close(conn, crust::wire::close_reason::timeout));
}

CAF_TEST(a silent peer is lost after the heartbeat timeout) {
  auto conn = selected_peer(2, follower_id);
  keep(follower_id);
  size_t pings = 0;
  for (int i = 0; i < 5 && events().lost.empty(); ++i) {
    advance_time(5s);
    run();
    for (auto& f : written(conn))
      pings += f.type == frame_type::ping;
  }
  CAF_CHECK_GREATER_OR_EQUAL(pings, 2u);
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "heartbeat"));
}

CAF_TEST(a peer that keeps talking is not lost) {
  auto conn = selected_peer(2, follower_id);
  keep(follower_id);
  for (int i = 0; i < 6; ++i) {
    peer_sends(conn, frame_type::ping);
    advance_time(5s);
    run();
  }
  CAF_CHECK(events().lost.empty());
}

CAF_TEST(a peer dialling itself is refused) {
  auto conn = accept(2);
  hello_from(conn, local, 99);
  CAF_CHECK(wrote_close(conn, crust::wire::close_reason::self));
  CAF_CHECK(events().peers.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
