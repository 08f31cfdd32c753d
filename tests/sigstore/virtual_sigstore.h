// An in-process, throwaway Sigstore made with OpenSSL: a Fulcio CA (root and
// intermediate), a CT log, a Rekor log and a TSA. It mints keyless bundles and the
// trusted root that matches them, so that each failure case is built by construction.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/openssl_util.h"
#include "modelsign/crypto.h"

namespace modelsign::test {

class VirtualSigstore {
 public:
  // What one minted bundle looks like; every field defaults to a valid bundle.
  struct Mint {
    std::string san = "alice@example.com";
    bool san_is_uri = false;
    std::string issuer = "https://issuer.example";
    bool issuer_v2_extension = true;  // 1.3.6.1.4.1.57264.1.8 (UTF8String)
    bool issuer_v1_extension = true;  // 1.3.6.1.4.1.57264.1.1 (raw)
    std::int64_t integrated_time = 1'760'000'000;  // 2025-10-09
    std::int64_t leaf_not_before = 1'760'000'000 - 1;
    std::int64_t leaf_lifetime = 600;
    bool sct = true;
    bool sct_by_unknown_log = false;
    bool set = true;
    bool set_corrupt = false;
    bool entry_by_unknown_log = false;  // logId, SET and checkpoint of a log not in the root
    bool proof = true;
    bool proof_index_off_by_one = false;
    bool checkpoint_by_other_key = false;
    bool body_for_other_payload = false;
    bool tsa = false;
    std::int64_t tsa_time = 1'760'000'000;
    bool tsa_over_other_bytes = false;
    bool tsa_unknown = false;  // signed by a TSA that the trusted root does not list
    bool tsa_expired_now = false;
    bool tsa_embeds_certificate = true;  // certReq in the request  // TSA certificate valid at tsa_time, expired before today
    int bundle_minor_version = 3;
    // A Rekor v2 entry: dsse 0.0.2 body, Ed25519 checkpoint, no SET (time from a TSA).
    bool rekor_v2 = false;
  };
  // The trusted root's windows and members.
  struct Root {
    std::int64_t ca_start = 1'700'000'000;
    std::optional<std::int64_t> ca_end;
    bool with_tsa = true;
  };

  VirtualSigstore();
  ~VirtualSigstore();
  VirtualSigstore(const VirtualSigstore&) = delete;
  VirtualSigstore& operator=(const VirtualSigstore&) = delete;

  // A bundle (JSON) whose DSSE envelope signs `payload` with a fresh Fulcio leaf.
  std::string bundle(const std::string& payload, const Mint& m) const;
  std::string trusted_root(const Root& r) const;
  std::string trusted_root() const { return trusted_root(Root{}); }

 private:
  struct Ca {
    ossl::UniquePtr<EVP_PKEY> key;
    ossl::UniquePtr<X509> cert;
  };
  Ca make_ca(const char* cn, const Ca* issuer, bool tsa_leaf, std::int64_t not_after = 2'000'000'000) const;

  ossl::UniquePtr<EVP_PKEY> leaf_key_;
  Ca fulcio_root_, fulcio_intermediate_;
  Ca tsa_root_, tsa_leaf_, expired_tsa_leaf_, other_tsa_root_, other_tsa_leaf_;
  ossl::UniquePtr<EVP_PKEY> ct_key_;
  ossl::UniquePtr<EVP_PKEY> other_ct_key_;
  ossl::UniquePtr<EVP_PKEY> rekor_key_;
  ossl::UniquePtr<EVP_PKEY> other_rekor_key_;
  ossl::UniquePtr<EVP_PKEY> rekor_v2_key_;  // Ed25519
};

}  // namespace modelsign::test
