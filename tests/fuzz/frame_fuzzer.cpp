// libFuzzer target: bytes from a peer through the secure channel, as a
// connection feeds them: record splitting and the handshake for strangers,
// then (over an established channel) decryption, frame types and message
// reassembly for authenticated peers. Invariants: the channel never holds
// more than one record plus one read, and once failed it stays failed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>

#include "transports/identity.hpp"
#include "transports/inbox.hpp"
#include "transports/secure_channel.hpp"

using namespace crust;

namespace {

secure_channel::settings settings_for(const identity& me, bool initiator,
                                      uint32_t max_record) {
  secure_channel::settings s;
  s.initiator = initiator;
  s.static_key = me.noise_static();
  s.local = hello{me.id(), 1};
  s.network_name = "fuzz";
  s.max_record = max_record;
  return s;
}

const identity& us() {
  static const identity id = identity::ephemeral();
  return id;
}

const identity& them() {
  static const identity id = identity::ephemeral();
  return id;
}

// Feeds `data` in reads of `read` bytes; checks the invariants.
void drive(secure_channel& ch, const uint8_t* data, size_t size, size_t read,
           uint32_t max_record) {
  inbox in{1 << 16};
  bool failed = false;
  for (size_t off = 0; off < size; off += read) {
    auto n = std::min(read, size - off);
    ch.feed(data + off, n);
    if (ch.buffered() > max_record + wire::record_length_size + read)
      abort(); // the channel grew past its bound
    for (;;) {
      std::vector<char> out;
      frame_view f;
      auto ev = ch.next(out, f);
      if (ev == secure_channel::event::need_more)
        break;
      if (ev == secure_channel::event::failed) {
        failed = true;
        break;
      }
      if (failed)
        abort(); // a failed channel produced something
      std::vector<uint8_t> msg;
      priority lane;
      if (ev == secure_channel::event::frame
          && f.type == wire::frame_type::data)
        in.on_data(f.body, f.size, msg, lane);
      if (ev == secure_channel::event::frame
          && f.type == wire::frame_type::batch) {
        wire::batch_reader items{f.body, f.size};
        const uint8_t* item = nullptr;
        size_t n = 0;
        while (items.next(item, n)) {
          if (item < f.body || item + n > f.body + f.size)
            abort(); // an item outside its frame
          in.on_data(item, n, msg, lane);
        }
      }
    }
  }
}

// An established pair, made once: each input starts from a copy of it, so
// the fuzzer spends its time on records, not on X25519.
struct established_pair {
  secure_channel tx;
  secure_channel rx;
};

const established_pair& pair_for(uint32_t max_record) {
  static std::map<uint32_t, established_pair> pairs;
  auto i = pairs.find(max_record);
  if (i != pairs.end())
    return i->second;
  established_pair p{secure_channel{settings_for(them(), true, max_record)},
                     secure_channel{settings_for(us(), false, max_record)}};
  std::vector<char> to_rx, to_tx;
  frame_view f;
  p.tx.start(to_rx);
  p.rx.feed(to_rx.data(), to_rx.size());
  p.rx.next(to_tx, f);
  p.tx.feed(to_tx.data(), to_tx.size());
  to_rx.clear();
  if (p.tx.next(to_rx, f) != secure_channel::event::established)
    abort();
  p.rx.feed(to_rx.data(), to_rx.size());
  std::vector<char> none;
  if (p.rx.next(none, f) != secure_channel::event::established)
    abort();
  return pairs.emplace(max_record, std::move(p)).first->second;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2)
    return 0;
  const uint32_t limits[] = {wire::min_record_size, 4096, wire::max_record_size};
  auto max_record = limits[data[0] % 3];
  bool authenticated = data[0] & 4;
  size_t read = 1 + data[1] % 64;
  data += 2;
  size -= 2;
  if (!authenticated) {
    secure_channel rx{settings_for(us(), false, max_record)};
    drive(rx, data, size, read, max_record);
    return 0;
  }
  // Over an established channel, the input chooses sealed frames: each is a
  // type byte, a length byte and that many body bytes.
  auto pair = pair_for(max_record);
  auto& tx = pair.tx;
  auto& rx = pair.rx;
  std::vector<char> wire_bytes;
  for (size_t i = 0; i + 2 <= size;) {
    auto type = static_cast<wire::frame_type>(data[i]);
    size_t len = std::min<size_t>(data[i + 1], size - i - 2);
    tx.seal(type, data + i + 2, len, nullptr, 0, wire_bytes);
    i += 2 + len;
  }
  drive(rx, reinterpret_cast<const uint8_t*>(wire_bytes.data()),
        wire_bytes.size(), read, max_record);
  return 0;
}
