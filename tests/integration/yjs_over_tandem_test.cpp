// yjs_over_tandem_test.cpp — Yjs documents over the Tandem connection (PROTOCOL.md §19): the
// client core's binary messages (Client::send_binary / on_binary over LwsTransport) carry
// Hocuspocus-framed Yjs beside the JSON protocol on one /ws socket, against a real
// tandem-server. A document is opened with the connection's own token (an empty auth token),
// an update is stored, acknowledged and relayed to another connection; a read-only token's
// update is refused; a document outside the token is denied; malformed binary gets a Tandem
// error and the connection goes on.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "quiet_client.h"
#include "tandem/protocol/errors.h"
#include "server_test_support.h"
#include "yjs_updates.h"
#include "yjs/messages.h"

namespace tandem::integration {
namespace {

namespace hocuspocus = server::yjs::hocuspocus;

constexpr std::string_view kDoc = "notes";

std::string update_of(int client) { return server::testing::yjs_update_of({client}); }
std::string auth_message(std::string_view doc, std::string_view token) { return server::testing::hocuspocus_auth(doc, token); }

struct Peer {
  Peer(const std::string& url, const TokenSpec& spec, std::uint64_t seed) {
    ClientConfig config;
    config.session.url = url;
    config.session.token = mint_token(spec);
    native::LwsTransportSettings quiet;
    quiet.log_level = native::LwsLogLevel::Silent;
    client = std::make_unique<native::NativeClient>(config, quiet, seed);
    client->client().on_binary([this](std::string_view message) { binary.emplace_back(message); });
    client->client().on_message = [this](const protocol::ServerFrame& frame) {
      if (const auto* error = std::get_if<protocol::ErrorReply>(&frame.message)) errors.push_back(*error);
    };
  }
  bool got(const std::string& message) const { return std::find(binary.begin(), binary.end(), message) != binary.end(); }
  void send(const std::string& message) { EXPECT_EQ(client->client().send_binary(message), SendStatus::Sent); }

  std::unique_ptr<native::NativeClient> client;
  std::vector<std::string> binary;
  std::vector<protocol::ErrorReply> errors;
};

class yjs_over_tandem_test : public ServerTest {
 protected:
  bool poll_until(const std::function<bool()>& done) {
    return pump_until(done, [&] {
      for (Peer* p : everyone_) p->client->poll(milliseconds{5});
    }, kStepDeadline);
  }
  // Started, open, and attached to the document (authenticated, its step 1 answered).
  void open_document(Peer& peer, hocuspocus::Scope expected = hocuspocus::Scope::ReadWrite) {
    everyone_.push_back(&peer);
    peer.client->start();
    ASSERT_TRUE(poll_until([&] { return peer.client->client().state() == State::Open; })) << server.output();
    peer.send(auth_message(kDoc, ""));
    ASSERT_TRUE(poll_until([&] { return peer.got(hocuspocus::encode_authenticated(kDoc, expected)); }))
        << server.output();
    peer.send(hocuspocus::encode_sync_step1(kDoc, std::string_view("\0", 1)));
    ASSERT_TRUE(poll_until([&] { return peer.got(hocuspocus::encode_sync_step2(kDoc, std::string_view("\0\0", 2))); }))
        << server.output();
  }
  std::vector<Peer*> everyone_;
};

TEST_F(yjs_over_tandem_test, a_document_on_the_tandem_connection_is_stored_acknowledged_and_relayed) {
  Peer ana(server.ws_url(), {.sub = "ana"}, 1), ben(server.ws_url(), {.sub = "ben"}, 2);
  open_document(ana);
  open_document(ben);

  ana.send(hocuspocus::encode_sync_update(kDoc, update_of(1)));
  ASSERT_TRUE(poll_until([&] { return ben.got(hocuspocus::encode_sync_update(kDoc, update_of(1))); }))
      << server.output();
  EXPECT_TRUE(poll_until([&] { return ana.got(hocuspocus::encode_sync_status(kDoc, true)); })) << "acknowledged";

  // The JSON protocol goes on beside it on the same socket.
  std::optional<Result<protocol::Subscribed>> joined;
  ana.client->client().rooms().join("workflow:1", std::nullopt,
                                    [&](Result<protocol::Subscribed> r) { joined = std::move(r); });
  ASSERT_TRUE(poll_until([&] { return joined.has_value(); }));
  EXPECT_TRUE(joined->ok());

  // A late joiner on its own connection gets the stored update.
  Peer cleo(server.ws_url(), {.sub = "cleo"}, 3);
  open_document(cleo);
  EXPECT_TRUE(cleo.got(hocuspocus::encode_sync_update(kDoc, update_of(1))));
}

TEST_F(yjs_over_tandem_test, the_connections_token_decides_and_malformed_binary_is_an_error_not_a_close) {
  Peer ben(server.ws_url(), {.sub = "ben"}, 2);
  open_document(ben);
  Peer reader(server.ws_url(), {.sub = "rita", .read_only = {"doc:*"}}, 4);
  open_document(reader, hocuspocus::Scope::ReadOnly);
  reader.send(hocuspocus::encode_sync_update(kDoc, update_of(7)));
  ASSERT_TRUE(poll_until([&] { return reader.got(hocuspocus::encode_sync_status(kDoc, false)); })) << server.output();
  EXPECT_FALSE(ben.got(hocuspocus::encode_sync_update(kDoc, update_of(7)))) << "a read-only update is not applied";

  // A token whose rooms do not include doc:notes is denied the document, not disconnected.
  Peer outsider(server.ws_url(), {.sub = "olga", .rooms = {"workflow:*"}}, 5);
  everyone_.push_back(&outsider);
  outsider.client->start();
  ASSERT_TRUE(poll_until([&] { return outsider.client->client().state() == State::Open; }));
  outsider.send(auth_message(kDoc, ""));
  ASSERT_TRUE(poll_until([&] { return !outsider.binary.empty(); }));
  EXPECT_EQ(outsider.binary.front(),
            hocuspocus::encode_permission_denied(kDoc, "the token's rooms do not include doc:notes"));

  // Malformed binary: an error (invalid_message) on the Tandem connection, which stays open.
  outsider.send(std::string("\x05notes\x00\x05", 8));
  ASSERT_TRUE(poll_until([&] { return !outsider.errors.empty(); })) << server.output();
  EXPECT_EQ(outsider.errors.front().code, protocol::errc::invalid_message);
  EXPECT_EQ(outsider.client->client().state(), State::Open);
}

}  // namespace
}  // namespace tandem::integration
