// libFuzzer target: any UDP datagram anyone can send to the rudp socket.
// Invariants: no crash; a packet that parses encodes back to exactly the
// bytes it came from (no two readings of one datagram); a channel with a
// handshake of its own in flight takes it without crashing or answering
// more than one datagram. A PROBE or PROBE_ACK is also fed again with a
// valid MAC for an attempt the channel watches (the fuzzer cannot forge
// one), so that the fields behind the MAC are read too: one that opens
// encodes back to its bytes, and is answered with at most one datagram.
// Input in STUN's range is also fed as an answer to a STUN question the
// channel has open (its transaction id copied in, from the server asked),
// so the response parser behind the id check is reached: nothing is ever
// sent in reply.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tests/fuzz/fixed_identity.hpp"
#include "transports/datagram/channel.hpp"
#include "transports/datagram/packet.hpp"
#include "transports/datagram/probe.hpp"

using namespace crust::datagram;

namespace {

crust::datagram_channel::settings fuzz_settings() {
  crust::datagram_channel::settings s;
  auto& me = crust::fuzz::fixed_identity();
  s.static_key = me.noise_static();
  s.local = crust::hello{me.id(), 1, false};
  s.network_name = "fuzz";
  return s;
}

crust::datagram_channel& channel() {
  static auto now = crust::datagram_channel::clock::now();
  static crust::datagram_channel ch{fuzz_settings(), now};
  static bool dialled = false;
  if (!dialled) {
    dialled = true;
    ch.dial(crust::ip_endpoint{"10.0.0.2", 2000}, std::nullopt, false, now);
  }
  return ch;
}

const crust::attempt_id watched{{0xA7}};
const crust::probe_key watched_key{{0x4B}};

void sealed_probe(crust::datagram_channel& ch, const uint8_t* data,
                  size_t size) {
  static bool watching = ch.watch(watched, watched_key, true);
  if (!watching || !probe_attempt(data, size))
    return;
  std::vector<uint8_t> p(data, data + size);
  std::copy(watched.begin(), watched.end(), p.begin() + 1);
  seal_probe(p.data(), p.size(), watched_key);
  ch.out().clear();
  ch.receive(crust::ip_endpoint{"10.0.0.3", 3000}, p.data(), p.size(),
             crust::datagram_channel::clock::now());
  if (ch.out().size() > 1)
    abort();
  ch.out().clear();
  ch.events().clear();
  auto got = open_probe(p.data(), p.size(), watched_key);
  if (!got)
    return;
  auto again = got->ack
                 ? encode_probe_ack(got->attempt, watched_key,
                                    got->from_offerer, got->nonce,
                                    got->observed)
                 : encode_probe(got->attempt, watched_key, got->from_offerer,
                                got->nonce);
  if (again != p)
    abort();
}

const crust::ip_endpoint stun_server{"10.0.0.4", 3478};

// A channel of its own for STUN, with a clock the fuzzer moves, so that
// questions left unanswered time out without touching the other's
// handshake.
void answer_to_open_question(const uint8_t* data, size_t size) {
  if (!is_stun(data, size) || size < 20)
    return;
  static auto now = crust::datagram_channel::clock::now();
  static crust::datagram_channel ch{fuzz_settings(), now};
  now += std::chrono::seconds(5);
  ch.tick(now); // retries, and gives up on old questions
  ch.out().clear();
  ch.events().clear();
  if (ch.ask_stun(stun_server, now) == 0)
    return;
  if (ch.out().size() != 1)
    abort();
  std::vector<uint8_t> p(data, data + size);
  std::copy(ch.out()[0].bytes.begin() + 8, ch.out()[0].bytes.begin() + 20,
            p.begin() + 8);
  ch.out().clear();
  ch.receive(stun_server, p.data(), p.size(), now);
  if (!ch.out().empty() || ch.events().size() > 1)
    abort(); // STUN is never answered; one question ends at most
  ch.events().clear();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& ch = channel();
  answer_to_open_question(data, size);
  ch.out().clear();
  ch.receive(crust::ip_endpoint{"10.0.0.2", 2000}, data, size,
             crust::datagram_channel::clock::now());
  ch.flush(crust::datagram_channel::clock::now());
  if (ch.out().size() > 1)
    abort();
  ch.events().clear();
  sealed_probe(ch, data, size);
  auto p = parse(data, size);
  if (!p)
    return 0;
  std::vector<uint8_t> again;
  switch (p->what) {
    case kind::init:
      again = encode_init(p->sender, p->body, p->cookie ? &*p->cookie : nullptr);
      break;
    case kind::response:
      again = encode_response(p->sender, p->receiver, p->body);
      break;
    case kind::final:
      again = encode_final(p->receiver, p->body);
      break;
    case kind::cookie:
      again = encode_cookie(p->receiver, *p->cookie);
      break;
    case kind::data:
      again = encode_data_header(p->receiver, p->counter);
      again.insert(again.end(), p->body, p->body + p->body_size);
      break;
  }
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0)
    abort();
  return 0;
}
