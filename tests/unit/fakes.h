// fakes.h — test doubles for the client core: a transport the test drives by hand, an Rng that
// plays back a script, builders for the server frames the tests feed in, and a Client wired to
// them (ScriptedClient).
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tandem/client.h"
#include "tandem/clock.h"
#include "tandem/protocol/codec.h"
#include "tandem/transport.h"

namespace tandem::testing {

using namespace std::chrono_literals;

// Records what the core asks of it; the test plays the network: accept(), deliver(), drop().
class FakeTransport final : public Transport {
 public:
  struct Close {
    int code;
    std::string reason;
  };

  std::vector<std::string> opened_urls;  // one per open()
  std::vector<std::string> sent;         // every frame sent while connected
  std::vector<std::string> sent_binary;  // every binary message sent while connected
  std::vector<Close> closes;             // every close() the core asked for
  TransportEvents* events = nullptr;
  bool connected = false;  // between accept() and the end of the connection

  void open(const std::string& url, TransportEvents& sink) override {
    opened_urls.push_back(url);
    events = &sink;
    connected = false;
  }
  SendStatus send(std::string_view frame) override {
    if (!connected) return SendStatus::NotOpen;
    sent.emplace_back(frame);
    return SendStatus::Sent;
  }
  SendStatus send_binary(std::string_view message) override {
    if (!connected) return SendStatus::NotOpen;
    sent_binary.emplace_back(message);
    return SendStatus::Sent;
  }
  void close(int code, std::string_view reason) override {
    closes.push_back({code, std::string(reason)});
    connected = false;
  }

  // ---- the network, as the test plays it ----
  void accept() {
    connected = true;
    events->on_open();
  }
  void deliver(const std::string& frame) { events->on_message(frame); }
  // The connection ends (server close, dial failure, or the end of a close() the core began).
  void drop(int code, const std::string& reason = "") {
    connected = false;
    events->on_closed(code, reason);
  }

  // The decoded frames sent so far (they must all decode: the core only sends valid frames).
  std::vector<protocol::ClientFrame> sent_frames() const {
    std::vector<protocol::ClientFrame> frames;
    for (const std::string& text : sent) {
      auto decoded = protocol::decode_client(text);
      if (decoded) frames.push_back(decoded.value());
    }
    return frames;
  }
  // The ids of the requests sent so far, in order.
  std::vector<std::string> sent_ids() const {
    std::vector<std::string> ids;
    for (const auto& frame : sent_frames())
      if (frame.id) ids.push_back(*frame.id);
    return ids;
  }
  std::size_t count_sent(const char* type) const {
    std::size_t n = 0;
    for (const auto& frame : sent_frames()) n += std::string(protocol::type_of(frame.message)) == type ? 1 : 0;
    return n;
  }
};

// Plays back `values` in order, then repeats the last one (0.5 = no jitter by default).
class ScriptedRng final : public Rng {
 public:
  explicit ScriptedRng(std::vector<double> values = {0.5}) : values_(std::move(values)) {}
  double uniform01() override {
    const double v = values_[next_ < values_.size() ? next_ : values_.size() - 1];
    ++next_;
    ++draws;
    return v;
  }
  std::size_t draws = 0;

 private:
  std::vector<double> values_;
  std::size_t next_ = 0;
};

// ---- server frames ----

inline protocol::Connected connected_info(std::string session = "s-1", std::int64_t heartbeat_ms = 25'000) {
  protocol::Connected c;
  c.connection_id = "c-1";
  c.session = std::move(session);
  c.user = {"u-ana", "Ana", "#ff8800"};
  c.heartbeat_ms = heartbeat_ms;
  c.limits = {65536, 64, 100};
  c.server_version = "0.1.0";
  return c;
}
inline std::string connected_frame(std::string session = "s-1", std::int64_t heartbeat_ms = 25'000) {
  return protocol::encode_server(connected_info(std::move(session), heartbeat_ms));
}
inline std::string ack_frame(const std::string& id, bool duplicate = false) {
  return protocol::encode_server(protocol::Ack{duplicate}, id);
}
inline std::string error_frame(const std::string& id, std::string code, std::string message) {
  return protocol::encode_server(protocol::ErrorReply{std::move(code), std::move(message), std::nullopt}, id);
}
inline std::string pong_frame(std::optional<std::string> id = std::nullopt) {
  return protocol::encode_server(protocol::Pong{1'700'000'000'000}, std::move(id));
}

// A Client on a FakeTransport and a ScriptedRng, for fixtures to inherit: make() builds it (set
// its callbacks after), start_connected() starts it and plays the server accepting it.
struct ScriptedClient {
  FakeTransport transport;
  ScriptedRng rng;
  std::optional<Client> client;
  Millis now{0};

  void make() {
    ClientConfig config;
    config.session.url = "ws://127.0.0.1:9000/ws";
    config.session.token = "t";
    client.emplace(config, transport, rng);
  }
  void start_connected(const std::string& session = "s-1") {
    client->start(now);
    transport.accept();
    transport.deliver(connected_frame(session));
  }
  void advance(Millis by) {
    now += by;
    client->tick(now);
  }
  // The last frame the client sent, decoded.
  protocol::ClientFrame last_sent() const {
    auto frames = transport.sent_frames();
    EXPECT_FALSE(frames.empty());
    return frames.empty() ? protocol::ClientFrame{} : frames.back();
  }
};

}  // namespace tandem::testing
