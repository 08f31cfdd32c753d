// Signs a model with a PEM key and verifies it, through the installed public API only.
// Usage: consumer KEY.pem MODEL_DIR
#include <modelsign/key_provider.h>
#include <modelsign/sign.h>
#include <modelsign/verify.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  auto signer = modelsign::open_signer(argv[1], {});
  if (!signer) {
    std::fprintf(stderr, "open_signer: %s\n", signer.error().message.c_str());
    return 1;
  }
  auto signed_model = modelsign::sign_model(argv[2], **signer, {});
  if (!signed_model) {
    std::fprintf(stderr, "sign_model: %s\n", signed_model.error().message.c_str());
    return 1;
  }
  modelsign::VerifyOptions opts;
  opts.method = modelsign::VerifyMethod::kKey;
  opts.public_key = (*signer)->public_key();
  auto verified = modelsign::verify_model(argv[2], signed_model->bundle_json, opts);
  if (!verified) {
    std::fprintf(stderr, "verify_model: %s\n", verified.error().message.c_str());
    return 1;
  }
  std::printf("signed and verified %zu files\n", verified->signed_manifest.resources.size());
  return 0;
}
