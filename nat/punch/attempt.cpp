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

void punch_attempt::handle_signal(const punch_signal& s, time_point now) {
  if (phase_ == phase::connected || phase_ == phase::failed
      || s.attempt != id_)
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
    bool first = phase_ == phase::gathering && !theirs_ && s.round == 1;
    // The offerer moved on: whatever this round was doing is over.
    bool next = phase_ != phase::gathering && s.round == round_ + 1;
    bool again = phase_ == phase::answered && s.round == round_;
    if (!first && !next && !again)
      return;
    if (next && phase_ != phase::answered)
      reasons_.push_back("round " + std::to_string(round_) + ": no path");
    open_paths_ = 0;
    udp_ready_.reset();
    grace_until_.reset();
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

void punch_attempt::handle_path_failed(path, time_point) {
  if (phase_ != phase::handshaking || open_paths_ == 0)
    return;
  if (--open_paths_ == 0 && !udp_ready_)
    phase_ = phase::punching;
}

void punch_attempt::handle_path_authenticated(path p, time_point now) {
  if (phase_ != phase::punching && phase_ != phase::handshaking)
    return;
  if (p == path::tcp)
    return connect(path::tcp);
  // UDP: TCP is favoured, so it gets a moment to win.
  if (!udp_ready_) {
    udp_ready_ = path::udp;
    grace_until_ = now + settings_.tcp_grace;
    phase_ = phase::handshaking;
  }
}

void punch_attempt::handle_timeout(time_point now) {
  if (phase_ == phase::connected || phase_ == phase::failed)
    return;
  // An authenticated UDP path is not thrown away for any deadline.
  if (grace_until_
      && (now >= *grace_until_ || now >= deadline_ || now >= give_up_))
    return connect(path::udp);
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

std::optional<punch_attempt::time_point> punch_attempt::poll_timeout() const {
  if (phase_ == phase::connected || phase_ == phase::failed)
    return std::nullopt;
  auto t = std::min(deadline_, give_up_);
  if (grace_until_)
    t = std::min(t, *grace_until_);
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
  open_paths_ = 0;
  deadline_ = now + settings_.round_time;
  plan_ = make_plan();
}

void punch_attempt::end_round(const std::string& why, time_point now) {
  reasons_.push_back("round " + std::to_string(round_) + ": " + why);
  open_paths_ = 0;
  udp_ready_.reset();
  plan_.reset();
  if (round_ >= max_punch_rounds) {
    fail("");
    return;
  }
  ++round_;
  if (role_ == role::offerer) {
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
  grace_until_.reset();
}

void punch_attempt::connect(path p) {
  chosen_ = p;
  phase_ = phase::connected;
  plan_.reset();
  grace_until_.reset();
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
  bool birthday = settings_.birthday && round_ == max_punch_rounds && pl.udp
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
