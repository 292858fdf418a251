#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "control/access_log_record.h"
#include "control/chain_head.h"

namespace medrelay::control {

enum class WebhookFormat : uint8_t { kJson, kFhir };
std::optional<WebhookFormat> parseWebhookFormat(std::string_view name);

// webhook-id of a record's message: stable across retries, replays and restarts.
std::string webhookMessageId(const AccessRecord& record);
// The body of a record's message in the endpoint's format (docs/access-log.md "Webhooks").
std::string webhookBody(const AccessRecord& record, const ChainHead& head, WebhookFormat format);
std::string_view webhookContentType(WebhookFormat format);

}  // namespace medrelay::control
