#include "media/chat_envelope.h"

#include <nlohmann/json.hpp>

namespace medrelay::media::chat {

bool rewrite(std::string_view in, std::string_view fromRole, std::string& out) {
  // An object or nothing: refuse anything else before the parser sees it.
  const size_t first = in.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || in[first] != '{') return false;
  nlohmann::json j = nlohmann::json::parse(in.begin(), in.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.size() != 3) return false;
  auto type = j.find("type");
  auto id = j.find("id");
  auto text = j.find("text");
  if (type == j.end() || id == j.end() || text == j.end()) return false;
  if (!type->is_string() || type->get_ref<const std::string&>() != "chat") return false;
  if (!id->is_string() || !text->is_string()) return false;
  const auto& idStr = id->get_ref<const std::string&>();
  if (idStr.empty() || idStr.size() > kMaxIdLength) return false;
  nlohmann::json o = nlohmann::json::object();
  o["type"] = "chat";
  o["from"] = std::string(fromRole);
  o["id"] = std::move(*id);
  o["text"] = std::move(*text);
  out = o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return true;
}

std::string systemNotice(std::string_view notice) {
  nlohmann::json o = {{"type", "system"}, {"notice", std::string(notice)}};
  return o.dump();
}

}  // namespace medrelay::media::chat
