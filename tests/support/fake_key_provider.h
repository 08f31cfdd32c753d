// Test doubles beside the KeyProvider interface: a Signer with a fixed in-memory key
// (P-256, made once per process with OpenSSL) that can corrupt its signatures or fail,
// and logs what it was asked to sign; and a KeyProvider that hands out such signers for
// "fake:" references and logs how it was called. No token or TPM is needed.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "modelsign/key_provider.h"

namespace modelsign::test {

class FakeSigner final : public Signer {
 public:
  enum class Mode {
    kGood,              // a correct signature
    kCorruptSignature,  // a signature with one bit flipped (a faulty key or token)
    kFail,              // an error, as a backend that refuses
  };
  explicit FakeSigner(Mode mode = Mode::kGood);

  SignatureScheme scheme() const override { return SignatureScheme::kEcdsaP256Sha256; }
  const PublicKey& public_key() const override;
  Result<Bytes> sign(const SignRequest& request) override;
  std::string describe() const override { return "fake signer"; }

  // The messages (DSSE PAEs) this signer was asked to sign, in order.
  std::vector<Bytes> requests() const;

 private:
  Mode mode_;
  mutable std::mutex mu_;
  std::vector<Bytes> requests_;
};

class FakeKeyProvider final : public KeyProvider {
 public:
  explicit FakeKeyProvider(FakeSigner::Mode mode = FakeSigner::Mode::kGood) : mode_(mode) {}
  std::string_view name() const override { return "fake"; }
  bool claims(std::string_view reference) const override { return reference.starts_with("fake:"); }
  Result<std::unique_ptr<Signer>> open_signer(std::string_view reference,
                                              const ProviderOptions& options) const override;
  Result<PublicKey> public_key(std::string_view reference,
                               const ProviderOptions& options) const override;

  // "open_signer fake:x" / "public_key fake:x", in order; option keys are appended.
  std::vector<std::string> calls() const;

 private:
  void record(std::string_view what, std::string_view reference, const ProviderOptions& o) const;
  FakeSigner::Mode mode_;
  mutable std::mutex mu_;
  mutable std::vector<std::string> calls_;
};

}  // namespace modelsign::test
