#include "control/webhook_payload.h"

#include "control/fhir_audit_event.h"

namespace medrelay::control {

std::optional<WebhookFormat> parseWebhookFormat(std::string_view name) {
  if (name == "json") return WebhookFormat::kJson;
  if (name == "fhir") return WebhookFormat::kFhir;
  return std::nullopt;
}

std::string webhookMessageId(const AccessRecord& record) {
  // The node keeps ids of two relays apart at one backend; seq is unique within a log.
  std::string id = "msg_";
  if (!record.node.empty()) id += record.node + "_";
  return id + std::to_string(record.seq);
}

std::string webhookBody(const AccessRecord& record, const ChainHead& head, WebhookFormat format) {
  if (format == WebhookFormat::kFhir) return toFhirBundle({record}, head).dump();
  // Standard Webhooks payload shape: type, timestamp, data.
  nlohmann::json body = {{"type", "access_log." + std::string(toString(record.event))},
                         {"timestamp", formatTime(record.time_us)},
                         {"seq", record.seq},
                         {"data", toJson(record, true)},
                         {"chain_head", toJson(head)}};
  return body.dump();
}

std::string_view webhookContentType(WebhookFormat format) {
  return format == WebhookFormat::kFhir ? "application/fhir+json" : "application/json";
}

}  // namespace medrelay::control
