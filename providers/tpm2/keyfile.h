// TSS2 PRIVATE KEY files ("TPM 2.0 Key Files", as written by the tpm2-openssl provider,
// tpm2-tss-engine and openssl_tpm2_engine): a TPM-wrapped private key with its public
// area and the parent it loads under. Only loadable keys (OID 2.23.133.10.1.3) without
// policies are supported.
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include <string>
#include <string_view>

#include "modelsign/error.h"

namespace modelsign::tpm2 {

inline constexpr std::string_view kTss2PemHeader = "-----BEGIN TSS2 PRIVATE KEY-----";

struct KeyFile {
  bool empty_auth = false;          // the key has no authorisation value
  TPM2_HANDLE parent = TPM2_RH_OWNER;  // 0x40000001: the owner storage primary
  TPM2B_PUBLIC pub{};
  TPM2B_PRIVATE priv{};
};

// Whether `text` starts (after optional whitespace) with the TSS2 PRIVATE KEY header.
bool looks_like_tss2_pem(std::string_view text);

Result<KeyFile> parse_key_file(std::string_view pem);
Result<std::string> write_key_file(const KeyFile& key);

}  // namespace modelsign::tpm2
