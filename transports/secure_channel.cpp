#include "transports/secure_channel.hpp"

#include <cstring>

#include "transports/bytes.hpp"
#include "transports/identity.hpp"

namespace crust {

namespace {

void append_record(std::vector<char>& out, const uint8_t* data, size_t len) {
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(len));
  out.insert(out.end(), data, data + len);
}

} // namespace

secure_channel::secure_channel(settings s) : cfg_(std::move(s)) {
  // A punched path's roles wait for the peer's PUNCH_HELLO.
  if (!cfg_.punch)
    make_handshake();
}

void secure_channel::make_handshake() {
  noise::handshake_config hc;
  hc.pat = noise::find_pattern("XX");
  hc.initiator = cfg_.initiator;
  hc.prologue = prologue(cfg_.network_name);
  hc.s = cfg_.static_key;
  hs_.emplace(std::move(hc));
}

void secure_channel::start(std::vector<char>& out) {
  if (cfg_.punch && !hello_sent_) {
    hello_sent_ = true;
    auto h = encode_punch_hello(cfg_.punch->attempt, cfg_.punch->key);
    append_record(out, h.data(), h.size());
    return;
  }
  if (cfg_.initiator && hs_ && hs_->my_turn())
    write_handshake(out);
}

bool secure_channel::on_punch_record(const uint8_t* rec, size_t len,
                                     std::vector<char>& out, bool& consumed) {
  if (cfg_.punch) {
    // We sent ours; the peer's must come first.
    if (!punch_hello_valid(rec, len, cfg_.punch->attempt, cfg_.punch->key))
      return failed(misbehaviour::handshake_invalid,
                    "the first record on a punched path is not the "
                    "attempt's PUNCH_HELLO");
  } else {
    // An accepted connection: a hello is optional, and must name a live
    // attempt of ours.
    auto named = punch_hello_attempt(rec, len);
    if (!named)
      return true; // an ordinary Noise message 1
    auto found = cfg_.find_punch(*named);
    if (!found || !punch_hello_valid(rec, len, found->attempt, found->key))
      return failed(misbehaviour::handshake_invalid,
                    "a PUNCH_HELLO for no attempt of ours");
    cfg_.punch = *found;
    hello_sent_ = true;
    auto h = encode_punch_hello(cfg_.punch->attempt, cfg_.punch->key);
    append_record(out, h.data(), h.size());
  }
  consumed = true;
  hello_heard_ = true;
  begin_noise(out);
  return true;
}

// The lower peer id initiates, whoever connected.
void secure_channel::begin_noise(std::vector<char>& out) {
  cfg_.initiator = cfg_.local.id < cfg_.punch->peer;
  cfg_.expected = cfg_.punch->peer;
  make_handshake();
  if (cfg_.initiator)
    write_handshake(out);
}

bool secure_channel::write_handshake(std::vector<char>& out) {
  // Message 1 is sent in the clear: its payload stays empty. Messages 2
  // and 3 carry (encrypted) who we are.
  std::vector<uint8_t> payload;
  bool first = cfg_.initiator && !hs_->remote_static();
  if (!first)
    payload = encode_hello(cfg_.local);
  std::vector<uint8_t> msg;
  if (!hs_->write_message(payload.data(), payload.size(), msg))
    return false;
  append_record(out, msg.data(), msg.size());
  return true;
}

void secure_channel::feed(const void* data, size_t size) {
  if (broken_)
    return;
  if (pos_ > 0) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
    pos_ = 0;
  }
  auto bytes = static_cast<const uint8_t*>(data);
  buf_.insert(buf_.end(), bytes, bytes + size);
}

secure_channel::event secure_channel::next(std::vector<char>& out,
                                           frame_view& f) {
  for (;;) {
    if (broken_)
      return event::failed;
    if (established_ && !reported_) {
      reported_ = true;
      return event::established;
    }
    auto avail = buf_.size() - pos_;
    if (avail < wire::record_length_size)
      return event::need_more;
    auto p = buf_.data() + pos_;
    size_t len = bytes::get<uint16_t>(p);
    // Judge the length before buffering the record.
    if (len > cfg_.max_record)
      return fail(misbehaviour::oversize,
                  "record of " + std::to_string(len) + " bytes, maximum is "
                    + std::to_string(cfg_.max_record));
    if (avail < wire::record_length_size + len)
      return event::need_more;
    auto rec = p + wire::record_length_size;
    pos_ += wire::record_length_size + len;
    ++records_read_;
    if (established_)
      return on_transport_record(rec, len, f);
    bool hello_first = cfg_.punch ? !hello_heard_
                                  : cfg_.find_punch && !cfg_.initiator
                                      && records_read_ == 1;
    if (hello_first) {
      bool consumed = false;
      if (!on_punch_record(rec, len, out, consumed))
        return event::failed;
      if (consumed)
        continue;
    }
    if (!on_handshake_record(rec, len, out))
      return event::failed;
  }
}

bool secure_channel::on_handshake_record(const uint8_t* rec, size_t len,
                                         std::vector<char>& out) {
  std::vector<uint8_t> payload;
  if (!hs_->read_message(rec, len, payload))
    return failed(misbehaviour::handshake_invalid,
                "handshake message " + std::string{cfg_.initiator ? "2" : "1/3"}
                  + " did not verify (another network or protocol version, "
                    "or tampering)");
  bool carries_hello = hs_->remote_static().has_value();
  if (carries_hello) {
    std::string why;
    std::optional<peer_id> expected;
    if (cfg_.expected)
      expected = *cfg_.expected;
    auto h = verify_hello(payload, *hs_->remote_static(), expected, why);
    if (!h)
      return failed(misbehaviour::handshake_invalid, why);
    remote_ = *h;
  } else if (!payload.empty()) {
    return failed(misbehaviour::handshake_invalid,
                "unexpected payload in the first handshake message");
  }
  if (hs_->my_turn() && !write_handshake(out))
    return failed(misbehaviour::handshake_invalid,
                "cannot answer the handshake (a low-order key?)");
  if (hs_->finished()) {
    auto [c1, c2] = hs_->split();
    tx_ = cfg_.initiator ? c1 : c2;
    rx_ = cfg_.initiator ? c2 : c1;
    hs_.reset();
    established_ = true; // next() reports it
  }
  return true;
}

secure_channel::event secure_channel::on_transport_record(uint8_t* rec,
                                                          size_t len,
                                                          frame_view& f) {
  if (!rx_.decrypt_in_place(nullptr, 0, rec, len))
    return fail(misbehaviour::decrypt_failure,
                "record " + std::to_string(rx_count_)
                  + " failed authentication (tampered, replayed or "
                    "reordered)");
  if (++rx_count_ % cfg_.rekey_interval == 0)
    rx_.rekey();
  auto plain = len - noise::tag_len;
  if (plain == 0 || !wire::known_frame_type(rec[0]))
    return fail(misbehaviour::protocol_violation,
                plain == 0 ? "empty frame"
                           : "unknown frame type " + std::to_string(rec[0]));
  f.type = static_cast<wire::frame_type>(rec[0]);
  f.body = rec + 1;
  f.size = plain - 1;
  return event::frame;
}

bool secure_channel::seal(wire::frame_type type, const uint8_t* head,
                          size_t head_len, const uint8_t* body,
                          size_t body_len, std::vector<char>& out) {
  return seal_with(type, out, [&](std::vector<char>& buf) {
    auto h = reinterpret_cast<const char*>(head);
    auto b = reinterpret_cast<const char*>(body);
    buf.insert(buf.end(), h, h + head_len);
    buf.insert(buf.end(), b, b + body_len);
  });
}

bool secure_channel::close_record(std::vector<char>& out, size_t start) {
  auto plain = out.size() - start - wire::record_length_size;
  if (plain > max_body(wire::max_record_size) + 1) {
    out.resize(start);
    return false;
  }
  out.insert(out.end(), noise::tag_len, char{0});
  auto rec = reinterpret_cast<uint8_t*>(out.data()) + start;
  if (!tx_.encrypt_in_place(nullptr, 0, rec + wire::record_length_size,
                            plain)) {
    out.resize(start);
    return false;
  }
  if (++tx_count_ % cfg_.rekey_interval == 0)
    tx_.rekey();
  auto len = plain + noise::tag_len;
  rec[0] = static_cast<uint8_t>(len >> 8);
  rec[1] = static_cast<uint8_t>(len);
  return true;
}

bool secure_channel::failed(misbehaviour kind, std::string detail) {
  fail(kind, std::move(detail));
  return false;
}

secure_channel::event secure_channel::fail(misbehaviour kind,
                                           std::string detail) {
  broken_ = true;
  kind_ = kind;
  detail_ = std::move(detail);
  buf_.clear();
  buf_.shrink_to_fit();
  pos_ = 0;
  hs_.reset();
  return event::failed;
}

} // namespace crust
