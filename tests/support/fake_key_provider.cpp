#include "fake_key_provider.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "crypto/openssl_util.h"

namespace modelsign::test {

namespace {

// The one fixed key of the fakes, made on first use.
EVP_PKEY* fixed_key() {
  static const ossl::UniquePtr<EVP_PKEY> key = [] {
    ossl::UniquePtr<EVP_PKEY> k(EVP_EC_gen("P-256"));
    if (!k) throw std::runtime_error("EVP_EC_gen failed");
    return k;
  }();
  return key.get();
}

const PublicKey& fixed_public_key() {
  static const PublicKey pub = [] {
    auto p = public_key_from_pkey(fixed_key());
    if (!p) throw std::runtime_error("fake key: " + p.error().describe());
    return std::move(*p);
  }();
  return pub;
}

}  // namespace

FakeSigner::FakeSigner(Mode mode) : mode_(mode) {}

const PublicKey& FakeSigner::public_key() const { return fixed_public_key(); }

Result<Bytes> FakeSigner::sign(const SignRequest& request) {
  {
    std::lock_guard lock(mu_);
    requests_.emplace_back(request.message.begin(), request.message.end());
  }
  if (mode_ == Mode::kFail) return fail(ErrorCode::kBackend, "the fake signer refuses to sign");
  ossl::UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, fixed_key()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, request.message.data(), request.message.size()) != 1)
    return fail(openssl_error(ErrorCode::kInternal, "fake signer"));
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, request.message.data(), request.message.size()) != 1)
    return fail(openssl_error(ErrorCode::kInternal, "fake signer"));
  sig.resize(len);
  if (mode_ == Mode::kCorruptSignature) sig[sig.size() - 1] ^= 0x01;
  return sig;
}

std::vector<Bytes> FakeSigner::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeKeyProvider::record(std::string_view what, std::string_view reference,
                             const ProviderOptions& o) const {
  std::string line = std::string(what) + " " + std::string(reference);
  for (const auto& [k, v] : o.params) line += " " + k;
  std::lock_guard lock(mu_);
  calls_.push_back(std::move(line));
}

Result<std::unique_ptr<Signer>> FakeKeyProvider::open_signer(std::string_view reference,
                                                             const ProviderOptions& options) const {
  record("open_signer", reference, options);
  return std::unique_ptr<Signer>(new FakeSigner(mode_));
}

Result<PublicKey> FakeKeyProvider::public_key(std::string_view reference,
                                              const ProviderOptions& options) const {
  record("public_key", reference, options);
  return fixed_public_key();
}

std::vector<std::string> FakeKeyProvider::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

}  // namespace modelsign::test
