#include "nat/punch/attempt.hpp"

#include <algorithm>

namespace crust {

namespace {

bool edm(nat_mapping m) {
  return m == nat_mapping::endpoint_dependent;
}

bool eim(nat_mapping m) {
  return m == nat_mapping::endpoint_independent || m == nat_mapping::none;
}

} // namespace

punch_attempt::punch_attempt(role r, attempt_id id, probe_key key,
                             settings s, time_point now)
  : role_(r),
    id_(id),
    key_(key),
    settings_(s),
    deadline_(now + s.overall),
    give_up_(now + s.overall) {
  // nop
}

// -- input --------------------------------------------------------------------

void punch_attempt::start(local_info ours, time_point now) {
  if (phase_ != phase::gathering || ours_)
    return;
  ours_ = std::move(ours);
  if (role_ == role::offerer) {
    offer(now);
  } else if (theirs_) {
    send(signal_kind::answer);
    phase_ = phase::answered;
    deadline_ = now + settings_.round_time;
  }
}

void punch_attempt::start_signalled(local_info ours,
                                    const punch_signal& theirs,
                                    time_point now) {
  if (phase_ != phase::gathering || ours_)
    return;
  ours_ = std::move(ours);
  theirs_ = theirs;
  signalled_ = true;
  start_punching(now);
}

void punch_attempt::handle_signal(const punch_signal& s, time_point now) {
  if (phase_ == phase::connected || phase_ == phase::failed
      || s.attempt != id_ || signalled_)
    return;
  if (s.kind == signal_kind::cancel) {
    fail("the peer gave up: " + (s.reason.empty() ? "no reason" : s.reason));
    return;
  }
  if (role_ == role::offerer) {
    if (s.round != round_)
      return; // a late answer to an earlier round
    if (s.kind == signal_kind::answer && phase_ == phase::offered) {
      theirs_ = s;
      rtt_ = now - offered_at_;
      send(signal_kind::sync);
      if (round_ == 1) {
        phase_ = phase::synced;
        deadline_ = now + *rtt_ / 2;
      } else {
        start_punching(now);
      }
    }
    return;
  }
  // The answerer.
  if (s.kind == signal_kind::offer) {
    // The first OFFER we hear, of whichever round: an earlier one may have
    // been lost (or dropped before we kept the mutual peer).
    bool first = phase_ == phase::gathering && !theirs_;
    // The offerer moved on: whatever this round was doing is over.
    bool next = phase_ != phase::gathering && s.round == round_ + 1;
    bool again = phase_ == phase::answered && s.round == round_;
    if (!first && !next && !again)
      return;
    if (next && phase_ != phase::answered)
      reasons_.push_back("round " + std::to_string(round_) + ": no path");
    reset_paths();
    theirs_ = s;
    key_ = s.key;
    round_ = s.round;
    if (phase_ == phase::gathering && !ours_)
      return; // start() answers
    send(signal_kind::answer);
    phase_ = phase::answered;
    deadline_ = now + settings_.round_time;
  } else if (s.kind == signal_kind::sync && phase_ == phase::answered
             && s.round == round_) {
    start_punching(now);
  }
}

void punch_attempt::handle_path_opened(path, time_point) {
  if (phase_ != phase::punching && phase_ != phase::handshaking)
    return;
  ++open_paths_;
  phase_ = phase::handshaking;
}

void punch_attempt::handle_path_failed(path p, time_point now) {
  if (phase_ != phase::handshaking || open_paths_ == 0)
    return;
  if (p == path::udp && udp_path_) {
    // The handshake on the validated path failed: probe on, for another.
    udp_path_.reset();
    udp_dial_.reset();
    grace_until_.reset();
    if (bursts_left_ > 0)
      next_probe_ = now;
  }
  if (--open_paths_ == 0)
    phase_ = phase::punching;
}

void punch_attempt::handle_path_authenticated(path p, time_point) {
  // Whenever it comes: the peer's SYN or handshake may reach us while we
  // still wait out RTT/2 (synced) or for a signal, when our side needs no
  // hole (a public address, a mapping). The Noise handshake on a path of
  // this attempt proved the peer either way.
  if (phase_ == phase::connected || phase_ == phase::failed)
    return;
  connect(p);
}

void punch_attempt::handle_probed(const ip_endpoint& from, time_point now) {
  if (phase_ == phase::connected || phase_ == phase::failed)
    return;
  auto known = [&](const std::vector<ip_endpoint>& xs) {
    return std::find(xs.begin(), xs.end(), from) != xs.end();
  };
  if (!known(peer_reflexive_) && peer_reflexive_.size() < max_peer_reflexive)
    peer_reflexive_.push_back(from);
  // Probing now: the address joins this round's targets, probed at once.
  if (next_probe_ && !udp_path_ && !known(probe_to_)) {
    probe_to_.push_back(from);
    next_probe_ = now;
  }
}

void punch_attempt::handle_probe_acked(const ip_endpoint& from,
                                       const ip_endpoint& observed,
                                       time_point now) {
  if ((phase_ != phase::punching && phase_ != phase::handshaking)
      || udp_path_)
    return;
  reflexive_ = observed;
  udp_path_ = from;
  next_probe_.reset(); // answered: the peer's own probes are ours to answer
  spray_next_.reset();
  spray_left_ = 0;
  ++open_paths_;
  phase_ = phase::handshaking;
  if (!ours_->udp_dialer)
    return; // the peer's handshake comes to us
  if (plan_tcp_)
    grace_until_ = now + settings_.tcp_grace; // TCP is favoured
  else
    udp_dial_ = from;
}

void punch_attempt::handle_timeout(time_point now) {
  if (phase_ == phase::connected || phase_ == phase::failed)
    return;
  if (grace_until_ && now >= *grace_until_) {
    grace_until_.reset();
    udp_dial_ = udp_path_; // TCP had its moment
  }
  if (now >= give_up_) {
    reasons_.push_back("round " + std::to_string(round_)
                       + ": no path within the punch timeout");
    fail("");
    return;
  }
  if (now < deadline_)
    return;
  switch (phase_) {
    case phase::synced:
      start_punching(now);
      return;
    case phase::offered:
      end_round("no answer", now);
      return;
    case phase::answered:
      end_round(theirs_ && theirs_->round == round_ ? "no sync" : "no offer",
                now);
      return;
    case phase::punching:
    case phase::handshaking:
      end_round("no path", now);
      return;
    default:
      return;
  }
}

void punch_attempt::cancel(std::string why) {
  if (phase_ == phase::connected || phase_ == phase::failed)
    return;
  if (signalled_) {
    fail(std::move(why)); // no signalling path to tell the peer
    return;
  }
  punch_signal s;
  s.kind = signal_kind::cancel;
  s.attempt = id_;
  s.round = round_;
  s.reason = why;
  out_.push_back(std::move(s));
  fail(std::move(why));
}

// -- output -------------------------------------------------------------------

std::optional<punch_signal> punch_attempt::poll_signal() {
  if (out_.empty())
    return std::nullopt;
  auto s = std::move(out_.front());
  out_.erase(out_.begin());
  return s;
}

std::optional<punch_attempt::plan> punch_attempt::poll_plan() {
  auto p = std::move(plan_);
  plan_.reset();
  return p;
}

std::vector<ip_endpoint> punch_attempt::poll_probes(time_point now) {
  if (!next_probe_ || *next_probe_ > now || bursts_left_ == 0
      || phase_ == phase::connected || phase_ == phase::failed)
    return {};
  if (--bursts_left_ == 0)
    next_probe_.reset();
  else
    next_probe_ = now + settings_.probe_interval;
  return probe_to_;
}

std::optional<punch_attempt::spray> punch_attempt::poll_spray(time_point now) {
  if (!spray_next_ || *spray_next_ > now || spray_left_ == 0
      || phase_ == phase::connected || phase_ == phase::failed)
    return std::nullopt;
  auto n = std::min(spray_left_, settings_.spray_burst);
  spray_left_ = static_cast<uint16_t>(spray_left_ - n);
  if (spray_left_ == 0)
    spray_next_.reset();
  else
    spray_next_ = now + settings_.spray_interval;
  return spray{spray_ip_, n};
}

std::optional<ip_endpoint> punch_attempt::poll_udp_dial() {
  auto d = std::move(udp_dial_);
  udp_dial_.reset();
  return d;
}

std::optional<punch_attempt::time_point> punch_attempt::poll_timeout() const {
  if (phase_ == phase::connected || phase_ == phase::failed)
    return std::nullopt;
  auto t = std::min(deadline_, give_up_);
  for (auto& x : {grace_until_, next_probe_, spray_next_})
    if (x)
      t = std::min(t, *x);
  return t;
}

// -- helpers ------------------------------------------------------------------

void punch_attempt::send(signal_kind k) {
  punch_signal s;
  s.kind = k;
  s.attempt = id_;
  s.round = round_;
  if (k == signal_kind::offer || k == signal_kind::answer) {
    s.mapping = ours_->mapping;
    s.caps = ours_->caps;
    s.candidates = ours_->candidates;
    if (k == signal_kind::offer)
      s.key = key_;
  }
  out_.push_back(std::move(s));
}

void punch_attempt::offer(time_point now) {
  send(signal_kind::offer);
  offered_at_ = now;
  phase_ = phase::offered;
  deadline_ = now + settings_.round_time;
}

void punch_attempt::start_punching(time_point now) {
  phase_ = phase::punching;
  reset_paths();
  deadline_ = now + settings_.round_time;
  plan_ = make_plan();
  plan_tcp_ = plan_->tcp;
  if (!plan_->udp)
    return;
  if (plan_->birthday_probes > 0) {
    // The peer's outside address: its best UDP candidate that is not a
    // LAN one (its NAT gives each destination a port of its own, so only
    // the IP is known).
    for (auto& c : plan_->remote)
      if (c.proto == transport::rudp && c.kind != candidate_kind::host
          && !is_private_ip(c.at.ip)) {
        spray_ip_ = c.at.ip;
        spray_left_ = plan_->birthday_probes;
        spray_next_ = now + settings_.spray_delay;
        break;
      }
  }
  for (auto& c : plan_->remote)
    if (c.proto == transport::rudp)
      probe_to_.push_back(c.at);
  for (auto& at : peer_reflexive_)
    if (std::find(probe_to_.begin(), probe_to_.end(), at) == probe_to_.end())
      probe_to_.push_back(at);
  if (probe_to_.empty())
    return;
  next_probe_ = now;
  auto per_round = settings_.round_time / settings_.probe_interval;
  bursts_left_ = static_cast<uint16_t>(
    std::min<int64_t>(settings_.max_probe_bursts, std::max<int64_t>(1, per_round)));
}

void punch_attempt::reset_paths() {
  open_paths_ = 0;
  probe_to_.clear();
  next_probe_.reset();
  bursts_left_ = 0;
  udp_path_.reset();
  udp_dial_.reset();
  grace_until_.reset();
  spray_ip_.clear();
  spray_left_ = 0;
  spray_next_.reset();
}

void punch_attempt::end_round(const std::string& why, time_point now) {
  reasons_.push_back("round " + std::to_string(round_) + ": " + why);
  reset_paths();
  plan_.reset();
  if (round_ >= max_punch_rounds) {
    fail("");
    return;
  }
  ++round_;
  if (signalled_) {
    start_punching(now);
  } else if (role_ == role::offerer) {
    offer(now);
  } else {
    phase_ = phase::answered;
    deadline_ = now + settings_.round_time;
  }
}

void punch_attempt::fail(std::string why) {
  if (!why.empty())
    reasons_.push_back(std::move(why));
  phase_ = phase::failed;
  plan_.reset();
  reset_paths();
}

void punch_attempt::connect(path p) {
  chosen_ = p;
  phase_ = phase::connected;
  plan_.reset();
  reset_paths();
}

punch_attempt::plan punch_attempt::make_plan() const {
  plan pl;
  pl.round = round_;
  auto both = ours_->caps & theirs_->caps;
  pl.tcp = (both & cap_tcp) != 0;
  pl.udp = (both & cap_udp) != 0;
  for (auto& c : theirs_->candidates) {
    if ((c.proto == transport::tcp && pl.tcp)
        || (c.proto == transport::rudp && pl.udp))
      pl.remote.push_back(c);
  }
  // From round 2 on: round 1 tried the plain paths, which a symmetric
  // NAT against a cone one leaves only to a birthday collision.
  bool birthday = settings_.birthday && round_ >= 2 && pl.udp
                  && (both & cap_birthday);
  if (birthday && edm(ours_->mapping) && eim(theirs_->mapping))
    pl.birthday_sockets = settings_.birthday_sockets;
  else if (birthday && eim(ours_->mapping) && edm(theirs_->mapping))
    pl.birthday_probes = settings_.birthday_probes;
  return pl;
}

const char* to_string(punch_attempt::phase p) {
  using ph = punch_attempt::phase;
  switch (p) {
    case ph::gathering:
      return "gathering";
    case ph::offered:
      return "offered";
    case ph::answered:
      return "answered";
    case ph::synced:
      return "synced";
    case ph::punching:
      return "punching";
    case ph::handshaking:
      return "handshaking";
    case ph::connected:
      return "connected";
    case ph::failed:
      return "failed";
  }
  return "?";
}

} // namespace crust
