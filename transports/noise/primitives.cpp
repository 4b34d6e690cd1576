#include "transports/noise/primitives.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace crust::noise {

namespace {

void nonce_bytes(uint64_t n, uint8_t out[12]) {
  std::memset(out, 0, 4);
  for (int i = 0; i < 8; ++i)
    out[4 + i] = static_cast<uint8_t>(n >> (8 * i));
}

} // namespace

keypair keypair::generate() {
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium failed to initialise");
  key secret;
  randombytes_buf(secret.data(), secret.size());
  auto result = from_secret(secret);
  sodium_memzero(secret.data(), secret.size());
  return result;
}

keypair keypair::from_secret(const key& secret) {
  keypair result;
  result.secret = secret;
  crypto_scalarmult_curve25519_base(result.pub.data(), secret.data());
  return result;
}

bool dh(const key& secret, const key& pub, key& out) {
  return crypto_scalarmult_curve25519(out.data(), secret.data(), pub.data())
         == 0;
}

digest hash(const uint8_t* data, size_t len) {
  digest out;
  crypto_generichash_blake2b(out.data(), out.size(), data, len, nullptr, 0);
  return out;
}

digest hmac(const uint8_t* k, size_t klen, const uint8_t* data, size_t len) {
  // HMAC over BLAKE2b as Noise specifies it (not BLAKE2b's keyed mode).
  uint8_t block[block_len] = {0};
  if (klen > block_len) {
    auto hk = hash(k, klen);
    std::memcpy(block, hk.data(), hk.size());
  } else if (klen > 0) {
    std::memcpy(block, k, klen);
  }
  uint8_t pad[block_len];
  crypto_generichash_blake2b_state st;
  for (size_t i = 0; i < block_len; ++i)
    pad[i] = block[i] ^ 0x36;
  crypto_generichash_blake2b_init(&st, nullptr, 0, hash_len);
  crypto_generichash_blake2b_update(&st, pad, block_len);
  crypto_generichash_blake2b_update(&st, data, len);
  digest inner;
  crypto_generichash_blake2b_final(&st, inner.data(), inner.size());
  for (size_t i = 0; i < block_len; ++i)
    pad[i] = block[i] ^ 0x5c;
  crypto_generichash_blake2b_init(&st, nullptr, 0, hash_len);
  crypto_generichash_blake2b_update(&st, pad, block_len);
  crypto_generichash_blake2b_update(&st, inner.data(), inner.size());
  digest out;
  crypto_generichash_blake2b_final(&st, out.data(), out.size());
  sodium_memzero(block, sizeof(block));
  sodium_memzero(pad, sizeof(pad));
  sodium_memzero(inner.data(), inner.size());
  return out;
}

void hkdf(const digest& chaining_key, const uint8_t* ikm, size_t ikm_len,
          digest& out1, digest& out2, digest* out3) {
  auto temp = hmac(chaining_key.data(), chaining_key.size(), ikm, ikm_len);
  uint8_t one = 0x01;
  out1 = hmac(temp.data(), temp.size(), &one, 1);
  uint8_t buf[hash_len + 1];
  std::memcpy(buf, out1.data(), hash_len);
  buf[hash_len] = 0x02;
  out2 = hmac(temp.data(), temp.size(), buf, sizeof(buf));
  if (out3 != nullptr) {
    std::memcpy(buf, out2.data(), hash_len);
    buf[hash_len] = 0x03;
    *out3 = hmac(temp.data(), temp.size(), buf, sizeof(buf));
  }
  sodium_memzero(temp.data(), temp.size());
  sodium_memzero(buf, sizeof(buf));
}

void encrypt(const key& k, uint64_t nonce, const uint8_t* ad, size_t ad_len,
             const uint8_t* plain, size_t len, std::vector<uint8_t>& out) {
  uint8_t n[12];
  nonce_bytes(nonce, n);
  auto pos = out.size();
  out.resize(pos + len + tag_len);
  unsigned long long clen = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + pos, &clen, plain,
                                            len, ad, ad_len, nullptr, n,
                                            k.data());
}

void encrypt_in_place(const key& k, uint64_t nonce, const uint8_t* ad,
                      size_t ad_len, uint8_t* data, size_t len) {
  uint8_t n[12];
  nonce_bytes(nonce, n);
  unsigned long long clen = 0;
  // libsodium allows the ciphertext to be written over the plaintext.
  crypto_aead_chacha20poly1305_ietf_encrypt(data, &clen, data, len, ad, ad_len,
                                            nullptr, n, k.data());
}

bool decrypt(const key& k, uint64_t nonce, const uint8_t* ad, size_t ad_len,
             const uint8_t* cipher, size_t len, std::vector<uint8_t>& out) {
  if (len < tag_len)
    return false;
  uint8_t n[12];
  nonce_bytes(nonce, n);
  auto pos = out.size();
  out.resize(pos + len - tag_len);
  unsigned long long plen = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data() + pos, &plen,
                                                nullptr, cipher, len, ad,
                                                ad_len, n, k.data())
      != 0) {
    out.resize(pos);
    return false;
  }
  return true;
}

bool decrypt_in_place(const key& k, uint64_t nonce, const uint8_t* ad,
                      size_t ad_len, uint8_t* data, size_t len) {
  if (len < tag_len)
    return false;
  uint8_t n[12];
  nonce_bytes(nonce, n);
  unsigned long long plen = 0;
  // libsodium checks the tag before it decrypts, and allows the plaintext
  // to be written over the ciphertext.
  return crypto_aead_chacha20poly1305_ietf_decrypt(data, &plen, nullptr, data,
                                                   len, ad, ad_len, n, k.data())
         == 0;
}

template <size_t N>
void wipe(std::array<uint8_t, N>& x) {
  sodium_memzero(x.data(), x.size());
}

template void wipe<key_len>(key&);
template void wipe<hash_len>(digest&);

} // namespace crust::noise
