// crust's Noise handshake over a real TCP socket, for interoperability
// tests against an independent implementation (python3-dissononce).
//
//   noise_peer initiator PORT PROLOGUE_HEX   dial 127.0.0.1:PORT
//   noise_peer responder PROLOGUE_HEX        listen on 127.0.0.1:0
//
// Noise messages travel with a 2-byte big-endian length, as the Noise spec
// suggests. Prints (stdout, one per line): "port N" (responder),
// "static HEX" (our static public key), then after the handshake
// "remote HEX" and "hash HEX". Transport phase: sends "hello from crust",
// then answers every message M with "echo:" + M until the peer closes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "transports/noise/handshake.hpp"

using namespace crust::noise;

namespace {

bool read_all(int fd, uint8_t* buf, size_t n) {
  while (n > 0) {
    auto r = ::read(fd, buf, n);
    if (r <= 0)
      return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool send_msg(int fd, const std::vector<uint8_t>& m) {
  uint8_t hdr[2] = {static_cast<uint8_t>(m.size() >> 8),
                    static_cast<uint8_t>(m.size())};
  return ::write(fd, hdr, 2) == 2
         && ::write(fd, m.data(), m.size()) == static_cast<ssize_t>(m.size());
}

bool recv_msg(int fd, std::vector<uint8_t>& m) {
  uint8_t hdr[2];
  if (!read_all(fd, hdr, 2))
    return false;
  m.resize((size_t{hdr[0]} << 8) | hdr[1]);
  return read_all(fd, m.data(), m.size());
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

int fail(const char* what) {
  std::printf("error %s\n", what);
  std::fflush(stdout);
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3)
    return fail("usage");
  bool initiator = std::string{argv[1]} == "initiator";
  auto s = keypair::generate();
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd;
  std::string prologue_hex;
  if (initiator) {
    if (argc < 4)
      return fail("usage");
    sa.sin_port = htons(static_cast<uint16_t>(std::stoi(argv[2])));
    prologue_hex = argv[3];
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
      return fail("connect");
  } else {
    prologue_hex = argv[2];
    int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    socklen_t len = sizeof(sa);
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&sa), len) != 0
        || ::listen(lfd, 1) != 0)
      return fail("listen");
    getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len);
    std::printf("port %d\n", ntohs(sa.sin_port));
    std::printf("static %s\n", hex(s.pub.data(), s.pub.size()).c_str());
    std::fflush(stdout);
    fd = ::accept(lfd, nullptr, nullptr);
    ::close(lfd);
    if (fd < 0)
      return fail("accept");
  }
  if (initiator) {
    std::printf("static %s\n", hex(s.pub.data(), s.pub.size()).c_str());
    std::fflush(stdout);
  }
  handshake_state hs{{find_pattern("XX"), initiator, unhex(prologue_hex), s,
                      {}, {}}};
  while (!hs.finished()) {
    std::vector<uint8_t> m, payload;
    if (hs.my_turn()) {
      std::string p = initiator ? "from crust initiator" : "from crust responder";
      if (!hs.write_message(reinterpret_cast<const uint8_t*>(p.data()),
                            p.size(), m)
          || !send_msg(fd, m))
        return fail("handshake write");
    } else {
      if (!recv_msg(fd, m) || !hs.read_message(m.data(), m.size(), payload))
        return fail("handshake read");
      std::printf("payload %s\n", std::string(payload.begin(), payload.end()).c_str());
    }
  }
  auto [c1, c2] = hs.split();
  auto& tx = initiator ? c1 : c2;
  auto& rx = initiator ? c2 : c1;
  std::printf("remote %s\n", hex(hs.remote_static()->data(), 32).c_str());
  std::printf("hash %s\n", hex(hs.handshake_hash().data(), hash_len).c_str());
  std::fflush(stdout);
  std::string hello = "hello from crust";
  std::vector<uint8_t> out;
  tx.encrypt_with_ad(nullptr, 0, reinterpret_cast<const uint8_t*>(hello.data()),
                     hello.size(), out);
  if (!send_msg(fd, out))
    return fail("send");
  for (;;) {
    std::vector<uint8_t> m, plain;
    if (!recv_msg(fd, m))
      break; // the peer closed: done
    if (!rx.decrypt_with_ad(nullptr, 0, m.data(), m.size(), plain))
      return fail("decrypt");
    std::string reply = "echo:" + std::string(plain.begin(), plain.end());
    out.clear();
    tx.encrypt_with_ad(nullptr, 0, reinterpret_cast<const uint8_t*>(reply.data()),
                       reply.size(), out);
    if (!send_msg(fd, out))
      return fail("send");
  }
  ::close(fd);
  std::printf("done\n");
  return 0;
}
