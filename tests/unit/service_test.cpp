// The service and its connections on CAF's deterministic scheduler and test
// multiplexer. The test plays each remote peer with a secure channel of its
// own, so every byte the node reads and writes goes through real Noise.
#define CAF_SUITE service
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/io_dsl.hpp>

#include <cstdlib>
#include <functional>
#include <memory>

#include "crust/crust.hpp"
#include "tests/unit/channel_pair.hpp"

using namespace caf;
using namespace caf::io;
using namespace std::chrono_literals;
using crust::identity;
using crust::peer_id;
using crust::wire::frame_type;

namespace {

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
    node_identity = unbox(identity::load_or_create(opts.identity_file));
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

CAF_TEST(the handshake proves the ids and a leader selects the connection) {
  auto peer = peer_identity(false);
  auto r = dial_in(2, peer);
  CAF_CHECK(r->got.established);
  CAF_CHECK(r->ch.remote().id == local);
  CAF_CHECK(node_sent(*r, frame_type::select));
  CAF_REQUIRE_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().peers[0].peer == peer.id());
  CAF_CHECK(events().peers[0].info.inbound);
}

CAF_TEST(a follower waits for select before reporting the peer) {
  auto peer = peer_identity(true);
  auto r = dial_in(2, peer);
  CAF_CHECK(events().peers.empty());
  CAF_CHECK(!node_sent(*r, frame_type::select));
  peer_sends(*r, frame_type::select);
  CAF_REQUIRE_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().peers[0].peer == peer.id());
}

CAF_TEST(messages of a kept peer reach the handler and sends reach the peer) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  data_from(*r, "hi");
  CAF_REQUIRE_EQUAL(events().msgs.size(), 1u);
  CAF_CHECK(events().msgs[0].peer == peer.id());
  CAF_CHECK(events().msgs[0].bytes == (std::vector<uint8_t>{'h', 'i'}));
  CAF_CHECK(!send_result(peer.id(), "yo"));
  read_node(*r);
  CAF_REQUIRE(!r->got.bodies.empty());
  CAF_CHECK(r->got.types.back() == frame_type::data);
  CAF_CHECK(r->got.bodies.back()
            == (std::vector<uint8_t>{crust::wire::flag_last
                                       | crust::wire::flag_normal,
                                     'y', 'o'}));
}

CAF_TEST(messages of an undecided peer wait for keep) {
  auto peer = peer_identity(true);
  auto r = selected_peer(2, peer);
  data_from(*r, "early");
  CAF_CHECK(events().msgs.empty());
  keep(peer.id());
  CAF_REQUIRE_EQUAL(events().msgs.size(), 1u);
}

CAF_TEST(send to an unkept or unknown peer is an error reply) {
  auto peer = peer_identity(false);
  selected_peer(2, peer);
  CAF_CHECK(send_result(peer.id(), "x")
            == crust::make_error(crust::errc::not_kept));
  CAF_CHECK(send_result(identity::ephemeral().id(), "x")
            == crust::make_error(crust::errc::unknown_peer));
}

CAF_TEST(drop closes the connection with reason dropped) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  self->send(svc, crust::drop{peer.id()});
  run();
  CAF_CHECK(wrote_close(*r, crust::wire::close_reason::dropped));
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "dropped"));
}

CAF_TEST(an undecided peer is closed after the decision timeout) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  advance_time(1s);
  run();
  CAF_CHECK(wrote_close(*r, crust::wire::close_reason::timeout));
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "no keep/drop decision"));
}

CAF_TEST(a kept peer is not closed by the decision timeout) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  advance_time(1s);
  run();
  CAF_CHECK(events().lost.empty());
}

CAF_TEST(a second connection of the same session is closed as duplicate) {
  auto peer = peer_identity(false);
  auto first = selected_peer(2, peer, 1);
  auto second = selected_peer(3, peer, 1);
  CAF_CHECK(wrote_close(*second, crust::wire::close_reason::duplicate));
  CAF_CHECK(!wrote_close(*first, crust::wire::close_reason::duplicate));
  CAF_CHECK_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().lost.empty());
  keep(peer.id());
  data_from(*first, "still here");
  CAF_CHECK_EQUAL(events().msgs.size(), 1u);
}

CAF_TEST(a restarted peer supersedes its old connection) {
  auto peer = peer_identity(false);
  auto first = selected_peer(2, peer, 1);
  selected_peer(3, peer, 2);
  CAF_CHECK(wrote_close(*first, crust::wire::close_reason::superseded));
  CAF_CHECK_EQUAL(events().peers.size(), 2u);
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "superseded"));
}

CAF_TEST(a crashed connection actor is reported as a lost peer) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  data_from(*r, "x");
  CAF_REQUIRE(events().msg_sender);
  anon_send_exit(events().msg_sender, exit_reason::kill);
  run();
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "connection actor failed"));
}

CAF_TEST(an oversize record raises misbehaving and others are still served) {
  auto bad = accept(2);
  send_raw(bad, std::vector<char>{0x7f, -1}); // 32767 > 17408
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::oversize);
  CAF_CHECK(mpx.output_buffer(bad).empty()); // strangers hear nothing
  selected_peer(3, peer_identity(false));
  CAF_CHECK_EQUAL(events().peers.size(), 1u);
}

CAF_TEST(garbage instead of a handshake is handshake_invalid) {
  auto bad = accept(2);
  send_raw(bad, std::vector<char>{0x00, 0x03, 'a', 'b', 'c'});
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::handshake_invalid);
  CAF_CHECK(mpx.output_buffer(bad).empty());
}

CAF_TEST(a tampered record is a decrypt failure) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  std::vector<char> rec_bytes;
  uint8_t flags = crust::wire::flag_last;
  const uint8_t text[] = {'h', 'i'};
  CAF_REQUIRE(r->ch.seal(frame_type::data, &flags, 1, text, 2, rec_bytes));
  rec_bytes.back() ^= 0x01;
  send_raw(r->conn, rec_bytes);
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::decrypt_failure);
  CAF_CHECK(events().abuse[0].peer == peer.id());
  CAF_CHECK(events().msgs.empty());
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
}

CAF_TEST(data before select is a protocol violation) {
  auto peer = peer_identity(true);
  auto r = dial_in(2, peer);
  data_from(*r, "too soon");
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::protocol_violation);
  CAF_CHECK(events().abuse[0].peer == peer.id());
}

CAF_TEST(silence before the handshake is a handshake timeout) {
  auto conn = accept(2);
  advance_time(3s);
  run();
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::handshake_timeout);
  CAF_CHECK(mpx.output_buffer(conn).empty());
}

CAF_TEST(a silent peer is lost after the heartbeat timeout) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  size_t pings = 0;
  for (int i = 0; i < 5 && events().lost.empty(); ++i) {
    advance_time(5s);
    run();
    read_node(*r);
  }
  for (auto t : r->got.types)
    pings += t == frame_type::ping;
  CAF_CHECK_GREATER_OR_EQUAL(pings, 2u);
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "heartbeat"));
}

CAF_TEST(a peer that keeps talking is not lost) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  for (int i = 0; i < 6; ++i) {
    peer_sends(*r, frame_type::ping);
    advance_time(5s);
    run();
  }
  CAF_CHECK(events().lost.empty());
}

CAF_TEST(a peer dialling itself is refused) {
  auto r = dial_in(2, *node_identity, 99);
  CAF_CHECK(wrote_close(*r, crust::wire::close_reason::self));
  CAF_CHECK(events().peers.empty());
}

CAF_TEST(handshakes in flight from one address are capped) {
  std::vector<connection_handle> pending;
  for (int i = 0; i < 3; ++i)
    pending.push_back(accept(10 + i)); // admitted, silent
  CAF_CHECK(events().abuse.empty());
  auto fourth = accept(20);
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::flood);
  CAF_CHECK(contains(events().abuse[0].detail, "handshakes in flight"));
  // Refused unread: a handshake sent to it gets no answer.
  std::vector<char> first;
  crust::secure_channel ch{
    crust::test::channel_settings(identity::ephemeral(), true)};
  ch.start(first);
  send_raw(fourth, first);
  CAF_CHECK(mpx.output_buffer(fourth).empty());
  // A finished handshake makes room again.
  selected_peer(30, peer_identity(false));
  CAF_CHECK_EQUAL(events().peers.size(), 0u); // still 3 half open: refused
}

CAF_TEST(a peer dribbling a record it never finishes is lost) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  std::vector<char> rec_bytes;
  std::vector<uint8_t> body{crust::wire::flag_last | crust::wire::flag_normal};
  body.resize(1000, 'x');
  CAF_REQUIRE(r->ch.seal(frame_type::data, body.data(), body.size(), nullptr, 0,
                         rec_bytes));
  // One byte every heartbeat interval: bytes, but never a whole record.
  for (size_t i = 0; i < 6 && events().lost.empty(); ++i) {
    send_raw(r->conn, {rec_bytes[i]});
    advance_time(5s);
    run();
  }
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "heartbeat"));
  CAF_CHECK(events().msgs.empty());
}

CAF_TEST(a blacklisted peer id is closed at once and refused after its handshake) {
  auto peer = peer_identity(false);
  auto r = selected_peer(2, peer);
  keep(peer.id());
  auto reply = self->request(svc, infinite,
                             crust::blacklist{{peer.id().to_hex()}});
  run();
  uint64_t closed = 0;
  reply.receive([&](uint64_t n) { closed = n; }, [](error&) {});
  CAF_CHECK_EQUAL(closed, 1u);
  CAF_CHECK(wrote_close(*r, crust::wire::close_reason::refused));
  CAF_REQUIRE_EQUAL(events().lost.size(), 1u);
  CAF_CHECK(contains(events().lost[0].reason, "blacklisted"));
  auto again = dial_in(3, peer, 2);
  CAF_CHECK(wrote_close(*again, crust::wire::close_reason::refused));
  CAF_CHECK_EQUAL(events().peers.size(), 1u); // only the first time
}

CAF_TEST(a bad blacklist entry is an error reply) {
  auto reply = self->request(svc, infinite, crust::blacklist{{"nonsense"}});
  run();
  error err;
  reply.receive([](uint64_t) {}, [&](error& e) { err = std::move(e); });
  CAF_CHECK(err);
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

struct two_slot_fixture : fixture {
  two_slot_fixture()
    : fixture([](crust::service_options& o) {
        o.max_half_open = 2;
        o.max_half_open_per_ip = 8;
      }) {
    // nop
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(handshake_slot_tests, two_slot_fixture)

CAF_TEST(with every handshake slot taken the oldest half open makes room) {
  accept(10); // silent: holds a slot
  accept(11); // likewise: now every slot is taken
  CAF_CHECK(events().abuse.empty());
  auto peer = peer_identity(false);
  auto r = selected_peer(12, peer);
  CAF_REQUIRE_EQUAL(events().peers.size(), 1u);
  CAF_CHECK(events().peers[0].peer == peer.id());
  CAF_REQUIRE_EQUAL(events().abuse.size(), 1u);
  CAF_CHECK(events().abuse[0].kind == crust::misbehaviour::flood);
  CAF_CHECK(contains(events().abuse[0].detail, "evicted"));
  // Finished handshakes free their slots: one left for a newcomer...
  selected_peer(13, peer_identity(false));
  CAF_CHECK_EQUAL(events().peers.size(), 2u);
  CAF_CHECK_EQUAL(events().abuse.size(), 1u);
  // ...and when a silent one takes it, the next newcomer evicts the oldest.
  accept(14);
  selected_peer(15, peer_identity(false));
  CAF_CHECK_EQUAL(events().peers.size(), 3u);
  CAF_CHECK_EQUAL(events().abuse.size(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
