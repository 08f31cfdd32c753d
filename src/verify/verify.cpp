#include "modelsign/verify.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>

#include "bundle/bundle.h"
#include "bundle/dsse.h"
#include "bundle/statement.h"
#include "verify/certificate_chain.h"
#include "verify/sigstore_verifier.h"

namespace modelsign {

namespace {

// Standard PAE first; then the v0.2 compat PAE (key: the curve's hash; certificate:
// SHA-256 whatever the curve, as v0.2 hard-coded it).
Result<void> check_signature(const PublicKey& key, const bundle::Bundle& b, bool certificate_method) {
  auto scheme = key.scheme();
  if (!scheme) return fail(scheme.error());
  // model_signing builds the PAE with the constant in-toto type (spec §4.2).
  Bytes pae = bundle::pae(bundle::kInTotoPayloadType, b.payload);
  if (key.verify(*scheme, pae, b.signature)) return {};
  if (*scheme == SignatureScheme::kEcdsaP256Sha256 || *scheme == SignatureScheme::kEcdsaP384Sha384 ||
      *scheme == SignatureScheme::kEcdsaP521Sha512) {
    Bytes compat = bundle::compat_pae(bundle::kInTotoPayloadType, b.payload);
    std::string_view hash = certificate_method ? "SHA256" : hash_name(*scheme);
    if (key.verify_with_hash(hash, compat, b.signature)) return {};
  }
  return fail(ErrorCode::kVerification,
              fmt::format("Invalid signature: the DSSE signature does not verify with the {} "
                          "({}); the signature or its payload was altered, or it was made with "
                          "another key",
                          certificate_method ? "signing certificate's key" : "given public key",
                          key.describe()));
}

std::string join_names(const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, ", ")); }

Result<void> compare(const Manifest& expected, const Manifest& actual, bool ignore_unsigned,
                     const std::string& model_name) {
  std::map<std::string, const Resource*> want, have;
  for (const auto& r : expected.resources) want[r.name] = &r;
  for (const auto& r : actual.resources) have[r.name] = &r;
  std::vector<std::string> extra, missing, changed;
  for (const auto& [name, r] : have)
    if (!want.contains(name)) extra.push_back(name);
  for (const auto& [name, r] : want) {
    auto it = have.find(name);
    if (it == have.end()) {
      missing.push_back(name);
      continue;
    }
    if (it->second->algorithm != r->algorithm || it->second->digest != r->digest)
      changed.push_back(fmt::format("Hash mismatch for '{}': Expected '{}:{}', Actual '{}:{}'", name,
                                    r->algorithm, to_hex(r->digest), it->second->algorithm,
                                    to_hex(it->second->digest)));
  }
  if (ignore_unsigned) extra.clear();
  if (extra.empty() && missing.empty() && changed.empty()) return {};
  std::vector<std::string> parts;
  if (!extra.empty())
    parts.push_back(fmt::format("Extra files found in model '{}': {}", model_name, join_names(extra)));
  if (!missing.empty())
    parts.push_back(fmt::format("Missing files in model '{}': {}", model_name, join_names(missing)));
  for (auto& c : changed) parts.push_back(std::move(c));
  std::string hint = extra.empty() ? "" : " (use --ignore-unsigned-files to tolerate extra files)";
  return fail(ErrorCode::kMismatch,
              fmt::format("Signature mismatch: {}{}", fmt::join(parts, "; "), hint));
}

}  // namespace

Result<VerifyResult> verify_model(const std::string& model_path, std::string_view bundle_json,
                                  const VerifyOptions& options) {
  VerifyResult out;
  // 1. Structure and media type.
  auto b = bundle::parse_bundle(bundle_json);
  if (!b) return fail(b.error());

  // 2. The verification material must match the method.
  const bool cert_method = options.method == VerifyMethod::kCertificate;
  const bool sigstore_method = options.method == VerifyMethod::kSigstore;
  if (sigstore_method && b->material != bundle::Material::kSigstore)
    return fail(ErrorCode::kVerification,
                fmt::format("this signature carries a {}, not Sigstore keyless material: verify it with "
                            "'verify {}'",
                            bundle::to_string(b->material),
                            b->material == bundle::Material::kPublicKey ? "key" : "certificate"));
  if (!sigstore_method && b->material == bundle::Material::kSigstore)
    return fail(ErrorCode::kUnsupported,
                "this signature is a Sigstore (keyless) bundle: verify it with 'verify sigstore'");
  if (cert_method && b->material != bundle::Material::kCertificateChain)
    return fail(ErrorCode::kVerification,
                fmt::format("this signature carries a {}, not a certificate chain: verify it with "
                            "'verify key'",
                            bundle::to_string(b->material)));
  if (options.method == VerifyMethod::kKey && b->material != bundle::Material::kPublicKey)
    return fail(ErrorCode::kVerification,
                fmt::format("this signature carries a {}, not a public-key hint: verify it with "
                            "'verify certificate'",
                            bundle::to_string(b->material)));

  // 3. Signature.
  if (sigstore_method) {
    auto root = verify::load_trusted_root(options.sigstore);
    if (!root) return fail(root.error());
    auto v = verify::verify_sigstore(*b, options.sigstore, *root, &out.warnings);
    if (!v) return fail(v.error());
    out.signer = v->details.identity;
    out.sigstore = std::move(v->details);
  } else if (cert_method) {
    auto chain = verify::validate_chain(b->certificates, options.trust_anchors, options.log_fingerprints,
                                        &out.warnings);
    if (!chain) return fail(chain.error());
    if (auto s = check_signature(chain->leaf_key, *b, true); !s) return fail(s.error());
    out.signer = chain->leaf_subject;
  } else {
    if (!options.public_key)
      return fail(ErrorCode::kInvalidArgument, "verify key needs a public key (--public-key)");
    const PublicKey& key = *options.public_key;
    if (b->key_hint) {
      if (*b->key_hint != key.hint())
        return fail(ErrorCode::kVerification,
                    fmt::format("Key mismatch: The public key hash in the signature's verification "
                                "material does not match the provided public key (signature: {}, "
                                "given key: {}); use the public key of the signer",
                                *b->key_hint, key.hint()));
    } else {
      out.warnings.push_back(
          "WARNING: This model's signature uses an older verification material format. Please "
          "re-sign with an updated signer to use a public key identifier hash.");
    }
    if (auto s = check_signature(key, *b, false); !s) return fail(s.error());
    out.signer = key.hint();
  }

  // 4. Payload type, then the statement checks (type, predicate, subject, resources, root).
  if (b->payload_type != bundle::kInTotoPayloadType)
    return fail(ErrorCode::kVerification, fmt::format("Expected DSSE payload {}, but got {}",
                                                      bundle::kInTotoPayloadType, b->payload_type));
  auto st = bundle::parse_statement(
      std::string_view(reinterpret_cast<const char*>(b->payload.data()), b->payload.size()));
  if (!st) return fail(st.error());
  const Manifest& signed_m = st->manifest;

  // 5. Re-hash the model the way it was signed.
  SerializationOptions ser = options.serialization;
  if (options.use_recorded_serialization) {
    ser.method = signed_m.serialization.method;
    ser.hash = signed_m.serialization.hash;
    if (signed_m.serialization.shard_size) ser.shard_size = *signed_m.serialization.shard_size;
  } else {
    ser.method = Method::kFiles;
    ser.hash = HashAlgorithm::kSha256;
  }
  for (const auto& p : signed_m.serialization.ignore_paths) ser.ignore_paths.push_back(p);
  HashingOptions hashing = options.hashing;
  hashing.allow_empty_model = true;  // an emptied model is reported as missing files
  if (options.ignore_unsigned_files) {
    std::vector<std::string> paths;
    for (const auto& r : signed_m.resources) paths.push_back(r.path);
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    hashing.only_paths = std::move(paths);
  }
  auto actual = compute_manifest(model_path, ser, hashing);
  if (!actual) return fail(actual.error());

  // 6. Compare.
  if (auto c = compare(signed_m, *actual, options.ignore_unsigned_files, actual->model_name); !c)
    return fail(c.error());
  out.signed_manifest = signed_m;
  return out;
}

}  // namespace modelsign
