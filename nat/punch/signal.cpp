#include "nat/punch/signal.hpp"

#include <algorithm>

#include "crust/errors.hpp"
#include "transports/bytes.hpp"
#include "transports/ip_range.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

constexpr char context[] = "crust-punch";

// What the signature covers: a context string, the protocol version, the
// network name, sender and receiver, then the body before the signature.
std::vector<uint8_t> signed_text(const std::string& network,
                                 const peer_id& from, const peer_id& to,
                                 const uint8_t* body, size_t size) {
  std::vector<uint8_t> out(context, context + sizeof(context) - 1);
  out.push_back(wire::protocol_version);
  out.push_back(static_cast<uint8_t>(network.size()));
  out.insert(out.end(), network.begin(), network.end());
  out.insert(out.end(), from.bytes.begin(), from.bytes.end());
  out.insert(out.end(), to.bytes.begin(), to.bytes.end());
  out.insert(out.end(), body, body + size);
  return out;
}

caf::error bad(const std::string& why) {
  return make_error(errc::invalid_config, "punch signal: " + why);
}

bool put_candidate(std::vector<uint8_t>& out, const candidate& c) {
  auto addr = to_ip_bytes(c.at.ip);
  if (!addr || c.at.port == 0)
    return false;
  out.push_back(static_cast<uint8_t>(c.proto));
  out.push_back(static_cast<uint8_t>(c.kind));
  bytes::put<uint32_t>(out, c.priority);
  out.push_back(addr->family);
  out.insert(out.end(), addr->addr.begin(), addr->addr.begin() + addr->size());
  bytes::put<uint16_t>(out, c.at.port);
  return true;
}

// A cursor over the signed part of a signal.
struct reader {
  const uint8_t* p;
  size_t left;

  bool take(size_t n, const uint8_t*& at) {
    if (left < n)
      return false;
    at = p;
    p += n;
    left -= n;
    return true;
  }

  bool u8(uint8_t& x) {
    const uint8_t* at;
    if (!take(1, at))
      return false;
    x = *at;
    return true;
  }
};

caf::error read_candidate(reader& r, candidate& c) {
  const uint8_t* at;
  uint8_t proto, kind, family;
  if (!r.u8(proto) || !r.u8(kind) || !r.take(4, at))
    return bad("truncated candidate");
  if (proto != static_cast<uint8_t>(transport::tcp)
      && proto != static_cast<uint8_t>(transport::rudp))
    return bad("candidate transport " + std::to_string(proto));
  if (kind > max_candidate_kind)
    return bad("candidate kind " + std::to_string(kind));
  c.proto = static_cast<transport>(proto);
  c.kind = static_cast<candidate_kind>(kind);
  c.priority = bytes::get<uint32_t>(at);
  if (!r.u8(family) || (family != 4 && family != 6))
    return bad("candidate address family");
  if (!r.take(family == 4 ? 4 : 16, at))
    return bad("truncated candidate");
  auto ip = from_ip_bytes(family, at);
  if (!ip)
    return bad("an IPv4 address written as IPv6");
  c.at.ip = std::move(*ip);
  if (!r.take(2, at))
    return bad("truncated candidate");
  c.at.port = bytes::get<uint16_t>(at);
  if (c.at.port == 0)
    return bad("candidate port 0");
  return caf::none;
}

} // namespace

std::vector<uint8_t> signal_body(const punch_signal& s) {
  std::vector<uint8_t> body;
  body.push_back(static_cast<uint8_t>(s.kind));
  body.insert(body.end(), s.attempt.begin(), s.attempt.end());
  body.push_back(s.round);
  switch (s.kind) {
    case signal_kind::offer:
    case signal_kind::answer: {
      body.push_back(static_cast<uint8_t>(s.mapping));
      body.push_back(s.caps);
      if (s.kind == signal_kind::offer)
        body.insert(body.end(), s.key.begin(), s.key.end());
      else
        body.insert(body.end(), s.key.size(), 0);
      auto count_at = body.size();
      body.push_back(0);
      uint8_t n = 0;
      for (auto& c : s.candidates)
        if (n < max_signal_candidates && put_candidate(body, c))
          ++n;
      body[count_at] = n;
      break;
    }
    case signal_kind::sync:
      break;
    case signal_kind::cancel: {
      auto len = std::min(s.reason.size(), max_cancel_reason);
      body.push_back(static_cast<uint8_t>(len));
      body.insert(body.end(), s.reason.begin(),
                  s.reason.begin() + static_cast<ptrdiff_t>(len));
      break;
    }
  }
  return body;
}

std::vector<uint8_t> encode_signal(const identity& me, const peer_id& to,
                                   const std::string& network,
                                   const punch_signal& s) {
  auto body = signal_body(s);
  auto sig = me.sign(
    signed_text(network, me.id(), to, body.data(), body.size()));
  body.insert(body.end(), sig.begin(), sig.end());
  return body;
}

caf::expected<punch_signal> decode_signal(const peer_id& from,
                                          const peer_id& me,
                                          const std::string& network,
                                          const uint8_t* bytes, size_t size) {
  if (size > max_signal_size)
    return bad("larger than " + std::to_string(max_signal_size) + " bytes");
  if (size < 1 + 16 + 1 + identity::signature_size)
    return bad("too short");
  auto signed_size = size - identity::signature_size;
  if (!identity::verify(from,
                        signed_text(network, from, me, bytes, signed_size),
                        bytes + signed_size))
    return bad("the signature does not verify");
  reader r{bytes, signed_size};
  punch_signal s;
  uint8_t kind;
  const uint8_t* at;
  r.u8(kind);
  if (kind < static_cast<uint8_t>(signal_kind::offer)
      || kind > static_cast<uint8_t>(signal_kind::cancel))
    return bad("kind " + std::to_string(kind));
  s.kind = static_cast<signal_kind>(kind);
  r.take(16, at);
  std::copy(at, at + 16, s.attempt.begin());
  r.u8(s.round);
  if (s.round == 0 || s.round > max_punch_rounds)
    return bad("round " + std::to_string(s.round));
  switch (s.kind) {
    case signal_kind::offer:
    case signal_kind::answer: {
      uint8_t mapping, n;
      if (!r.u8(mapping) || !r.u8(s.caps) || !r.take(32, at) || !r.u8(n))
        return bad("truncated");
      if (mapping > static_cast<uint8_t>(nat_mapping::endpoint_dependent))
        return bad("mapping " + std::to_string(mapping));
      s.mapping = static_cast<nat_mapping>(mapping);
      if (s.caps & ~(cap_tcp | cap_udp | cap_birthday))
        return bad("unknown capabilities");
      std::copy(at, at + 32, s.key.begin());
      if (n > max_signal_candidates)
        return bad(std::to_string(n) + " candidates");
      for (uint8_t i = 0; i < n; ++i) {
        candidate c;
        if (auto err = read_candidate(r, c))
          return err;
        s.candidates.push_back(std::move(c));
      }
      break;
    }
    case signal_kind::sync:
      break;
    case signal_kind::cancel: {
      uint8_t len;
      if (!r.u8(len) || !r.take(len, at))
        return bad("truncated");
      if (len > max_cancel_reason)
        return bad("reason too long");
      s.reason.assign(reinterpret_cast<const char*>(at), len);
      break;
    }
  }
  if (r.left != 0)
    return bad("trailing bytes");
  return s;
}

bool peek_attempt(const uint8_t* bytes, size_t size, attempt_id& out) {
  if (size < 1 + 16)
    return false;
  std::copy(bytes + 1, bytes + 17, out.begin());
  return true;
}

} // namespace crust
