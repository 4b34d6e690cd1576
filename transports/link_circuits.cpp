// The link's circuit frames (CIRCUIT_OPEN, _OPENED, _INCOMING, _DATA,
// _CREDIT, _CLOSE; docs/PROTOCOL.md, "Circuits"): their bounds, and the
// node's calls that send them. What a circuit means is the relay's
// (node/relay_table) or the relayed connection's business: the link only
// frames. Part of `link` (transports/link.hpp); a file of its own because
// it is a concern of its own.
#include "transports/link.hpp"

namespace crust {

namespace {

void put32(std::vector<uint8_t>& out, uint32_t x) {
  for (int i = 3; i >= 0; --i)
    out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

uint32_t get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16)
         | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::vector<uint8_t> with_id(uint32_t id) {
  std::vector<uint8_t> body;
  put32(body, id);
  return body;
}

void put_id(std::vector<uint8_t>& out, const peer_id& p) {
  out.insert(out.end(), p.bytes.begin(), p.bytes.end());
}

peer_id get_id(const uint8_t* p) {
  peer_id id;
  std::copy(p, p + peer_id::size, id.bytes.begin());
  return id;
}

void put_limits(std::vector<uint8_t>& out, const relay_limits& l) {
  auto bytes = encode(l);
  out.insert(out.end(), bytes.begin(), bytes.end());
}

} // namespace

void link::open_circuit(uint32_t id, const peer_id& to) {
  if (phase_ != phase::kept)
    return;
  auto body = with_id(id);
  put_id(body, to);
  queue(0, wire::frame_type::circuit_open, std::move(body));
}

void link::circuit_opened_frame(uint32_t id, uint32_t credit,
                                const relay_limits& limits) {
  if (phase_ != phase::kept)
    return;
  auto body = with_id(id);
  put32(body, credit);
  put_limits(body, limits);
  queue(0, wire::frame_type::circuit_opened, std::move(body));
}

void link::circuit_incoming_frame(uint32_t id, const peer_id& from,
                                  uint32_t credit, const relay_limits& limits) {
  if (phase_ != phase::kept)
    return;
  auto body = with_id(id);
  put_id(body, from);
  put32(body, credit);
  put_limits(body, limits);
  queue(0, wire::frame_type::circuit_incoming, std::move(body));
}

void link::send_circuit_data(uint32_t id, const uint8_t* data, size_t size) {
  if (phase_ != phase::kept || size == 0 || size > wire::max_circuit_chunk)
    return;
  auto body = with_id(id);
  body.insert(body.end(), data, data + size);
  queue(0, wire::frame_type::circuit_data, std::move(body));
}

void link::grant_circuit_credit(uint32_t id, uint32_t bytes) {
  if (phase_ != phase::kept || bytes == 0)
    return;
  auto body = with_id(id);
  put32(body, bytes);
  queue(0, wire::frame_type::circuit_credit, std::move(body));
}

void link::close_circuit(uint32_t id, circuit_reason why) {
  // Also before keep: the answer to a CIRCUIT_OPEN we do not take.
  if (phase_ != phase::negotiating && phase_ != phase::undecided
      && phase_ != phase::kept)
    return;
  auto body = with_id(id);
  body.push_back(static_cast<uint8_t>(why));
  queue(0, wire::frame_type::circuit_close, std::move(body));
}

// Judged by their sizes first (a malformed one is a violation whatever
// the phase), then heard only from a kept peer: before keep an OPEN is
// refused and the rest, which no circuit can be for yet, are dropped.
bool link::on_circuit(const frame_view& f) {
  using ft = wire::frame_type;
  constexpr size_t id = 4, pid = peer_id::size, lim = relay_limits_size;
  auto exact = [&](size_t n, const char* what) {
    return f.size == n ? true : violation(std::string{"malformed "} + what);
  };
  bool kept = phase_ == phase::kept;
  uint32_t cid = f.size >= id ? get32(f.body) : 0;
  switch (f.type) {
    case ft::circuit_open:
      if (!exact(id + pid, "CIRCUIT_OPEN frame"))
        return false;
      if (!kept)
        close_circuit(cid, circuit_reason::refused);
      else
        events_.emplace_back(circuit_open_requested{cid, get_id(f.body + id)});
      return true;
    case ft::circuit_opened:
      if (!exact(id + 4 + lim, "CIRCUIT_OPENED frame"))
        return false;
      if (kept)
        events_.emplace_back(circuit_opened{
          cid, get32(f.body + id), decode_relay_limits(f.body + id + 4)});
      return true;
    case ft::circuit_incoming:
      if (!exact(id + pid + 4 + lim, "CIRCUIT_INCOMING frame"))
        return false;
      if (kept)
        events_.emplace_back(circuit_incoming{
          cid, get_id(f.body + id), get32(f.body + id + pid),
          decode_relay_limits(f.body + id + pid + 4)});
      return true;
    case ft::circuit_data:
      if (f.size <= id || f.size - id > wire::max_circuit_chunk)
        return violation("malformed CIRCUIT_DATA frame");
      if (kept)
        events_.emplace_back(circuit_data{
          cid, std::vector<uint8_t>(f.body + id, f.body + f.size)});
      return true;
    case ft::circuit_credit:
      if (!exact(id + 4, "CIRCUIT_CREDIT frame"))
        return false;
      if (kept)
        events_.emplace_back(circuit_credit{cid, get32(f.body + id)});
      return true;
    case ft::circuit_close:
      if (!exact(id + 1, "CIRCUIT_CLOSE frame"))
        return false;
      if (f.body[id] > max_circuit_reason)
        return violation("malformed CIRCUIT_CLOSE frame");
      if (kept)
        events_.emplace_back(
          circuit_closed{cid, static_cast<circuit_reason>(f.body[id])});
      return true;
    default:
      return violation("unexpected frame");
  }
}

} // namespace crust
