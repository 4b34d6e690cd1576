// Services in one process talking over real sockets on 127.0.0.1. Every
// wait is bounded and waits on events, never on the clock.
#define CAF_SUITE two_services
#include <caf/test/unit_test.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>

#include "crust/crust.hpp"
#include "tests/integration/node.hpp"

CAF_TEST_FIXTURE_SCOPE(two_services_tests, fixture)

CAF_TEST(two services connect keep and talk both ways) {
  node a{sys}, b{sys};
  link(a, b);
  CAF_CHECK(a.peers[0].peer == b.id());
  CAF_CHECK(!a.peers[0].info.inbound);
  CAF_CHECK(b.peers[0].info.inbound);
  CAF_CHECK(!a.send(b.id(), text("hello b")));
  CAF_CHECK(!b.send(a.id(), text("hello a")));
  CAF_REQUIRE(b.wait_until([&] { return !b.msgs.empty(); }));
  CAF_REQUIRE(a.wait_until([&] { return !a.msgs.empty(); }));
  CAF_CHECK(b.msgs[0].bytes == text("hello b"));
  CAF_CHECK(a.msgs[0].bytes == text("hello a"));
}

CAF_TEST(sends straight to the link of new_peer reach the peer in order) {
  for (auto t : {crust::transport::tcp, crust::transport::rudp}) {
    CAF_MESSAGE("over " << to_string(t));
    node a{sys}, b{sys};
    a.handler->send(a.svc, crust::connect{b.endpoint(t)});
    CAF_REQUIRE(a.wait_until([&] { return !a.peers.empty(); }));
    CAF_REQUIRE(b.wait_until([&] { return !b.peers.empty(); }));
    auto to_b = a.peers[0].link;
    CAF_REQUIRE(to_b != nullptr);
    // Undecided: the link refuses as the service would.
    CAF_CHECK(a.send_via(to_b, text("early"))
              == crust::make_error(crust::errc::not_kept));
    a.keep(b.id());
    b.keep(a.id());
    CAF_CHECK(!a.send_via(to_b, text("first")));
    // A burst of plain sends: they leave in shared records.
    for (uint32_t i = 0; i < 300; ++i) {
      std::vector<uint8_t> m(20 + i % 50, static_cast<uint8_t>(i));
      std::memcpy(m.data(), &i, sizeof(i));
      a.handler->send(to_b, crust::send{{}, std::move(m)});
    }
    CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() == 301; }));
    CAF_CHECK(b.msgs[0].bytes == text("first"));
    for (uint32_t i = 0; i < 300; ++i) {
      auto& m = b.msgs[i + 1].bytes;
      uint32_t seq = 0;
      CAF_REQUIRE_EQUAL(m.size(), 20 + i % 50);
      std::memcpy(&seq, m.data(), sizeof(seq));
      CAF_CHECK_EQUAL(seq, i);
    }
  }
}

CAF_TEST(a window of plain sends streams in order and sent confirms it all) {
  for (auto t : {crust::transport::tcp, crust::transport::rudp}) {
    CAF_MESSAGE("over " << to_string(t));
    node a{sys}, b{sys};
    link(a, b, t);
    auto to_b = a.peers[0].link;
    const uint64_t window = 64 * 1024;
    CAF_REQUIRE(a.peers[0].window >= window);
    // 4,000 messages of 1 to 1,999 bytes, about 4 MB: each waits for room
    // in the window, which only crust::sent gives back.
    const uint32_t count = 4000;
    auto size_of = [](uint32_t i) -> size_t {
      return std::max(sizeof(i), size_t{(i * 7919) % 2000});
    };
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; ++i) {
      std::vector<uint8_t> m(size_of(i), static_cast<uint8_t>(i));
      std::memcpy(m.data(), &i, sizeof(i));
      CAF_REQUIRE(a.wait_until(
        [&] { return total + m.size() - a.sent_bytes <= window; }));
      total += m.size();
      a.handler->send(to_b, crust::send{{}, std::move(m)});
    }
    CAF_REQUIRE(a.wait_until([&] { return a.sent_bytes == total; }));
    CAF_CHECK(a.send_failures.empty());
    CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() == count; }));
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t seq = 0;
      std::memcpy(&seq, b.msgs[i].bytes.data(), sizeof(seq));
      CAF_REQUIRE_EQUAL(seq, i);
      auto want = size_of(i);
      CAF_CHECK_EQUAL(b.msgs[i].bytes.size(), want);
    }
  }
}

CAF_TEST(ten megabytes arrive intact and in order) {
  node a{sys}, b{sys};
  link(a, b);
  std::vector<uint8_t> big(10 * 1024 * 1024);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  CAF_REQUIRE(!a.send(b.id(), big));
  for (uint32_t i = 0; i < 200; ++i) {
    std::vector<uint8_t> small(1000, static_cast<uint8_t>(i));
    std::memcpy(small.data(), &i, sizeof(i));
    CAF_REQUIRE(!a.send(b.id(), small));
  }
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() == 201; }));
  CAF_CHECK(b.msgs[0].bytes == big);
  for (uint32_t i = 0; i < 200; ++i) {
    uint32_t seq;
    std::memcpy(&seq, b.msgs[i + 1].bytes.data(), sizeof(seq));
    CAF_CHECK_EQUAL(seq, i);
  }
}

CAF_TEST(control messages overtake a bulk transfer) {
  node a{sys}, b{sys};
  link(a, b);
  std::vector<uint8_t> bulk(8 * 1024 * 1024, 'b');
  CAF_REQUIRE(!a.send(b.id(), bulk, crust::priority::normal));
  CAF_REQUIRE(!a.send(b.id(), text("urgent"), crust::priority::high));
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() == 2; }));
  CAF_CHECK(b.msgs[0].bytes == text("urgent"));
  CAF_CHECK_EQUAL(b.msgs[1].bytes.size(), bulk.size());
}

CAF_TEST(a full send queue answers with back pressure) {
  node a{sys, [](crust::service_options& o) {
    o.send_queue_size = 4 * 1024 * 1024;
    o.max_message_size = 1024 * 1024;
  }};
  // b never decides, so it stops reading after its undecided allowance: the
  // socket buffers fill, then a's queue.
  node b{sys, [](crust::service_options& o) { o.decision_timeout = 60s; }};
  a.handler->send(a.svc, crust::connect{b.endpoint()});
  CAF_REQUIRE(a.wait_until([&] { return !a.peers.empty(); }));
  a.keep(b.id());
  std::vector<uint8_t> chunk(512 * 1024, 'x');
  caf::error err;
  int accepted = 0;
  for (; accepted < 1000; ++accepted)
    if ((err = a.send(b.id(), chunk)))
      break;
  CAF_CHECK(err == crust::make_error(crust::errc::send_queue_full));
  // Bounded: the queue, b's allowance and the kernel's buffers, no more.
  CAF_CHECK_LESS(accepted, 200);
  CAF_MESSAGE("queue full after " << accepted << " messages of 512 KiB");
}

CAF_TEST(dialling a closed port reports connection_failed) {
  node a{sys};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  auto port = ntohs(sa.sin_port);
  close(fd); // nobody listens there now
  a.handler->send(a.svc, crust::connect{crust::endpoint{crust::transport::tcp,
                                                        "127.0.0.1", port, {}}});
  CAF_REQUIRE(a.wait_until([&] { return !a.failed.empty(); }));
  CAF_CHECK(a.failed[0].target.find(std::to_string(port)) != std::string::npos);
  CAF_CHECK(a.failed[0].reason.find("refused") != std::string::npos);
}

CAF_TEST(a pinned peer id that does not answer fails the connection) {
  node a{sys}, b{sys};
  auto ep = b.endpoint();
  ep.pinned = peer_id::random();
  a.handler->send(a.svc, crust::connect{ep});
  CAF_REQUIRE(a.wait_until([&] { return !a.failed.empty(); }));
  CAF_CHECK(a.failed[0].reason.find("expected peer") != std::string::npos);
  CAF_CHECK(a.peers.empty());
}

CAF_TEST(simultaneous dials end as one connection the same on both sides) {
  for (int round = 0; round < 5; ++round) {
    node a{sys}, b{sys};
    a.handler->send(a.svc, crust::connect{b.endpoint()});
    b.handler->send(b.svc, crust::connect{a.endpoint()});
    CAF_REQUIRE(a.wait_until([&] { return !a.peers.empty(); }));
    CAF_REQUIRE(b.wait_until([&] { return !b.peers.empty(); }));
    a.keep(b.id());
    b.keep(a.id());
    // A message each way proves the live connections carry traffic.
    CAF_REQUIRE(!a.send(b.id(), text("ping")));
    CAF_REQUIRE(!b.send(a.id(), text("pong")));
    CAF_REQUIRE(b.wait_until([&] { return !b.msgs.empty(); }));
    CAF_REQUIRE(a.wait_until([&] { return !a.msgs.empty(); }));
    auto pa = a.peer_list();
    auto pb = b.peer_list();
    CAF_REQUIRE_EQUAL(pa.size(), 1u);
    CAF_REQUIRE_EQUAL(pb.size(), 1u);
    CAF_CHECK(pa[0].info.local.port == pb[0].info.remote.port
              || pa[0].info.remote.port == pb[0].info.local.port);
    CAF_CHECK_EQUAL(a.peers.size(), 1u);
    CAF_CHECK_EQUAL(b.peers.size(), 1u);
    CAF_CHECK(a.lost.empty());
    CAF_CHECK(b.lost.empty());
    // The loser of the race is no failure: nobody hears about it.
    CAF_CHECK(a.failed.empty());
    CAF_CHECK(b.failed.empty());
  }
}

CAF_TEST(a killed peer is reported lost) {
  node a{sys}, b{sys};
  link(a, b);
  caf::anon_send_exit(b.svc, caf::exit_reason::kill);
  CAF_REQUIRE(a.wait_until([&] { return !a.lost.empty(); }));
  CAF_CHECK(a.lost[0].peer == b.id());
}

CAF_TEST(shutdown tells the peer) {
  node a{sys}, b{sys};
  link(a, b);
  a.handler->send(a.svc, crust::shutdown{});
  CAF_REQUIRE(b.wait_until([&] { return !b.lost.empty(); }));
  CAF_CHECK(b.lost[0].reason.find("shutdown") != std::string::npos);
}

CAF_TEST(blacklisting an address closes its peers and refuses them until unblacklisted) {
  node a{sys}, b{sys};
  link(a, b);
  CAF_CHECK_EQUAL(b.blacklist({"127.0.0.0/8"}), 1u);
  CAF_REQUIRE(b.wait_until([&] { return !b.lost.empty(); }));
  CAF_CHECK(b.lost[0].reason.find("blacklisted") != std::string::npos);
  CAF_REQUIRE(a.wait_until([&] { return !a.lost.empty(); }));
  // Refused before any handshake work: a's dial fails, b hears nothing.
  a.handler->send(a.svc, crust::connect{b.endpoint()});
  CAF_REQUIRE(a.wait_until([&] { return !a.failed.empty(); }));
  CAF_CHECK_EQUAL(b.peers.size(), 1u);
  // And b may not dial out to it either.
  b.handler->send(b.svc, crust::connect{a.endpoint()});
  CAF_REQUIRE(b.wait_until([&] { return !b.failed.empty(); }));
  CAF_CHECK(b.failed[0].reason.find("blacklisted") != std::string::npos);
  b.handler->request(b.svc, 10s, crust::unblacklist{{"127.0.0.0/8"}})
    .receive([](uint64_t) {}, [](caf::error&) {});
  a.handler->send(a.svc, crust::connect{b.endpoint()});
  CAF_REQUIRE(a.wait_until([&] { return a.peers.size() == 2; }));
  CAF_REQUIRE(b.wait_until([&] { return b.peers.size() == 2; }));
}

// The README's handler: answers new_peer with keep and sends commands
// without waiting for replies. It must see no stray replies or errors.
using got_atom = caf::atom_constant<caf::atom("got")>;
using stray_atom = caf::atom_constant<caf::atom("stray")>;

caf::behavior plain_handler(caf::event_based_actor* self, caf::actor watcher) {
  self->set_default_handler([=](caf::scheduled_actor*, caf::message_view&)
                              -> caf::result<caf::message> {
    self->send(watcher, stray_atom::value);
    return caf::message{};
  });
  self->set_error_handler(
    [=](caf::error&) { self->send(watcher, stray_atom::value); });
  return {
    [=](const crust::listening&) {},
    [=](const crust::new_peer& ev) { return crust::keep{ev.peer}; },
    [=](const crust::message&) { self->send(watcher, got_atom::value); },
  };
}

CAF_TEST(a handler that answers new_peer with keep gets no stray replies) {
  scoped_actor watcher{sys};
  auto h = sys.spawn(plain_handler, caf::actor{watcher});
  crust::service_options opts;
  opts.listen_address = "127.0.0.1";
  auto svc = crust::spawn_service(sys, opts, h);
  CAF_REQUIRE(svc);
  node b{sys};
  caf::anon_send(*svc, crust::connect{b.endpoint()});
  CAF_REQUIRE(b.wait_until([&] { return !b.peers.empty(); }));
  auto plain = b.peers[0].peer;
  b.keep(plain);
  for (int i = 0; i < 3; ++i)
    b.handler->send(b.svc, crust::send{plain, text("x"),
                                       crust::priority::normal});
  CAF_CHECK(!b.send(plain, text("last")));
  int got = 0, strays = 0;
  bool timed_out = false;
  while (got < 4 && !timed_out)
    watcher->receive([&](got_atom) { ++got; }, [&](stray_atom) { ++strays; },
                     caf::after(10s) >> [&] { timed_out = true; });
  CAF_CHECK_EQUAL(got, 4);
  CAF_CHECK_EQUAL(strays, 0);
  // b's plain sends got no replies either.
  bool ok_reply = false;
  b.handler->receive([&](caf::ok_atom) { ok_reply = true; },
                     caf::after(caf::timespan{0}) >> [] {});
  CAF_CHECK(!ok_reply);
  caf::anon_send_exit(*svc, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()
