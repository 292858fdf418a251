// An in-process medrelay for media e2e tests until the control-plane component is wired into the
// real binary: App + HttpComponent + server::MediaComponent + a ConsultationService over SQLite and
// an access log in a temp dir. At start it creates one room (argv[1]: d2p | d2p_with_n |
// d2p_with_d) with invites for the roles in argv[2..] and prints one JSON line on stdout:
//   {"http_port":…, "room":"…", "invites":{"doctor":{"id":…,"token":…},…}}
// Test-only routes: POST /test/admit (admits the patient), POST /test/cancel,
// GET /test/stats (media counters per worker, JSON), GET /test/ended (sessions ended, reasons).
// Stops on SIGTERM/SIGINT.
#include <uv.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "control/access_log.h"
#include "control/clock.h"
#include "control/consultation_service.h"
#include "control/sqlite_store.h"
#include "server/app.h"
#include "server/http_component.h"
#include "server/media_component.h"
#include "tests/support/test_support.h"

using namespace medrelay;

namespace {

class HarnessComponent final : public server::App::Component {
 public:
  HarnessComponent(server::App& app, server::HttpComponent& http, server::MediaComponent& media,
                   std::string mode, std::vector<std::string> roles)
      : app_(app), http_(http), media_(media), mode_(std::move(mode)), roles_(std::move(roles)) {
    control::AccessLogOptions o;
    o.dir = dir_.path() / "log";
    o.node_id = "harness";
    o.key = control::AccessLogKey::generate();
    auto log = control::AccessLog::open(o, &app.control());
    if (!log.ok()) throw std::runtime_error(log.error().message);
    log_ = std::move(log).value();
    auto store = control::SqliteStore::open(dir_.path() / "state.db");
    if (!store.ok()) throw std::runtime_error(store.error().message);
    store_ = std::move(store).value();
    control::ConsultationServiceOptions so;
    so.token_pepper.fill(9);
    service_ =
        std::make_unique<control::ConsultationService>(app.control(), *store_, *log_, clock_, so);
    media.endpoint().setConsultationService(service_.get());
    addRoutes();
  }
  control::ConsultationService& service() { return *service_; }

  std::string name() const override { return "harness"; }
  Result<void> start() override {
    if (auto r = service_->start(); !r.ok()) return r;
    media_.endpoint().setConsultationService(service_.get());
    control::CreateRoomRequest req;
    req.mode = *control::parseRoomMode(mode_);
    req.institution_id = "clinic-1";
    req.institution_contact = "+81-3-0000-0000";
    req.doctor_display_name = "Dr. Test";
    service_->createRoom(req, [this](Result<control::Room> room) {
      if (!room.ok()) {
        std::cerr << "createRoom: " << room.error().message << "\n";
        app_.requestShutdown();
        return;
      }
      room_ = room->id;
      out_ = {{"http_port", http_.port()},
              {"room", room_},
              {"access_log_dir", (dir_.path() / "log").string()},
              {"invites", nlohmann::json::object()}};
      issue(0);
    });
    return {};
  }
  void drain(std::chrono::milliseconds, std::function<void()> done) override { done(); }
  void stop() override { service_->setTerminator(nullptr); }

 private:
  void issue(size_t i) {
    if (i == roles_.size()) {
      std::cout << out_.dump() << std::endl;
      return;
    }
    control::CreateInviteRequest req;
    req.role = *control::parseRole(roles_[i]);
    req.subject = "subject-" + roles_[i];
    if (req.role != control::Role::kDoctor && req.role != control::Role::kPatient) {
      req.consent = control::ConsentRecord{"patient-1", clock_.nowUs(), req.role};
    }
    service_->createInvite(room_, req, [this, i](Result<control::IssuedInvite> inv) {
      if (!inv.ok()) {
        std::cerr << "createInvite: " << inv.error().message << "\n";
        app_.requestShutdown();
        return;
      }
      out_["invites"][roles_[i]] = {{"id", inv->invite.id}, {"token", inv->token}};
      issue(i + 1);
    });
  }

  void addRoutes() {
    using net::http::Request;
    using net::http::Responder;
    using net::http::Response;
    auto& r = http_.router();
    r.add("POST", "/test/admit", [this](Request&, Responder res) {
      service_->admit(
          room_, control::Caller::ofBackend(), [res](Result<control::Room> room) mutable {
            res.send(room.ok() ? Response::empty(204)
                               : Response::error(409, room.error().code, room.error().message));
          });
    });
    r.add("POST", "/test/cancel", [this](Request&, Responder res) {
      service_->cancelRoom(room_, [res](Result<control::Room> room) mutable {
        res.send(room.ok() ? Response::empty(204)
                           : Response::error(409, room.error().code, room.error().message));
      });
    });
    r.add("GET", "/test/stats", [this](Request&, Responder res) {
      nlohmann::json workers = nlohmann::json::array();
      for (size_t i = 0; i < media_.endpoint().workerCount(); ++i) {
        nlohmann::json w;
        media_.endpoint().inspect(i, [&](media::Router& router) {
          auto& m = media_.endpoint().workerMetrics(i);
          const auto& tc = router.transport().counters();
          w["sessions"] = router.sessionCount();
          w["retransmissions"] = m.retransmissions.value();
          w["nacks_in"] = m.nacks[metrics::Direction::kIn].value();
          w["nacks_out"] = m.nacks[metrics::Direction::kOut].value();
          w["pli_out"] =
              m.keyframe_requests[metrics::KeyframeRequest::kPli][metrics::Direction::kOut].value();
          w["rtp_in"] = m.packets[metrics::PacketKind::kRtp][metrics::Direction::kIn].value();
          w["rtp_out"] = m.packets[metrics::PacketKind::kRtp][metrics::Direction::kOut].value();
          w["drop_srtp"] = m.dropped[metrics::DropReason::kSrtp].value();
          w["srtp_replay"] =
              m.srtp_errors[metrics::Direction::kIn][metrics::SrtpError::kReplay].value();
          w["dtls_ok"] = m.dtls_handshakes.value();
          w["dtls_fingerprint_failures"] =
              m.dtls_failures[metrics::DtlsFailure::kFingerprint].value();
          w["drop_unknown_tuple"] = tc.dropped(media::WorkerTransport::Drop::kUnknownTuple);
          w["drop_ice_rejected"] = tc.dropped(media::WorkerTransport::Drop::kIceRejected);
          w["drop_not_connected"] = m.dropped[metrics::DropReason::kNotConnected].value();
          w["drop_waiting_keyframe"] = m.dropped[metrics::DropReason::kWaitingKeyframe].value();
          w["udp_port"] = media_.endpoint().udpPort(i);
          w["sctp_associations"] = m.sctp_associations.value();
          w["dc_in"] = m.datachannel_messages[metrics::Direction::kIn].value();
          w["dc_out"] = m.datachannel_messages[metrics::Direction::kOut].value();
          for (size_t i2 = 0; i2 < metrics::labelCount<metrics::DataChannelRefusal>(); ++i2) {
            const auto reason = static_cast<metrics::DataChannelRefusal>(i2);
            w["dc_refused_" + std::string(metrics::labelValue(reason))] =
                m.datachannel_refused[reason].value();
          }
        });
        workers.push_back(w);
      }
      res.send(Response::json(
          200, {{"workers", workers}, {"room_worker", media_.endpoint().workerFor(room_)}}));
    });
  }

  server::App& app_;
  server::HttpComponent& http_;
  server::MediaComponent& media_;
  std::string mode_;
  std::vector<std::string> roles_;
  test::TempDir dir_;
  control::SystemClock clock_;
  std::unique_ptr<control::AccessLog> log_;
  std::unique_ptr<control::SqliteStore> store_;
  std::unique_ptr<control::ConsultationService> service_;
  std::string room_;
  nlohmann::json out_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "d2p";
  std::vector<std::string> roles;
  for (int i = 2; i < argc; ++i) roles.emplace_back(argv[i]);
  if (roles.empty()) roles = {"doctor", "patient"};
  server::Config config;
  config.http.listen = "127.0.0.1:0";
  config.media.listen_ip = "127.0.0.1";
  config.media.udp_port = 0;
  config.media.tcp_port = 0;
  config.media.workers = 2;
  if (const char* w = std::getenv("MEDRELAY_HARNESS_WORKERS")) config.media.workers = std::atoi(w);
  if (const char* r = std::getenv("MEDRELAY_HARNESS_DC_RATE")) {  // messages/s; bytes/s ×64 KiB
    config.media.datachannel_messages_per_second = static_cast<uint32_t>(std::atoi(r));
    config.media.datachannel_bytes_per_second =
        config.media.datachannel_messages_per_second * 65536;
  }
  server::App app(config);
  auto http = std::make_unique<server::HttpComponent>(app);
  auto media = std::make_unique<server::MediaComponent>(app, http->router(), nullptr);
  auto harness = std::make_unique<HarnessComponent>(app, *http, *media, mode, roles);
  app.addComponent(std::move(harness));
  app.addComponent(std::move(http));
  app.addComponent(std::move(media));
  return app.run();
}
