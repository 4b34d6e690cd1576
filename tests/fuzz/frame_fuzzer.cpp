// libFuzzer target: bytes from a peer through the frame decoder, the HELLO
// parser and message reassembly, exactly as a connection feeds them.
// Invariants: the decoder never holds more than one maximum frame plus one
// read, and once broken it stays broken.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "transports/frame_decoder.hpp"
#include "transports/hello.hpp"
#include "transports/inbox.hpp"

using namespace crust;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2)
    return 0;
  // First byte: the frame limit; second: how the stream is split in reads.
  const uint32_t limits[] = {wire::min_frame_size, 4096, 65536};
  auto max_frame = limits[data[0] % 3];
  size_t read = 1 + data[1] % 64;
  data += 2;
  size -= 2;
  frame_decoder dec{max_frame};
  inbox in{1 << 16};
  bool broken = false;
  for (size_t off = 0; off < size; off += read) {
    auto n = std::min(read, size - off);
    dec.feed(data + off, n);
    if (dec.buffered() > max_frame + wire::length_size + read)
      abort(); // the decoder grew past its bound
    frame_view f;
    for (;;) {
      auto st = dec.next(f);
      if (st == frame_decoder::status::need_more)
        break;
      if (st == frame_decoder::status::violation) {
        broken = true;
        break;
      }
      if (broken)
        abort(); // a broken decoder produced a frame
      if (f.size + 1 > max_frame)
        abort();
      if (f.type == wire::frame_type::hello)
        (void) parse_hello(f.body, f.size);
      if (f.type == wire::frame_type::data) {
        std::vector<uint8_t> msg;
        priority lane;
        if (in.on_data(f.body, f.size, msg, lane) == inbox::status::complete
            && msg.size() > (1u << 16))
          abort();
      }
    }
  }
  return 0;
}
