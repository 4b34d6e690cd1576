// stun_probe HOST PORT: one STUN Binding transaction over UDP with crust's
// STUN code (nat/stun), for tests against a real server. Prints one JSON
// line: {"mapped": "IP:PORT", "local": "IP:PORT", "ignored": N} and exits 0,
// or {"error": "..."} and exits 1. Sends follow RFC 8489's schedule with a
// 100 ms RTO, 4 sends (about 2.3 s in all before giving up).
//
// stun_probe --rudp HOST PORT: the same question asked by the reliable-UDP
// engine from a rudp socket it opened on 127.0.0.1 (what a service does to
// learn its rudp socket's own mapping). Prints {"mapped", "local"} or
// {"error"} the same way.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <caf/all.hpp>

#include "actors/rudp_engine/engine.hpp"
#include "crust/errors.hpp"
#include "nat/stun.hpp"
#include "transports/identity.hpp"

using namespace crust;

namespace {

int fail(const std::string& why) {
  std::printf("{\"error\": \"%s\"}\n", why.c_str());
  return 1;
}

// The engine's way: open a rudp socket, ask from it, close it.
int probe_from_rudp_socket(const std::string& host, uint16_t port) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto engine = rudp_engine_of(sys);
  caf::scoped_actor self{sys};
  auto settings = std::make_shared<datagram_channel::settings>();
  auto me = identity::ephemeral();
  settings->static_key = me.noise_static();
  settings->local = hello{me.id(), 1, false};
  int rc = 1;
  auto failed = [&](caf::error& err) {
    rc = fail(error_detail(err).value_or(sys.render(err)));
  };
  self->request(engine, std::chrono::seconds(5), rudp_open_atom::value,
                std::string{"127.0.0.1"}, uint16_t{0}, settings)
    .receive(
      [&](rudp_socket sock, uint16_t local) {
        self->request(engine, std::chrono::seconds(15), rudp_stun_atom::value,
                      sock, host, port)
          .receive(
            [&](const std::string& ip, uint16_t mapped) {
              std::printf("{\"mapped\": \"%s:%u\", \"local\": "
                          "\"127.0.0.1:%u\"}\n",
                          ip.c_str(), mapped, local);
              rc = 0;
            },
            failed);
      },
      failed);
  self->request(engine, std::chrono::seconds(5), close_atom::value)
    .receive([](caf::ok_atom) {}, [](caf::error&) {});
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0)
    return fail("libsodium failed to initialise");
  if (argc == 4 && std::string{argv[1]} == "--rudp")
    return probe_from_rudp_socket(argv[2],
                                  static_cast<uint16_t>(std::atoi(argv[3])));
  if (argc != 3)
    return fail("usage: stun_probe [--rudp] HOST PORT");
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &server.sin_addr) != 1)
    return fail("not an IPv4 address");
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0)
    return fail("cannot bind");
  socklen_t len = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  auto id = stun::new_transaction_id();
  auto request = stun::binding_request(id);
  stun::retransmission rtx{std::chrono::milliseconds(100), 4};
  int ignored = 0;
  for (;;) {
    auto now = stun::retransmission::clock::now();
    stun::retransmission::clock::time_point deadline;
    auto step = rtx.poll(now, deadline);
    if (step == stun::retransmission::step::give_up) {
      ::close(fd);
      return fail("no answer (" + std::to_string(ignored) + " ignored)");
    }
    if (step == stun::retransmission::step::send)
      ::sendto(fd, request.data(), request.size(), 0,
               reinterpret_cast<sockaddr*>(&server), sizeof(server));
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline
                                                                      - now);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long>(wait.count(), 1))) <= 0)
      continue;
    uint8_t buf[1500];
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      continue;
    auto mapped = stun::parse_binding_response(buf, static_cast<size_t>(n), id);
    if (!mapped) {
      ++ignored; // malformed or foreign: dropped, counted
      continue;
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &local.sin_addr, ip, sizeof(ip));
    std::printf("{\"mapped\": \"%s:%u\", \"local\": \"%s:%u\", \"ignored\": %d}\n",
                mapped->ip.c_str(), mapped->port, ip, ntohs(local.sin_port),
                ignored);
    ::close(fd);
    return 0;
  }
}
