// Listening ports that move (crust.rotate-ports-interval), over real
// sockets on 127.0.0.1: live connections, TCP and reliable UDP, carry on
// across three moves with messages in order both ways; a move's old TCP
// port refuses connections once its grace is over; a kept peer hears
// where the node listens now (ENDPOINTS) and its bootstrap cache says so,
// so that a newcomer who learns of the node from that peer's exchange
// reaches it at a port it moved to. Every wait is bounded.
#define CAF_SUITE port_rotation
#include <caf/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>

#include "tests/integration/node.hpp"

namespace {

// Moves about every second (0.75..1.25 s), old ports open `grace` more.
std::function<void(crust::service_options&)>
moving(caf::timespan grace, bool exchange = false) {
  return [=](crust::service_options& o) {
    o.beacon = false;
    o.peer_exchange = exchange;
    o.rotate_ports_interval = std::chrono::seconds(1);
    o.rotate_ports_grace = grace;
  };
}

uint16_t port_of(const crust::listening& l, crust::transport t) {
  for (auto& e : l.endpoints)
    if (e.proto == t)
      return e.port;
  return 0;
}

// Whether a TCP connect to 127.0.0.1:`port` is refused.
bool refused(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  auto err = errno;
  ::close(fd);
  return rc != 0 && err == ECONNREFUSED;
}

// Polls `port` until it refuses, for at most 5 s: the old listener's
// exit travels through CAF's multiplexer, which a test cannot await.
bool comes_to_refuse(uint16_t port) {
  for (int i = 0; i < 50; ++i) {
    if (refused(port))
      return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

std::vector<uint8_t> numbered(uint32_t k) {
  std::vector<uint8_t> out(1024, static_cast<uint8_t>(k * 7));
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<uint8_t>(k >> (8 * (3 - i)));
  return out;
}

bool in_order(const std::vector<crust::message>& msgs, uint32_t n) {
  if (msgs.size() != n)
    return false;
  for (uint32_t k = 0; k < n; ++k)
    if (msgs[k].bytes != numbered(k))
      return false;
  return true;
}

// Sends numbered messages both ways between `a` (which moves) and `b`
// until `a` announced `moves` moves (or 40 s passed); how many each way.
uint32_t talk_across_moves(node& a, node& b, size_t moves) {
  uint32_t n = 0;
  auto deadline = std::chrono::steady_clock::now() + 40s;
  while (a.listens.size() < moves + 1
         && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 20; ++i, ++n) {
      CAF_REQUIRE(!b.send(a.id(), numbered(n)));
      CAF_REQUIRE(!a.send(b.id(), numbered(n)));
    }
    a.wait_until([&] { return a.listens.size() >= moves + 1; }, 100ms);
  }
  CAF_REQUIRE_EQUAL(a.listens.size(), moves + 1);
  return n;
}

// Talks across `moves` moves of `a`'s ports: every message arrives, in
// order, both ways, and neither side lost the other.
void carries_on_across_moves(node& a, node& b, size_t moves) {
  auto n = talk_across_moves(a, b, moves);
  CAF_MESSAGE(n << " messages each way across " << moves << " moves");
  CAF_REQUIRE(a.wait_until([&] { return a.msgs.size() == n; }, 20s));
  CAF_REQUIRE(b.wait_until([&] { return b.msgs.size() == n; }, 20s));
  CAF_CHECK(in_order(a.msgs, n));
  CAF_CHECK(in_order(b.msgs, n));
  CAF_CHECK(a.lost.empty());
  CAF_CHECK(b.lost.empty());
}

std::string temp_cache_file() {
  char dir[] = "/tmp/crust-rotation-XXXXXX";
  CAF_REQUIRE(::mkdtemp(dir) != nullptr);
  return std::string{dir} + "/cache.json";
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(port_rotation_tests, fixture)

CAF_TEST(a tcp connection carries on across three moves and old ports close) {
  node a{sys, moving(std::chrono::milliseconds(500))};
  node b{sys, [](crust::service_options& o) { o.beacon = false; }};
  link(b, a);
  carries_on_across_moves(a, b, 3);
  CAF_CHECK_EQUAL(a.peers.size(), 1u); // the same peer, never again
  // Every move had new ports, TCP and UDP alike.
  std::set<uint16_t> tcp_ports, udp_ports;
  for (auto& l : a.listens) {
    CAF_CHECK_EQUAL(l.id, a.id());
    tcp_ports.insert(port_of(l, crust::transport::tcp));
    udp_ports.insert(port_of(l, crust::transport::rudp));
  }
  CAF_CHECK_EQUAL(tcp_ports.size(), 4u);
  CAF_CHECK_EQUAL(udp_ports.size(), 4u);
  // The first two moves' grace is over (moves never overlap): their old
  // TCP ports refuse; the port of now takes connections.
  CAF_CHECK(comes_to_refuse(port_of(a.listens[0], crust::transport::tcp)));
  CAF_CHECK(comes_to_refuse(port_of(a.listens[1], crust::transport::tcp)));
  node c{sys, [](crust::service_options& o) { o.beacon = false; }};
  c.handler->send(c.svc, crust::connect{a.listens.back().endpoints.front()});
  CAF_CHECK(c.wait_until([&] { return has_peer(c, a.id()); }));
}

CAF_TEST(a reliable udp connection carries on across moves) {
  node a{sys, moving(std::chrono::milliseconds(500))};
  node b{sys, [](crust::service_options& o) { o.beacon = false; }};
  link(b, a, crust::transport::rudp);
  CAF_REQUIRE(find_peer(b, a.id())->info.proto == crust::transport::rudp);
  carries_on_across_moves(a, b, 3);
}

CAF_TEST(a newcomer reaches a moved node through the exchange of a kept peer) {
  auto cache = temp_cache_file();
  // A moves with a grace long enough that the port B's cache names still
  // listens when C dials it; the port it started on is long closed.
  node a{sys, moving(std::chrono::seconds(3), true)};
  node b{sys, [&](crust::service_options& o) {
           o.beacon = false;
           o.bootstrap_cache_file = cache;
         }};
  link(b, a); // B dialled A: A is in B's cache at its first port
  auto first = port_of(a.listens[0], crust::transport::tcp);
  CAF_REQUIRE(a.wait_until([&] { return a.listens.size() >= 3; }, 20s));
  CAF_CHECK(comes_to_refuse(first));
  // C knows only B; B's sample names A where A listens now.
  node c{sys, [](crust::service_options& o) { o.beacon = false; }};
  c.handler->send(c.svc, crust::connect{b.endpoint()});
  CAF_REQUIRE(c.wait_until([&] { return has_peer(c, b.id()); }));
  CAF_REQUIRE(b.wait_until([&] { return has_peer(b, c.id()); }));
  c.keep(b.id());
  b.keep(c.id());
  CAF_REQUIRE(c.wait_until([&] { return has_peer(c, a.id()); }, 20s));
  auto reached = find_peer(c, a.id())->info.remote.port;
  CAF_CHECK_NOT_EQUAL(reached, first);
  CAF_MESSAGE("C reached A at port " << reached << "; A started on " << first);
  std::remove(cache.c_str());
}

CAF_TEST_FIXTURE_SCOPE_END()
