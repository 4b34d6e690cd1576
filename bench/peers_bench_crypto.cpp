// crust-bench-peers: the crypto ceilings, libsodium called directly on one
// core (in the parent, before any pair runs).
//
// What one side of crust's handshake costs (transports/noise/handshake.cpp,
// transports/hello.cpp, counted there): Noise XX with X25519 has each side
// make one ephemeral key (a base-point multiplication) and compute three
// DH (ee, es, se); the peer's Ed25519 identity is then bound to its Noise
// static key by converting the Ed25519 public key to X25519 and comparing
// (identity::binds). No signature is made or checked per handshake: the
// static key, derived from the Ed25519 key, is the proof. So one core can
// complete at most 1 / (t_base + 3 t_dh + t_convert) handshakes per second
// on one side; both ends run in processes of their own, so this is the
// ceiling for the server's rate. Ed25519 sign and verify are measured too,
// for a design that would sign its identity in the handshake.
#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "bench/peers_bench.hpp"
#include "transports/wire.hpp"

namespace peers_bench {

namespace {

// Runs `op` in batches until `seconds` passed; returns operations/s.
template <class F>
double rate(double seconds, int batch, F op) {
  auto t0 = now_s();
  long n = 0;
  double t = t0;
  // Bounded in time, and in count in case the clock misbehaves.
  while (t - t0 < seconds && n < 100'000'000) {
    for (int i = 0; i < batch; ++i)
      op();
    n += batch;
    t = now_s();
  }
  return t > t0 ? double(n) / (t - t0) : 0;
}

// The handshake ceiling from the operation rates (see formula()).
void derive_handshake(ceilings& c) {
  c.handshake_per_s = 1 / (1 / c.x25519_base_per_s + 3 / c.x25519_per_s
                           + 1 / c.pk_convert_per_s);
  c.formula = formula(c);
}

} // namespace

ceilings median_ceilings(const std::vector<ceilings>& all) {
  if (all.empty())
    return {};
  auto med = [&](double ceilings::*f) {
    std::vector<double> v;
    for (auto& c : all)
      v.push_back(c.*f);
    return percentile(v, 0.5);
  };
  ceilings c;
  for (auto f : {&ceilings::aead_mbps, &ceilings::x25519_per_s,
                 &ceilings::x25519_base_per_s, &ceilings::pk_convert_per_s,
                 &ceilings::ed_sign_per_s, &ceilings::ed_verify_per_s})
    c.*f = med(f);
  derive_handshake(c);
  return c;
}

ceilings measure_ceilings(double s) {
  ceilings c;
  if (sodium_init() < 0)
    return c;
  // crust seals 16 KiB chunks plus type and flags.
  std::vector<uint8_t> plain(crust::wire::chunk_size + 2, 0x5a);
  std::vector<uint8_t> sealed(plain.size() + 16);
  uint8_t key[32], nonce[12] = {0};
  randombytes_buf(key, sizeof(key));
  unsigned long long clen = 0;
  uint64_t counter = 0;
  double records = rate(s, 16, [&] {
    ++counter;
    std::memcpy(nonce + 4, &counter, 8);
    crypto_aead_chacha20poly1305_ietf_encrypt(sealed.data(), &clen, plain.data(),
                                              plain.size(), nullptr, 0, nullptr,
                                              nonce, key);
  });
  c.aead_mbps = records * double(plain.size()) / 1e6;

  uint8_t sk[32], pk[32], out[32], other[32];
  randombytes_buf(sk, sizeof(sk));
  crypto_scalarmult_curve25519_base(other, sk);
  c.x25519_per_s = rate(s, 8, [&] {
    if (crypto_scalarmult_curve25519(out, sk, other) != 0)
      out[0] ^= 1;
    sk[0] ^= out[0]; // no two alike, nothing hoisted
  });
  c.x25519_base_per_s = rate(s, 8, [&] {
    crypto_scalarmult_curve25519_base(pk, sk);
    sk[1] ^= pk[0];
  });
  uint8_t ed_pk[32], ed_sk[64], sig[64];
  crypto_sign_ed25519_keypair(ed_pk, ed_sk);
  c.pk_convert_per_s = rate(s, 8, [&] {
    if (crypto_sign_ed25519_pk_to_curve25519(out, ed_pk) != 0)
      out[0] ^= 1;
  });
  uint8_t msg[64] = {1};
  c.ed_sign_per_s = rate(s, 8, [&] {
    crypto_sign_ed25519_detached(sig, nullptr, msg, sizeof(msg), ed_sk);
    msg[0] ^= sig[0];
  });
  crypto_sign_ed25519_detached(sig, nullptr, msg, sizeof(msg), ed_sk);
  c.ed_verify_per_s = rate(s, 8, [&] {
    if (crypto_sign_ed25519_verify_detached(sig, msg, sizeof(msg), ed_pk) != 0)
      msg[1] ^= 1; // never: the signature is good
  });
  derive_handshake(c);
  return c;
}

std::string formula(const ceilings& c) {
  char buf[400];
  std::snprintf(buf, sizeof(buf),
                "1 / (1 X25519 base-point mult [ephemeral key] + 3 X25519 DH "
                "[ee, es, se] + 1 Ed25519-to-X25519 public key conversion "
                "[identity binding]) per side, one core; no signature per "
                "handshake = 1 / (%.1f + 3 x %.1f + %.1f us) = %.0f/s",
                1e6 / c.x25519_base_per_s, 1e6 / c.x25519_per_s,
                1e6 / c.pk_convert_per_s, c.handshake_per_s);
  return buf;
}

} // namespace peers_bench
