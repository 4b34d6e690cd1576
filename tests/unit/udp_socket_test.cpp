#define CAF_SUITE udp_socket
#include <caf/test/unit_test.hpp>

#include <poll.h>
#include <unistd.h>

#include <map>

#include "transports/io/udp_socket.hpp"

using namespace crust;

namespace {

struct socket_pair {
  int a = -1, b = -1, c = -1;
  uint16_t port_b = 0, port_c = 0;

  socket_pair() {
    a = *udp_bind("127.0.0.1", 0);
    b = *udp_bind("127.0.0.1", 0);
    c = *udp_bind("127.0.0.1", 0);
    port_b = udp_local_port(b);
    port_c = udp_local_port(c);
  }

  ~socket_pair() {
    ::close(a);
    ::close(b);
    ::close(c);
  }
};

struct datagram {
  ip_endpoint from;
  std::vector<uint8_t> bytes;
};

// Everything waiting on `fd`, reading until `want` came or 2 s passed.
std::vector<datagram> read_all(int fd, size_t want) {
  std::vector<datagram> got;
  for (int i = 0; i < 200 && got.size() < want; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) > 0)
      udp_read(fd, 256, [&](const ip_endpoint& from, const uint8_t* b,
                            size_t n) {
        got.push_back({from, std::vector<uint8_t>(b, b + n)});
      });
  }
  return got;
}

std::vector<uint8_t> bytes(size_t n, uint8_t tag) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<uint8_t>(tag + i);
  return v;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(udp_socket_tests, socket_pair)

// Runs of one size, shorter last datagrams, and two destinations mixed:
// whether or not the kernel segments runs for us, each datagram arrives
// whole, alone, and (on loopback) in order.
CAF_TEST(runs of datagrams arrive as the datagrams they were) {
  std::vector<datagram_channel::outgoing> out;
  std::map<uint16_t, std::vector<std::vector<uint8_t>>> sent;
  uint8_t tag = 0;
  auto add = [&](uint16_t port, size_t size) {
    out.push_back({ip_endpoint{"127.0.0.1", port}, bytes(size, ++tag)});
    sent[port].push_back(out.back().bytes);
  };
  for (int i = 0; i < 150; ++i)
    add(port_b, 1229); // more than one run's 64 segments
  add(port_b, 300);    // ends a run
  add(port_b, 1229);
  add(port_b, 1229);
  for (int i = 0; i < 10; ++i)
    add(i % 2 ? port_b : port_c, 100 + i); // alternating destinations
  add(port_c, 1);
  bool gso = true;
  udp_send_all(a, out, gso);
  auto at_b = read_all(b, sent[port_b].size());
  auto at_c = read_all(c, sent[port_c].size());
  CAF_REQUIRE_EQUAL(at_b.size(), sent[port_b].size());
  CAF_REQUIRE_EQUAL(at_c.size(), sent[port_c].size());
  for (size_t i = 0; i < at_b.size(); ++i) {
    CAF_CHECK(at_b[i].bytes == sent[port_b][i]);
    CAF_CHECK_EQUAL(at_b[i].from.port, udp_local_port(a));
  }
  for (size_t i = 0; i < at_c.size(); ++i)
    CAF_CHECK(at_c[i].bytes == sent[port_c][i]);
  CAF_MESSAGE("segmentation by the kernel: " << (gso ? "used" : "refused"));
}

CAF_TEST(without segmentation every datagram still goes) {
  std::vector<datagram_channel::outgoing> out;
  for (int i = 0; i < 100; ++i)
    out.push_back({ip_endpoint{"127.0.0.1", port_b}, bytes(1000, 1)});
  bool gso = false;
  udp_send_all(a, out, gso);
  auto got = read_all(b, out.size());
  CAF_CHECK_EQUAL(got.size(), out.size());
  CAF_CHECK(!gso);
}

// A socket that sends without UDP checksums cannot have the kernel cut
// runs (UDP_SEGMENT gives EINVAL), as on a device without checksum
// offload (EIO): the run is sent again one datagram at a time and
// segmentation stays off for that socket.
CAF_TEST(a kernel that refuses to segment gets single datagrams) {
  int on = 1;
  CAF_REQUIRE_EQUAL(::setsockopt(a, SOL_SOCKET, SO_NO_CHECK, &on, sizeof(on)),
                    0);
  std::vector<datagram_channel::outgoing> out;
  for (int i = 0; i < 100; ++i)
    out.push_back({ip_endpoint{"127.0.0.1", port_b},
                   bytes(1200, static_cast<uint8_t>(i))});
  bool gso = true;
  udp_send_all(a, out, gso);
  CAF_CHECK(!gso);
  auto got = read_all(b, out.size());
  CAF_REQUIRE_EQUAL(got.size(), out.size());
  for (size_t i = 0; i < got.size(); ++i)
    CAF_CHECK(got[i].bytes == out[i].bytes);
}

CAF_TEST_FIXTURE_SCOPE_END()
