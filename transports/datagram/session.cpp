#include "transports/datagram/session.hpp"

#include <algorithm>


namespace crust {

namespace {

using std::chrono::milliseconds;

// Handshake packets are resent after 250 ms, then doubling up to 2 s,
// until the handshake timeout.
constexpr auto first_backoff = milliseconds(250);
constexpr auto max_backoff = milliseconds(2000);

} // namespace

datagram_session::datagram_session(datagram_channel& ch, uint32_t index,
                                   ip_endpoint remote, bool inbound,
                                   time_point now)
  : ch_(ch),
    index_(index),
    state_(inbound ? state::responding : state::initiating),
    deadline_(now + ch.cfg_.handshake_timeout),
    next_resend_(now + first_backoff),
    backoff_(first_backoff),
    last_sent_(now) {
  info_.remote = std::move(remote);
  info_.inbound = inbound;
  noise::handshake_config hc;
  hc.pat = noise::find_pattern("XX");
  hc.initiator = !inbound;
  hc.prologue = prologue(ch.cfg_.network_name);
  hc.s = ch.cfg_.static_key;
  hs_.emplace(std::move(hc));
}

datagram_session::~datagram_session() = default;

hello datagram_session::local_hello() const {
  auto h = ch_.cfg_.local;
  h.bootstrapping = bootstrapping_;
  return h;
}

bool datagram_session::fail(std::string why,
                            std::optional<misbehaviour> kind) {
  broken_ = true;
  why_ = std::move(why);
  kind_ = kind;
  hs_.reset();
  return false;
}

// -- initiator ----------------------------------------------------------------

void datagram_session::start(std::optional<peer_id> expected,
                             bool bootstrapping, time_point now) {
  expected_ = expected;
  bootstrapping_ = bootstrapping;
  if (!hs_->write_message(nullptr, 0, message1_)) {
    fail("cannot start the handshake", std::nullopt);
    return;
  }
  last_ = datagram::encode_init(index_, message1_.data(), nullptr);
  ch_.send_raw(info_.remote, last_);
  last_sent_ = now;
}

void datagram_session::on_cookie(const datagram::cookie_bytes& c,
                                 time_point now) {
  if (state_ != state::initiating || cookie_)
    return;
  // The responder is under load: the same INIT, with the proof that we
  // receive at our address.
  cookie_ = c;
  last_ = datagram::encode_init(index_, message1_.data(), &*cookie_);
  ch_.send_raw(info_.remote, last_);
  last_sent_ = now;
}

bool datagram_session::on_response(const datagram::packet& p, time_point now) {
  if (state_ != state::initiating) {
    // Our FINAL was lost: the responder repeats its RESPONSE.
    if (!confirmed_ && p.sender == remote_index_ && !last_.empty())
      ch_.send_raw(info_.remote, last_);
    return true;
  }
  std::vector<uint8_t> payload;
  if (!hs_->read_message(p.body, p.body_size, payload))
    return fail("handshake message 2 did not verify (another network or "
                "protocol version, or tampering)");
  remote_index_ = p.sender;
  if (!accept_hello(payload))
    return false;
  auto mine = encode_hello(local_hello());
  std::vector<uint8_t> msg3;
  if (!hs_->write_message(mine.data(), mine.size(), msg3))
    return fail("cannot answer the handshake (a low-order key?)");
  last_ = datagram::encode_final(remote_index_, msg3.data());
  ch_.send_raw(info_.remote, last_);
  last_sent_ = now;
  backoff_ = first_backoff;
  next_resend_ = now + backoff_;
  return key_session(now);
}

// -- responder ----------------------------------------------------------------

bool datagram_session::on_init(const datagram::packet& p, time_point now) {
  std::vector<uint8_t> payload;
  if (!hs_->read_message(p.body, p.body_size, payload) || !payload.empty())
    return fail("handshake message 1 did not verify");
  remote_index_ = p.sender;
  auto mine = encode_hello(local_hello());
  std::vector<uint8_t> msg2;
  if (!hs_->write_message(mine.data(), mine.size(), msg2))
    return fail("cannot answer the handshake (a low-order key?)");
  last_ = datagram::encode_response(index_, remote_index_, msg2.data());
  ch_.send_raw(info_.remote, last_);
  last_sent_ = now;
  return true;
}

void datagram_session::repeat_response(time_point now) {
  if (state_ == state::responding && now >= next_resend_)
    resend(now);
}

bool datagram_session::on_final(const datagram::packet& p, time_point now) {
  if (state_ != state::responding)
    return true; // a repeat: our DATA will confirm
  std::vector<uint8_t> payload;
  if (!hs_->read_message(p.body, p.body_size, payload))
    return fail("handshake message 3 did not verify");
  return accept_hello(payload) && key_session(now);
}

bool datagram_session::accept_hello(const std::vector<uint8_t>& payload) {
  std::string why;
  auto h = verify_hello(payload, *hs_->remote_static(), expected_, why);
  if (!h)
    return fail(why);
  info_.peer = *h;
  return true;
}

// The Noise handshake is over: keys the session and starts the
// association.
bool datagram_session::key_session(time_point now) {
  auto [c1, c2] = hs_->split();
  tx_ = info_.inbound ? c2 : c1;
  rx_ = info_.inbound ? c1 : c2;
  hs_.reset();
  state_ = state::linking;
  // The responder's first DATA is what tells the initiator its FINAL
  // arrived; until then the initiator repeats FINAL.
  confirmed_ = info_.inbound;
  deadline_ = now + ch_.cfg_.handshake_timeout;
  link_ = std::make_unique<sctp_link>(
    2, ch_.cfg_.max_message,
    sctp_link::room{datagram::data_header_size, noise::tag_len});
  link_->connect();
  auto& c = ch_.cfg_;
  gate_.emplace(c.rates, c.ips ? c.ips->acquire(info_.remote.ip, now) : nullptr,
                c.flood_timeout, now);
  after_link_work();
  return !broken_;
}

// -- both ---------------------------------------------------------------------

void datagram_session::on_data(const ip_endpoint& from, const uint8_t* packet,
                               const datagram::packet& p, time_point now) {
  if (!link_) // still handshaking: SCTP will resend
    return;
  if (paused_) {
    ++ch_.stats_.throttled;
    return;
  }
  if (paused_until_) {
    if (now < *paused_until_) {
      // Dropped unread, but charged: a sender that keeps pushing stays in
      // debt and becomes a flood, as a TCP peer does whose bytes wait in
      // the kernel.
      ++ch_.stats_.throttled;
      if (gate_->on_read(p.body_size, 1, now) == flood_gate::verdict::flood)
        fail("flood: " + gate_->detail(), misbehaviour::flood);
      return;
    }
    paused_until_.reset();
    if (gate_->on_resume(now) == flood_gate::verdict::flood) {
      fail("flood: " + gate_->detail(), misbehaviour::flood);
      return;
    }
  }
  if (!window_.check(p.counter)) {
    ++ch_.stats_.replayed;
    return;
  }
  plain_.clear();
  rx_.set_nonce(p.counter);
  if (!rx_.decrypt_with_ad(packet, datagram::data_header_size, p.body,
                           p.body_size, plain_)) {
    ++ch_.stats_.forged;
    return;
  }
  window_.commit(p.counter);
  confirmed_ = true;
  if (!(from == info_.remote)) // the peer's NAT moved it: follow
    info_.remote = from;
  switch (gate_->on_read(p.body_size, 1, now)) {
    case flood_gate::verdict::open:
      break;
    case flood_gate::verdict::paused:
      paused_until_ = now + gate_->pause_for();
      break;
    case flood_gate::verdict::flood:
      fail("flood: " + gate_->detail(), misbehaviour::flood);
      return;
  }
  if (!plain_.empty()) // empty: a keepalive
    link_->input(plain_.data(), plain_.size());
  after_link_work();
}

bool datagram_session::send(uint16_t stream, const uint8_t* data, size_t size) {
  return state_ == state::up && link_->send(stream, data, size);
}

// Announces the association once up, hands over what arrived, and notes
// its end.
void datagram_session::after_link_work() {
  if (!link_ || broken_)
    return;
  if (state_ == state::linking && link_->up()) {
    state_ = state::up;
    ch_.events_.push_back(
      datagram_channel::event::make(datagram_channel::event::up, index_));
  }
  for (auto& m : link_->take_received()) {
    auto ev = datagram_channel::event::make(datagram_channel::event::frame,
                                            index_);
    ev.stream = m.stream;
    ev.bytes = std::move(m.bytes);
    ch_.events_.push_back(std::move(ev));
  }
  if (link_->down())
    fail(link_->error().empty() ? "the peer ended the association"
                                : link_->error(),
         link_->error().empty() ? std::nullopt
                                : std::optional{misbehaviour::oversize});
}

void datagram_session::resend(time_point now) {
  ch_.send_raw(info_.remote, last_);
  last_sent_ = now;
  backoff_ = std::min<duration>(backoff_ * 2, max_backoff);
  next_resend_ = now + backoff_;
}

void datagram_session::tick(time_point now) {
  switch (state_) {
    case state::initiating:
      if (now >= deadline_) {
        fail("no answer from udp://" + to_string(info_.remote) + " within "
               + std::to_string(ch_.cfg_.handshake_timeout.count() / 1000)
               + " s",
             std::nullopt);
        return;
      }
      if (now >= next_resend_)
        resend(now);
      return;
    case state::responding:
      if (now >= deadline_)
        fail("the handshake was not finished in time",
             misbehaviour::handshake_timeout);
      return;
    case state::linking:
      if (now >= deadline_) {
        fail("the association did not come up in time", std::nullopt);
        return;
      }
      break;
    case state::up:
      break;
  }
  if (!confirmed_ && now >= next_resend_)
    resend(now); // FINAL, until the peer's DATA shows it arrived
  after_link_work();
  if (!broken_ && state_ == state::up && now - last_sent_ >= datagram_channel::keepalive)
    seal(std::vector<uint8_t>(datagram::data_header_size + noise::tag_len),
         now); // an empty DATA: a keepalive
}

void datagram_session::flush(time_point now) {
  if (!link_)
    return;
  for (auto& p : link_->take_output())
    seal(std::move(p), now);
}

// `p` is the plaintext between room for our header and room for the tag
// (sctp_link leaves that room around its packets): sealed where it lies.
void datagram_session::seal(std::vector<uint8_t> p, time_point now) {
  constexpr auto head = datagram::data_header_size;
  datagram::write_data_header(p.data(), remote_index_, tx_counter_);
  tx_.set_nonce(tx_counter_++);
  if (!tx_.encrypt_in_place(p.data(), head, p.data() + head,
                            p.size() - head - noise::tag_len))
    return;
  ch_.send_raw(info_.remote, std::move(p));
  last_sent_ = now;
}

void datagram_session::close() {
  if (link_) {
    link_->close();
    flush(last_sent_);
    link_.reset();
  }
}

} // namespace crust
