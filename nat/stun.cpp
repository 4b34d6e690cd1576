#include "nat/stun.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include "crust/errors.hpp"
#include "transports/bytes.hpp"

namespace crust::stun {

namespace {

constexpr uint16_t binding_request_type = 0x0001;
constexpr uint16_t binding_success = 0x0101;
constexpr uint16_t binding_error = 0x0111;
constexpr uint16_t attr_mapped_address = 0x0001;
constexpr uint16_t attr_change_request = 0x0003;
constexpr uint16_t attr_other_address = 0x802c;
constexpr uint16_t attr_error_code = 0x0009;
constexpr uint16_t attr_xor_mapped_address = 0x0020;
constexpr uint16_t attr_fingerprint = 0x8028;
constexpr uint32_t fingerprint_xor = 0x5354554e;

caf::error bad(const std::string& why) {
  return make_error(errc::invalid_config, "STUN: " + why);
}

// A (XOR-)MAPPED-ADDRESS value; `mask` is the cookie and transaction id
// for the XOR form, empty for the plain one.
caf::expected<ip_endpoint> address(const uint8_t* v, size_t len,
                                      const uint8_t* mask) {
  if (len < 4)
    return bad("short address");
  ip_endpoint a;
  auto family = v[1];
  a.port = bytes::get<uint16_t>(v + 2);
  if (mask)
    a.port ^= static_cast<uint16_t>(magic_cookie >> 16);
  size_t n = family == 0x01 ? 4 : family == 0x02 ? 16 : 0;
  if (n == 0 || len != 4 + n)
    return bad("bad address family or length");
  uint8_t raw[16];
  for (size_t i = 0; i < n; ++i)
    raw[i] = v[4 + i] ^ (mask ? mask[i] : 0);
  char text[INET6_ADDRSTRLEN];
  inet_ntop(n == 16 ? AF_INET6 : AF_INET, raw, text, sizeof(text));
  a.ip = text;
  return a;
}

} // namespace

transaction_id new_transaction_id() {
  transaction_id id;
  randombytes_buf(id.data(), id.size());
  return id;
}

uint32_t crc32(const uint8_t* data, size_t size) {
  uint32_t crc = 0xffffffff;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
  }
  return ~crc;
}

std::vector<uint8_t> binding_request(const transaction_id& id,
                                     uint8_t change) {
  std::vector<uint8_t> out;
  bytes::put<uint16_t>(out, binding_request_type);
  bytes::put<uint16_t>(out, change != 0 ? 16 : 8); // the attributes that follow
  bytes::put<uint32_t>(out, magic_cookie);
  out.insert(out.end(), id.begin(), id.end());
  if (change != 0) {
    bytes::put<uint16_t>(out, attr_change_request);
    bytes::put<uint16_t>(out, 4);
    bytes::put<uint32_t>(out, change & (change_ip | change_port));
  }
  auto crc = crc32(out.data(), out.size()) ^ fingerprint_xor;
  bytes::put<uint16_t>(out, attr_fingerprint);
  bytes::put<uint16_t>(out, 4);
  bytes::put<uint32_t>(out, crc);
  return out;
}

std::optional<transaction_id> response_id(const uint8_t* data, size_t size) {
  if (size < header_size || (data[0] & 0xc0) != 0 || bytes::get<uint32_t>(data + 4) != magic_cookie)
    return std::nullopt;
  transaction_id id;
  std::copy(data + 8, data + 20, id.begin());
  return id;
}

caf::expected<binding_response>
parse_binding_response(const uint8_t* data, size_t size,
                       const transaction_id& id) {
  auto got = response_id(data, size);
  if (!got)
    return bad("not a STUN message");
  if (*got != id)
    return bad("another transaction");
  auto type = bytes::get<uint16_t>(data);
  size_t length = bytes::get<uint16_t>(data + 2);
  if (length % 4 != 0 || header_size + length != size)
    return bad("length " + std::to_string(length) + " does not match the "
               + std::to_string(size) + " bytes received");
  if (type != binding_success && type != binding_error)
    return bad("not a Binding response");
  uint8_t mask[16];
  std::copy(data + 4, data + 20, mask); // cookie, then transaction id
  std::optional<ip_endpoint> xor_mapped, mapped, other;
  std::string error_text;
  size_t pos = header_size;
  while (pos < size) {
    if (pos + 4 > size)
      return bad("truncated attribute header");
    auto at = bytes::get<uint16_t>(data + pos);
    size_t len = bytes::get<uint16_t>(data + pos + 2);
    auto value = data + pos + 4;
    size_t padded = (len + 3) & ~size_t{3};
    if (pos + 4 + padded > size)
      return bad("truncated attribute");
    if (at == attr_fingerprint) {
      if (len != 4 || pos + 8 != size)
        return bad("FINGERPRINT is not the last attribute");
      if ((crc32(data, pos) ^ fingerprint_xor) != bytes::get<uint32_t>(value))
        return bad("FINGERPRINT does not match");
    } else if (at == attr_xor_mapped_address && !xor_mapped) {
      auto a = address(value, len, mask);
      if (!a)
        return a.error();
      xor_mapped = *a;
    } else if (at == attr_mapped_address && !mapped) {
      auto a = address(value, len, nullptr);
      if (!a)
        return a.error();
      mapped = *a;
    } else if (at == attr_other_address && !other) {
      auto a = address(value, len, nullptr);
      if (!a)
        return a.error();
      other = *a;
    } else if (at == attr_error_code && len >= 4) {
      error_text = std::to_string((value[2] & 0x07) * 100 + value[3]) + " "
                   + std::string(reinterpret_cast<const char*>(value + 4),
                                 len - 4);
    }
    pos += 4 + padded;
  }
  if (type == binding_error)
    return bad("error response " + (error_text.empty() ? "" : error_text));
  if (!xor_mapped && !mapped)
    return bad("no mapped address");
  binding_response r;
  static_cast<ip_endpoint&>(r) = xor_mapped ? *xor_mapped : *mapped;
  r.other = other;
  return r;
}

retransmission::step retransmission::poll(clock::time_point now,
                                          clock::time_point& deadline) {
  if (sent_ == 0) {
    sent_ = 1;
    interval_ = rto_;
    next_ = now + interval_;
    deadline = next_;
    return step::send;
  }
  if (now < next_) {
    deadline = next_;
    return step::wait;
  }
  if (sent_ >= sends_)
    return step::give_up;
  ++sent_;
  interval_ *= 2;
  // After the last send, wait 16 RTO (RFC 8489's Rm) instead.
  next_ = now + (sent_ == sends_ ? rto_ * 16 : interval_);
  deadline = next_;
  return step::send;
}

} // namespace crust::stun
