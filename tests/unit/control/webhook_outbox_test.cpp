#include "control/webhook_outbox.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace medrelay::control {
namespace {

WebhookDelivery row(uint64_t seq) {
  WebhookDelivery d;
  d.seq = seq;
  d.event = "room_created";
  d.message_id = "msg_n_" + std::to_string(seq);
  d.body = R"({"seq":)" + std::to_string(seq) + "}";
  d.created_us = 1000 + static_cast<int64_t>(seq);
  d.next_attempt_us = 0;
  return d;
}

TEST(WebhookOutboxTest, DeliveriesAndTheCursorSurviveReopening) {
  test::TempDir dir;
  const auto path = dir.path() / "webhooks.db";
  {
    auto box = WebhookOutbox::open(path);
    ASSERT_TRUE(box) << box.error().message;
    EXPECT_EQ((*box)->cursor("https://a/").value(), 0u);
    ASSERT_TRUE((*box)->enqueue("https://a/", {row(1), row(3)}, 4));
    ASSERT_TRUE((*box)->enqueue("https://b/", {row(1)}, 1));
  }
  auto box = WebhookOutbox::open(path);
  ASSERT_TRUE(box);
  EXPECT_EQ((*box)->cursor("https://a/").value(), 4u);
  EXPECT_EQ((*box)->cursor("https://b/").value(), 1u);
  EXPECT_EQ((*box)->pendingCount().value(), 3u);
  auto head = (*box)->head("https://a/");
  ASSERT_TRUE(head && head.value());
  EXPECT_EQ(head.value()->seq, 1u);
  EXPECT_EQ(head.value()->message_id, "msg_n_1");
  EXPECT_EQ(head.value()->body, R"({"seq":1})");
}

TEST(WebhookOutboxTest, HeadOfLineMovesOnDeliveryAndDeadLetterAndBackOnReplay) {
  test::TempDir dir;
  auto opened = WebhookOutbox::open(dir.path() / "webhooks.db");
  ASSERT_TRUE(opened);
  WebhookOutbox& box = **opened;
  ASSERT_TRUE(box.enqueue("e", {row(1), row(2), row(3)}, 3));
  // Enqueueing a record twice (a retried batch) keeps one delivery.
  ASSERT_TRUE(box.enqueue("e", {row(3)}, 3));
  EXPECT_EQ(box.pendingCount().value(), 3u);

  auto h1 = box.head("e").value();
  ASSERT_TRUE(h1);
  ASSERT_TRUE(box.markFailed(h1->id, 1, 500, "HTTP 500", false, 5000));
  auto again = box.head("e").value();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->seq, 1u) << "a failed delivery stays the head of line";
  EXPECT_EQ(again->attempts, 1u);
  EXPECT_EQ(again->next_attempt_us, 5000);
  EXPECT_EQ(again->last_error, "HTTP 500");

  ASSERT_TRUE(box.markDelivered(h1->id, 204, 6000));
  auto h2 = box.head("e").value();
  ASSERT_TRUE(h2);
  EXPECT_EQ(h2->seq, 2u);
  ASSERT_TRUE(box.markFailed(h2->id, 10, 0, "timeout", true, 0));
  EXPECT_EQ(box.head("e").value()->seq, 3u) << "a dead letter no longer blocks the line";

  DeliveryQuery dead;
  dead.state = DeliveryState::kDead;
  auto dead_rows = box.list(dead).value();
  ASSERT_EQ(dead_rows.size(), 1u);
  EXPECT_EQ(dead_rows[0].seq, 2u);
  EXPECT_EQ(dead_rows[0].attempts, 10u);

  auto replayed = box.replay(h2->id, 7000).value();
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->state, DeliveryState::kPending);
  EXPECT_EQ(replayed->attempts, 0u);
  EXPECT_EQ(box.head("e").value()->seq, 2u);
  EXPECT_FALSE(box.replay(999, 7000).value());

  DeliveryQuery page;
  page.after_id = h1->id;
  page.limit = 1;
  auto rows = box.list(page).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, h2->id);
  DeliveryQuery since;
  since.since_us = 1003;
  EXPECT_EQ(box.list(since).value().size(), 1u);
}

}  // namespace
}  // namespace medrelay::control
