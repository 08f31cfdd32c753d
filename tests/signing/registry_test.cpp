// The registry's lookups: a provider by name or by the reference it claims, and the
// error (not a null pointer) when none matches.
#include <gtest/gtest.h>

#include "modelsign/key_provider.h"

namespace modelsign {
namespace {

TEST(Registry, LookupByUnknownNameIsAnErrorNamingTheBuiltInProviders) {
  auto p = provider_by_name("no-such-provider");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(p.error().message.find("this build has no 'no-such-provider' key provider"),
            std::string::npos)
      << p.error().message;
  for (const char* name : {"pkcs11", "tpm2", "pem"})
    EXPECT_NE(p.error().message.find(name), std::string::npos) << p.error().message;
}

TEST(Registry, LookupByKnownNameAndByReference) {
  for (const char* name : {"pkcs11", "tpm2", "pem"}) {
    auto p = provider_by_name(name);
    ASSERT_TRUE(p) << p.error().describe();
    EXPECT_EQ((*p)->name(), name);
  }
  auto pem = find_provider("keys/model.pem");
  ASSERT_TRUE(pem) << pem.error().describe();
  EXPECT_EQ((*pem)->name(), "pem");
}

TEST(Registry, EmptyReferenceIsClaimedByNoProvider) {
  auto p = find_provider("");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(p.error().message.find("no key provider handles ''"), std::string::npos)
      << p.error().message;
}

}  // namespace
}  // namespace modelsign
