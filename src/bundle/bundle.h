// The Sigstore bundle (v0.3 JSON) wrapping the DSSE envelope (spec §6).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelsign/crypto.h"

namespace modelsign::bundle {

inline constexpr std::string_view kBundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json";

enum class Material {
  kPublicKey,         // key / pkcs11-key / tpm2-key bundles
  kCertificateChain,  // certificate bundles: leaf then the user's chain
  kSigstore,          // keyless: a Fulcio leaf and a transparency-log entry
};

struct Bundle {
  std::string media_type{kBundleMediaType};
  Material material = Material::kPublicKey;
  std::optional<std::string> key_hint;  // v1.1+ publicKey.hint
  bool legacy_public_key = false;       // pre-1.1 publicKey.rawBytes/keyDetails
  bool has_tlog_entries_field = false;  // v1.1+ writers always write tlogEntries
  bool keyid_null_or_absent = true;     // v1.1+ writers write keyid ""
  std::vector<Bytes> certificates;      // DER, leaf first
  std::size_t tlog_entries = 0;
  std::string payload_type;
  Bytes payload;    // the exact signed statement bytes
  Bytes signature;  // signatures[0].sig
};

// Structure and limits only; no cryptographic check.
Result<Bundle> parse_bundle(std::string_view json);
// Whether the bundle may have been signed over v0.2's compat PAE (spec §4.3): pre-1.1
// form, a payload within limits::kMaxLegacyPayloadBytes that names the Digests/v0.1
// predicate. Decided before any signature check, so that no other bundle makes the
// verifier build that (up to 4 times larger) encoding.
bool may_use_compat_pae(const Bundle& b);
// Compact JSON with only schema fields, as model_signing v1.1 writes it.
std::string write_bundle(const Bundle& b);

std::string_view to_string(Material m);

}  // namespace modelsign::bundle
