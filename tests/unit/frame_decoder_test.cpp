#define CAF_SUITE frame_decoder
#include <caf/test/unit_test.hpp>

#include "transports/frame_decoder.hpp"
#include "transports/hello.hpp"

using namespace crust;

namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> xs) {
  std::vector<uint8_t> out;
  for (auto x : xs)
    out.push_back(static_cast<uint8_t>(x));
  return out;
}

} // namespace

CAF_TEST(a ping frame is five bytes on the wire) {
  std::vector<char> out;
  append_frame(out, wire::frame_type::ping, nullptr, 0);
  CAF_CHECK_EQUAL(out, std::vector<char>({0, 0, 0, 1, 4}));
}

CAF_TEST(frames split across reads come out whole and in order) {
  std::vector<char> wire_bytes;
  append_frame(wire_bytes, wire::frame_type::ping, nullptr, 0);
  const char body[] = {1, 'a', 'b', 'c'};
  append_frame(wire_bytes, wire::frame_type::data, body, sizeof(body));
  frame_decoder d{1024};
  frame_view f;
  std::vector<wire::frame_type> seen;
  for (auto c : wire_bytes) { // one byte at a time: the worst split
    d.feed(&c, 1);
    while (d.next(f) == frame_decoder::status::frame) {
      seen.push_back(f.type);
      if (f.type == wire::frame_type::data) {
        CAF_CHECK_EQUAL(f.size, 4u);
        CAF_CHECK_EQUAL(f.body[1], 'a');
      }
    }
  }
  CAF_CHECK_EQUAL(seen.size(), 2u);
  CAF_CHECK(seen[0] == wire::frame_type::ping);
  CAF_CHECK(seen[1] == wire::frame_type::data);
  CAF_CHECK_EQUAL(d.buffered(), 0u);
}

CAF_TEST(an oversize length is rejected before any body arrives) {
  frame_decoder d{1024};
  auto hdr = bytes({0x7f, 0xff, 0xff, 0xff});
  d.feed(hdr.data(), hdr.size());
  frame_view f;
  CAF_CHECK(d.next(f) == frame_decoder::status::violation);
  CAF_CHECK(d.kind() == misbehaviour::oversize);
  CAF_CHECK_EQUAL(d.buffered(), 0u);
  // A broken decoder stays broken and takes no more bytes.
  d.feed(hdr.data(), hdr.size());
  CAF_CHECK(d.next(f) == frame_decoder::status::violation);
  CAF_CHECK_EQUAL(d.buffered(), 0u);
}

CAF_TEST(the exact maximum is accepted) {
  frame_decoder d{1024};
  std::vector<char> out;
  std::vector<char> body(1023, 'x');
  append_frame(out, wire::frame_type::data, body.data(), body.size());
  d.feed(out.data(), out.size());
  frame_view f;
  CAF_CHECK(d.next(f) == frame_decoder::status::frame);
  CAF_CHECK_EQUAL(f.size, 1023u);
}

CAF_TEST(unknown types and empty frames are protocol violations) {
  {
    frame_decoder d{1024};
    auto in = bytes({0, 0, 0, 1, 0x42});
    d.feed(in.data(), in.size());
    frame_view f;
    CAF_CHECK(d.next(f) == frame_decoder::status::violation);
    CAF_CHECK(d.kind() == misbehaviour::protocol_violation);
  }
  {
    frame_decoder d{1024};
    auto in = bytes({0, 0, 0, 0});
    d.feed(in.data(), in.size());
    frame_view f;
    CAF_CHECK(d.next(f) == frame_decoder::status::violation);
  }
}

CAF_TEST(a truncated frame waits for more bytes) {
  frame_decoder d{1024};
  auto in = bytes({0, 0, 0, 5, 3, 1, 'a'});
  d.feed(in.data(), in.size());
  frame_view f;
  CAF_CHECK(d.next(f) == frame_decoder::status::need_more);
}

CAF_TEST(hello round trips and rejects a wrong size) {
  hello h{1, peer_id::random(), 0x0102030405060708ull};
  std::vector<char> out;
  append_hello(out, h);
  CAF_CHECK_EQUAL(out.size(), wire::header_size + wire::hello_size);
  frame_decoder d{1024};
  d.feed(out.data(), out.size());
  frame_view f;
  CAF_REQUIRE(d.next(f) == frame_decoder::status::frame);
  auto parsed = parse_hello(f.body, f.size);
  CAF_REQUIRE(parsed);
  CAF_CHECK(parsed->id == h.id);
  CAF_CHECK_EQUAL(parsed->session, h.session);
  CAF_CHECK(!parse_hello(f.body, f.size - 1));
}
