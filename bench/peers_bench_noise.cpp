// crust-bench-peers: many crust dialers in one process, for the connection
// rate and the idle memory. crust keeps one live connection per peer id,
// so N connections need N identities; N crust services (each an actor
// system) would measure CAF's start-up, not crust. Instead each dial here
// is the library's own sans-I/O secure_channel (transports/) with an
// identity of its own, driven over epoll: the same Noise XX handshake and
// HELLO a crust dialer sends, then crust's selection rule (the lower peer
// id sends SELECT). A connection counts as done when the server's
// OBSERVED frame arrives: the server sends it once the connection is
// selected, i.e. live at the service and reported to its handler.
#include <sodium.h>

#include <cstring>

#include "bench/peers_bench.hpp"
#include "bench/peers_bench_dial.hpp"
#include "transports/identity.hpp"
#include "transports/secure_channel.hpp"

namespace peers_bench {

namespace {

struct dialer_key {
  crust::identity id;
  crust::noise::keypair noise;
};

class noise_session : public dial_session {
public:
  explicit noise_session(const dialer_key& k) : ch_(settings(k)) {
  }

  void start(std::vector<char>& out) override {
    ch_.start(out);
  }

  int on_bytes(const char* data, size_t size, std::vector<char>& out) override {
    ch_.feed(data, size);
    crust::frame_view f;
    for (;;) {
      switch (ch_.next(out, f)) {
        case crust::secure_channel::event::need_more:
          return 0;
        case crust::secure_channel::event::failed:
          why_ = "noise: " + ch_.detail();
          return -1;
        case crust::secure_channel::event::established:
          // The lower id leads (node/conn_table.hpp): it selects.
          if (me_ < ch_.remote().id
              && !ch_.seal(crust::wire::frame_type::select, nullptr, 0,
                           nullptr, 0, out)) {
            why_ = "noise: cannot seal SELECT";
            return -1;
          }
          break;
        case crust::secure_channel::event::frame:
          if (f.type == crust::wire::frame_type::observed)
            return 1;
          break; // SELECT from a leading server, pings: nothing to do
      }
    }
  }

  // crust closes a peer silent for its heartbeat timeout (20 s): a PING
  // now and then, as a crust dialer's heartbeat would send.
  bool keepalive(std::vector<char>& out) override {
    return ch_.established()
           && ch_.seal(crust::wire::frame_type::ping, nullptr, 0, nullptr, 0,
                       out);
  }

  std::string why() const override {
    return why_;
  }

private:
  crust::secure_channel::settings settings(const dialer_key& k) {
    me_ = k.id.id();
    crust::secure_channel::settings s;
    s.initiator = true;
    s.static_key = k.noise;
    uint64_t session = 0;
    randombytes_buf(&session, sizeof(session)); // a fresh start each dial
    s.local = crust::hello{me_, session, false};
    s.network_name = "crust"; // service_options' default
    return s;
  }

  crust::peer_id me_;
  crust::secure_channel ch_;
  std::string why_;
};

} // namespace

int noise_client(const job& j) {
  raise_fd_limit();
  bool hold = j.what == test::idle;
  int count = hold ? j.conns / j.clients : 0;
  // Identities first (outside the idle baseline's growth and the rate's
  // window): one per held connection, or a pool the dials take in turn,
  // large enough that an identity's earlier connection is long gone.
  std::vector<dialer_key> keys;
  int n_keys = hold ? count : 1024;
  keys.reserve(size_t(n_keys));
  for (int i = 0; i < n_keys; ++i) {
    auto id = crust::identity::ephemeral();
    auto noise = id.noise_static();
    keys.push_back({std::move(id), noise});
  }
  shared->clients_ready.fetch_add(1);
  if (hold && !rudp_bench::wait_for([] { return shared->go.load() != 0; }, 60))
    return 1;
  auto r = dial_many(shared->port, j.in_flight, count, hold, hold ? 90 : 30,
                     [&](int i) {
                       return std::make_unique<noise_session>(
                         keys[size_t(i) % keys.size()]);
                     },
                     [] { shared->clients_holding.fetch_add(1); });
  if (hold && r.done < uint64_t(count)) {
    PEERS_ERROR("noise client: %llu of %d connections (%s)",
                (unsigned long long)r.done, count, r.first_error.c_str());
    return 1;
  }
  if (!hold && r.failed > 0 && r.done == 0) {
    PEERS_ERROR("noise client: no connection (%s)", r.first_error.c_str());
    return 1;
  }
  return 0;
}

} // namespace peers_bench
