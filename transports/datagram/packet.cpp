#include "transports/datagram/packet.hpp"

#include "transports/bytes.hpp"

namespace crust::datagram {

namespace {

std::optional<packet> refuse(std::string* why, const char* reason) {
  if (why)
    *why = reason;
  return std::nullopt;
}

} // namespace

std::optional<packet> parse(const uint8_t* data, size_t size,
                            std::string* why) {
  if (size < 5)
    return refuse(why, "datagram: too short");
  if (size > max_size)
    return refuse(why, "datagram: too long");
  packet p;
  p.what = static_cast<kind>(data[0]);
  auto rest = data + 1;
  auto left = size - 1;
  switch (p.what) {
    case kind::init: {
      if (size != init_size)
        return refuse(why, "datagram: INIT of the wrong size");
      p.sender = bytes::get<uint32_t>(rest);
      p.body = rest + 4;
      p.body_size = message1_size;
      auto flag = rest[4 + message1_size];
      if (flag > 1)
        return refuse(why, "datagram: INIT with an unknown cookie flag");
      // One reading per datagram: what carries nothing must be zero.
      auto unused = rest + 4 + message1_size + 1 + (flag == 1 ? 16 : 0);
      for (auto q = unused; q < data + size; ++q)
        if (*q != 0)
          return refuse(why, "datagram: INIT padding is not zero");
      if (flag == 1) {
        cookie_bytes c;
        auto at = rest + 4 + message1_size + 1;
        std::copy(at, at + c.size(), c.begin());
        p.cookie = c;
      }
      return p;
    }
    case kind::response:
      if (left != 8 + message2_size)
        return refuse(why, "datagram: RESPONSE of the wrong size");
      p.sender = bytes::get<uint32_t>(rest);
      p.receiver = bytes::get<uint32_t>(rest + 4);
      p.body = rest + 8;
      p.body_size = message2_size;
      return p;
    case kind::final:
      if (left != 4 + message3_size)
        return refuse(why, "datagram: FINAL of the wrong size");
      p.receiver = bytes::get<uint32_t>(rest);
      p.body = rest + 4;
      p.body_size = message3_size;
      return p;
    case kind::cookie: {
      if (left != 4 + 16)
        return refuse(why, "datagram: COOKIE of the wrong size");
      p.receiver = bytes::get<uint32_t>(rest);
      cookie_bytes c;
      std::copy(rest + 4, rest + left, c.begin());
      p.cookie = c;
      return p;
    }
    case kind::data:
      if (left < 12 + noise::tag_len)
        return refuse(why, "datagram: DATA too short");
      p.receiver = bytes::get<uint32_t>(rest);
      p.counter = bytes::get<uint64_t>(rest + 4);
      p.body = rest + 12;
      p.body_size = left - 12;
      return p;
  }
  return refuse(why, "datagram: unknown type");
}

std::vector<uint8_t> encode_init(uint32_t sender, const uint8_t* message1,
                                 const cookie_bytes* cookie) {
  std::vector<uint8_t> out{static_cast<uint8_t>(kind::init)};
  bytes::put<uint32_t>(out, sender);
  out.insert(out.end(), message1, message1 + message1_size);
  out.push_back(cookie ? 1 : 0);
  if (cookie)
    out.insert(out.end(), cookie->begin(), cookie->end());
  out.resize(init_size, 0);
  return out;
}

std::vector<uint8_t> encode_response(uint32_t sender, uint32_t receiver,
                                     const uint8_t* message2) {
  std::vector<uint8_t> out{static_cast<uint8_t>(kind::response)};
  bytes::put<uint32_t>(out, sender);
  bytes::put<uint32_t>(out, receiver);
  out.insert(out.end(), message2, message2 + message2_size);
  return out;
}

std::vector<uint8_t> encode_final(uint32_t receiver, const uint8_t* message3) {
  std::vector<uint8_t> out{static_cast<uint8_t>(kind::final)};
  bytes::put<uint32_t>(out, receiver);
  out.insert(out.end(), message3, message3 + message3_size);
  return out;
}

std::vector<uint8_t> encode_cookie(uint32_t receiver, const cookie_bytes& c) {
  std::vector<uint8_t> out{static_cast<uint8_t>(kind::cookie)};
  bytes::put<uint32_t>(out, receiver);
  out.insert(out.end(), c.begin(), c.end());
  return out;
}

std::vector<uint8_t> encode_data_header(uint32_t receiver, uint64_t counter) {
  std::vector<uint8_t> out(data_header_size);
  write_data_header(out.data(), receiver, counter);
  return out;
}

void write_data_header(uint8_t* out, uint32_t receiver, uint64_t counter) {
  out[0] = static_cast<uint8_t>(kind::data);
  bytes::store<uint32_t>(out + 1, receiver);
  bytes::store<uint64_t>(out + 5, counter);
}

} // namespace crust::datagram
