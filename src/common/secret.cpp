#include "modelsign/secret.h"

#include <openssl/crypto.h>

namespace modelsign {

void secure_wipe(void* p, std::size_t n) noexcept { OPENSSL_cleanse(p, n); }

}  // namespace modelsign
