// The one place that knows which providers exist. A key reference is routed by its
// scheme: "pkcs11:" -> PKCS#11, "handle:"/"tpm2:" or a TSS2 PEM -> TPM, anything else
// -> a PEM file.
#include <fmt/format.h>

#include "modelsign/key_provider.h"
#include "registry/providers.h"

namespace modelsign {

namespace {
std::vector<std::unique_ptr<KeyProvider>>& registry() {
  static auto* providers = [] {
    auto* v = new std::vector<std::unique_ptr<KeyProvider>>();
    register_builtin_providers(*v);
    return v;
  }();
  return *providers;
}

std::string built_in_names() {
  std::vector<std::string> names;
  for (const auto& q : registry()) names.emplace_back(q->name());
  return fmt::format("{}", fmt::join(names, ", "));
}
}  // namespace

void detail::add_provider_for_testing(std::unique_ptr<KeyProvider> p) {
  registry().insert(registry().begin(), std::move(p));
}

std::vector<const KeyProvider*> all_providers() {
  std::vector<const KeyProvider*> out;
  for (const auto& p : registry()) out.push_back(p.get());
  return out;
}

Result<const KeyProvider*> find_provider(std::string_view reference) {
  // Providers are ordered most specific first; the PEM provider claims the rest.
  for (const auto& p : registry())
    if (p->claims(reference)) return p.get();
  return fail(ErrorCode::kUnsupported,
              fmt::format("no key provider handles '{}' (built-in providers: {})", reference,
                          built_in_names()));
}

Result<const KeyProvider*> provider_by_name(std::string_view name) {
  for (const auto& p : registry())
    if (p->name() == name) return p.get();
  return fail(ErrorCode::kUnsupported,
              fmt::format("this build has no '{}' key provider (built-in providers: {})", name,
                          built_in_names()));
}

Result<std::unique_ptr<Signer>> open_signer(std::string_view reference, const ProviderOptions& options) {
  auto p = find_provider(reference);
  if (!p) return fail(p.error());
  return (*p)->open_signer(reference, options);
}

Result<PublicKey> load_public_key(std::string_view reference, const ProviderOptions& options) {
  auto p = find_provider(reference);
  if (!p) return fail(p.error());
  return (*p)->public_key(reference, options);
}

}  // namespace modelsign
