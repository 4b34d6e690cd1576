// crust-bench-peers: ZeroMQ with CURVE security (libzmq 4.3, CurveZMQ:
// Curve25519 + XSalsa20-Poly1305), what a systems programmer would use
// instead. One ROUTER socket serves; clients are DEALER sockets. ZeroMQ's
// own backpressure (the high-water mark, 1,000 messages by default) paces
// the stream, as it would an application. A connection with full
// handshake: a new DEALER connects, sends one byte (queued until CURVE's
// handshake is done), the server counts it and answers; the client closes
// on the answer.
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/peers_bench.hpp"

namespace peers_bench {

bool zmq_make_keys() {
  return zmq_curve_keypair(shared->zmq_public, shared->zmq_secret) == 0;
}

namespace {

void* make_dealer(void* ctx, const char* pub, const char* sec) {
  void* s = zmq_socket(ctx, ZMQ_DEALER);
  if (!s)
    return nullptr;
  int zero = 0;
  zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
  zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, shared->zmq_public, 40);
  zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
  zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
  auto addr = "tcp://127.0.0.1:" + std::to_string(shared->port);
  if (zmq_connect(s, addr.c_str()) != 0) {
    zmq_close(s);
    return nullptr;
  }
  return s;
}

} // namespace

int zmq_server(const job& j) {
  raise_fd_limit();
  void* ctx = zmq_ctx_new();
  zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 64);
  void* s = zmq_socket(ctx, ZMQ_ROUTER);
  int one = 1, zero = 0;
  zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one));
  zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, shared->zmq_secret, 40);
  zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
  // ZeroMQ listens with a backlog of 100 by default; 128 dials at once
  // would then wait for SYN retries. The others listen with 4096.
  int backlog = 4096;
  zmq_setsockopt(s, ZMQ_BACKLOG, &backlog, sizeof(backlog));
  if (zmq_bind(s, "tcp://127.0.0.1:*") != 0) {
    PEERS_ERROR("zmq server: bind: %s", zmq_strerror(errno));
    return 1;
  }
  char ep[128];
  size_t len = sizeof(ep);
  zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len);
  const char* colon = std::strrchr(ep, ':');
  shared->port = uint16_t(std::atoi(colon ? colon + 1 : "0"));
  shared->server_ready = 1;
  bool greet = j.what != test::stream;
  zmq_msg_t id, body;
  zmq_msg_init(&id);
  zmq_msg_init(&body);
  while (!shared->base.abort) {
    zmq_pollitem_t item{s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 50) <= 0)
      continue;
    // Everything that is there, then poll again.
    while (zmq_msg_recv(&id, s, ZMQ_DONTWAIT) >= 0) {
      if (zmq_msg_recv(&body, s, 0) < 0)
        break;
      auto size = zmq_msg_size(&body);
      auto* p = static_cast<const uint8_t*>(zmq_msg_data(&body));
      if (greet || (size == ping_size && p[0] == ping_mark)) {
        if (greet)
          shared->completed.fetch_add(1, std::memory_order_relaxed);
        zmq_msg_send(&id, s, ZMQ_SNDMORE);
        zmq_msg_send(&body, s, 0);
        continue;
      }
      shared->rx_bytes.fetch_add(size, std::memory_order_relaxed);
      shared->rx_msgs.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return 0;
}

namespace {

int zmq_stream(void* ctx, const job& j, const char* pub, const char* sec) {
  void* s = make_dealer(ctx, pub, sec);
  if (!s) {
    PEERS_ERROR("zmq client: connect: %s", zmq_strerror(errno));
    return 1;
  }
  int timeout = 5000;
  zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
  std::vector<uint8_t> ping(ping_size, ping_mark), in(ping_size);
  bool pinged = ping_pong(j, [&](int) {
    if (zmq_send(s, ping.data(), ping.size(), 0) < 0
        || zmq_recv(s, in.data(), in.size(), 0) < 0) {
      PEERS_ERROR("zmq client: ping: %s", zmq_strerror(errno));
      return false;
    }
    return true;
  });
  if (!pinged)
    return 1;
  auto msg = rudp_bench::stream_payload(j.size);
  // A send blocked at the high-water mark gives up now and then, so the
  // loop sees the stop flag.
  int send_timeout = 100;
  zmq_setsockopt(s, ZMQ_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  shared->streaming = 1;
  while (!shared->base.stop && !shared->base.abort)
    if (zmq_send(s, msg.data(), msg.size(), 0) < 0 && errno != EAGAIN)
      break;
  return 0;
}

// Dials `in_flight` at once; each answered one is closed and replaced.
int zmq_connects(void* ctx, const job& j, const char* pub, const char* sec) {
  std::vector<void*> socks;
  uint8_t hi = 'h', back[8];
  auto open_one = [&] {
    void* s = make_dealer(ctx, pub, sec);
    if (s)
      zmq_send(s, &hi, 1, 0);
    return s;
  };
  shared->clients_ready.fetch_add(1);
  auto deadline = now_s() + 30;
  while (!shared->base.stop && !shared->base.abort && now_s() < deadline) {
    while (socks.size() < size_t(j.in_flight)) {
      void* s = open_one();
      if (!s) {
        PEERS_ERROR("zmq client: socket: %s", zmq_strerror(errno));
        return 1;
      }
      socks.push_back(s);
    }
    std::vector<zmq_pollitem_t> items;
    for (void* s : socks)
      items.push_back({s, 0, ZMQ_POLLIN, 0});
    if (zmq_poll(items.data(), int(items.size()), 20) <= 0)
      continue;
    for (size_t i = 0; i < items.size(); ++i)
      if (items[i].revents & ZMQ_POLLIN) {
        zmq_recv(socks[i], back, sizeof(back), ZMQ_DONTWAIT);
        zmq_close(socks[i]);
        socks[i] = nullptr;
      }
    socks.erase(std::remove(socks.begin(), socks.end(), nullptr), socks.end());
  }
  return 0;
}

// Holds this client's share of the idle connections, each answered once.
int zmq_hold(void* ctx, const job& j, const char* pub, const char* sec) {
  int count = j.conns / j.clients;
  shared->clients_ready.fetch_add(1);
  if (!rudp_bench::wait_for([] { return shared->go.load() != 0; }, 60))
    return 1;
  std::vector<void*> socks;
  uint8_t hi = 'h', back[8];
  int timeout = 60000;
  for (int i = 0; i < count && !shared->base.abort; ++i) {
    void* s = make_dealer(ctx, pub, sec);
    if (!s) {
      PEERS_ERROR("zmq client: socket %d: %s", i, zmq_strerror(errno));
      return 1;
    }
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    zmq_send(s, &hi, 1, 0);
    socks.push_back(s);
  }
  for (void* s : socks) {
    if (zmq_recv(s, back, sizeof(back), 0) < 0) {
      PEERS_ERROR("zmq client: no answer: %s", zmq_strerror(errno));
      return 1;
    }
    shared->client_conns.fetch_add(1);
  }
  shared->clients_holding.fetch_add(1);
  rudp_bench::wait_for([] { return shared->base.abort.load() != 0; }, 150);
  return 0;
}

} // namespace

int zmq_client(const job& j) {
  raise_fd_limit();
  void* ctx = zmq_ctx_new();
  // Closed sockets linger in ZeroMQ's reaper for a while: room for them.
  zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, j.conns / j.clients + 8 * j.in_flight + 1024);
  char pub[41], sec[41];
  zmq_curve_keypair(pub, sec);
  switch (j.what) {
    case test::stream:
      return zmq_stream(ctx, j, pub, sec);
    case test::connect:
      return zmq_connects(ctx, j, pub, sec);
    case test::idle:
      return zmq_hold(ctx, j, pub, sec);
  }
  return 1;
}

} // namespace peers_bench
