#include "control/webhook_signature.h"

#include <gtest/gtest.h>

namespace medrelay::control {
namespace {

// The worked example of the Standard Webhooks specification (checked independently with
// Python's hmac module).
TEST(WebhookSignatureTest, MatchesTheStandardWebhooksExample) {
  auto secrets = parseWebhookSecrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
  ASSERT_TRUE(secrets) << secrets.error().message;
  ASSERT_EQ(secrets->size(), 1u);
  EXPECT_EQ(secrets->front().size(), 24u);
  EXPECT_EQ(webhookSignature(*secrets, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                             R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignatureTest, TwoSecretsWhileRotatingSignTwice) {
  auto secrets = parseWebhookSecrets(
      "# new, then old\n"
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\r\n"
      "\n"
      "  whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=  \n");
  ASSERT_TRUE(secrets) << secrets.error().message;
  ASSERT_EQ(secrets->size(), 2u);
  EXPECT_EQ(secrets->at(1).size(), 32u);
  const std::string header = webhookSignature(*secrets, "msg_1", 1614265330, "{}");
  const auto space = header.find(' ');
  ASSERT_NE(space, std::string::npos);
  EXPECT_EQ(header.substr(0, space), webhookSignature({secrets->at(0)}, "msg_1", 1614265330, "{}"));
  EXPECT_EQ(header.substr(space + 1),
            webhookSignature({secrets->at(1)}, "msg_1", 1614265330, "{}"));
}

TEST(WebhookSignatureTest, BadSecretFilesAreRefusedWithTheLine) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"", "no secret"},
      {"# only a comment\n", "no secret"},
      {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", "line 1: a secret is written whsec_"},
      {"\nwhsec_not*base64!\n", "line 2: the part after whsec_ is not base64"},
      {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS\n", "not base64"},
      {"whsec_AAECAw==\n", "24 to 64 bytes"},
      {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\nwhsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
       "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
       "line 3: at most two secrets"},
  };
  for (const auto& c : cases) {
    auto r = parseWebhookSecrets(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, "invalid_secret");
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
  }
  auto missing = loadWebhookSecrets("/nonexistent/hook.secret");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "secret_unreadable");
}

TEST(WebhookSignatureTest, Base64RoundTripsAndRejectsNonCanonicalPadding) {
  for (size_t n = 0; n < 40; ++n) {
    std::vector<uint8_t> bytes(n);
    for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(i * 37 + 11);
    const std::string text = base64Encode(bytes.data(), bytes.size());
    std::vector<uint8_t> back;
    if (n == 0) {
      EXPECT_FALSE(base64Decode(text, back));
      continue;
    }
    ASSERT_TRUE(base64Decode(text, back)) << text;
    EXPECT_EQ(back, bytes);
  }
  std::vector<uint8_t> out;
  EXPECT_FALSE(base64Decode("QR==", out));  // leftover bits set
  EXPECT_FALSE(base64Decode("QQ=", out));
  EXPECT_FALSE(base64Decode("Q Q=", out));
}

}  // namespace
}  // namespace medrelay::control
