#include "control/cluster/join_ticket.h"

#include <gtest/gtest.h>

#include <string>

namespace medrelay::control::cluster {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

TEST(JoinTicketTest, SealedTicketOpensWithTheSameSecretOnly) {
  TicketSealer a("cluster-secret-0123456789abcdef");
  TicketSealer b("another-secret-0123456789abcdef");
  JoinTicket t{"rm_0123", "mri_tokenvalue", kNow + 30000};
  const std::string sealed = a.seal(t);
  EXPECT_EQ(sealed.find("mri_tokenvalue"), std::string::npos) << "the token must not show";
  EXPECT_EQ(
      sealed.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos)
      << "URL-safe";
  auto opened = a.open(sealed, kNow);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->room_id, "rm_0123");
  EXPECT_EQ(opened->token, "mri_tokenvalue");
  EXPECT_EQ(opened->expires_at_ms, kNow + 30000);
  EXPECT_EQ(b.open(sealed, kNow).error().code, "invalid_ticket");
  // Two seals of the same ticket differ (random nonce).
  EXPECT_NE(a.seal(t), sealed);
}

TEST(JoinTicketTest, ExpiredTamperedOrMalformedTicketsAreRefused) {
  TicketSealer s("cluster-secret-0123456789abcdef");
  const std::string sealed = s.seal({"rm_1", "mri_x", kNow});
  EXPECT_TRUE(s.open(sealed, kNow).ok());
  EXPECT_EQ(s.open(sealed, kNow + 1).error().code, "invalid_ticket");
  for (size_t i = 0; i < sealed.size(); i += 7) {
    std::string t = sealed;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(s.open(t, kNow).ok()) << i;
  }
  EXPECT_FALSE(s.open("", kNow).ok());
  EXPECT_FALSE(s.open("A", kNow).ok());
  EXPECT_FALSE(s.open("!!!!", kNow).ok());
  EXPECT_FALSE(s.open(std::string(5000, 'A'), kNow).ok());
  EXPECT_FALSE(s.open(sealed.substr(0, sealed.size() - 3), kNow).ok());
}

}  // namespace
}  // namespace medrelay::control::cluster
