// tandem/client.h — the client core as apps use it: one connection (Session) and one request
// queue (Outbox) behind a handful of calls. Native tools, the browser bindings and the ImGui
// canvas all drive this same class.
//
// Use:
//   tandem::Client client({.session = {.url = "ws://127.0.0.1:8080/ws", .token = jwt}}, transport, rng);
//   client.on_state = [](const tandem::StateChange& c) { ... };
//   client.on_message = [](const tandem::protocol::ServerFrame& f) { ... };
//   client.start(now);
//   loop: pump the transport, then client.tick(now)   // timers: retries, timeouts, heartbeat
//   client.request(msg, [](tandem::Result<tandem::protocol::ServerFrame> r) { ... });
//   client.rooms().join("workflow:42", std::nullopt, [](tandem::Result<tandem::protocol::Subscribed> r) { ... });
//   client.stop();
//
// Everything runs on the caller's thread; callbacks run inside start/stop/tick/request or a
// transport event. Callbacks may call the client again (a request from on_state, stop() from
// on_message), but must not destroy it.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "tandem/clock.h"
#include "tandem/outbox.h"
#include "tandem/protocol/codec.h"
#include "tandem/result.h"
#include "tandem/rooms.h"
#include "tandem/session.h"
#include "tandem/transport.h"

namespace tandem {

struct ClientConfig {
  SessionConfig session;  // where and how to connect (url, token, timeouts, backoff)
  OutboxSettings outbox;  // ack timeout, offline queue bound
  RoomsSettings rooms;    // presence throttle, lock leases
};

// Checks a config once at start-up (call it before constructing the Client); the Error's
// message names the bad field.
std::optional<Error> validate(const ClientConfig& config);

class Client {
 public:
  // `transport` and `rng` must outlive the client.
  Client(ClientConfig config, Transport& transport, Rng& rng);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // ---- callbacks ----
  std::function<void(const StateChange&)> on_state;            // every connection state change
  std::function<void(const protocol::ServerFrame&)> on_message;  // server frames not answering a request
  std::function<void(const Error&)> on_decode_error;           // a server frame that did not decode

  // ---- driving ----
  void start(Millis now);  // connect (again, after Closed)
  void stop();             // close; every pending request fails with errc::closed
  void tick(Millis now);   // call often (every 50-100 ms): timers live here
  void set_token(std::string token);  // for the next connection attempt (after Unauthorized)

  // A request that is answered (ack, error or a data reply with the same id). Sent at once
  // when open, else kept in the offline queue and sent when the connection opens; resent
  // with the same id after a reconnect. `done` runs exactly once.
  template <class M>
  RequestStatus request(const M& message, RequestCallback done) {
    return outbox_.submit(protocol::ClientMessage{message}, std::move(done), now_);
  }

  // Fire-and-forget (presence, typing, cursor): sent only when open, otherwise dropped and
  // NotOpen returned — stale positions are worthless after a reconnect.
  template <class M>
  SendStatus send(const M& message) {
    return session_.send(protocol::encode_client(message));
  }

  // Yjs documents over this connection (PROTOCOL.md §19: Hocuspocus framing, e.g. a provider
  // bridged to it): `handler` gets the server's binary messages, send_binary() sends the
  // client's. Like send(): nothing is queued while the connection is down; a provider syncs
  // again on open.
  void on_binary(std::function<void(std::string_view)> handler) { session_.on_binary_message = std::move(handler); }
  SendStatus send_binary(std::string_view message) { return session_.send_binary(message); }

  // ---- state ----
  State state() const { return session_.state(); }
  const std::optional<protocol::Connected>& connected() const { return session_.connected(); }
  std::size_t queued_count() const { return outbox_.queued_count(); }    // waiting for the connection
  std::size_t pending_count() const { return outbox_.pending_count(); }  // not yet answered

  // Rooms (tandem/rooms.h): join, set_presence, lock, document edits, chat, typing, streams,
  // signals, and the replicas (members, locks, document, chat, executions, stream).
  Rooms& rooms() { return rooms_; }
  const Rooms& rooms() const { return rooms_; }

 private:
  void handle_state(const StateChange& change);
  void handle_frame(const protocol::ServerFrame& frame);

  Session session_;
  Outbox outbox_;
  Rooms rooms_;
  Millis now_{0};
};

}  // namespace tandem
