// tests/fuzz/server_frame_fuzz.cpp — fuzzes what the client core runs on a server's frames: the
// codec's decode_server (single messages and batches) and then tandem::Client — the session,
// the outbox's request matching and every room replica (presence, locks, document, chat,
// executions, streams).
//
// Setup before the input: the client is connected (session s-1, user u-ana) and has joined
// the rooms of PROTOCOL.md's examples at the seq just before theirs, so that an example event
// is the next one (workflow:42 at 121, chat:lobby at 40, agent:build-7 at 87, call:standup at
// 0, epoch e1732345600; requests "1".."4", answered); it then asks for lock n3 ("5"), creates
// node n5 ("6"), sends a chat message ("7") and asks for chat:lobby's members ("8"), left
// unanswered for the input.
// Input: lines, each one frame the server sends. A line "~" lets 10 s pass (heartbeat pings,
// renewals, request timeouts); "~CODE" closes the connection with that close code (the client
// reconnects per its rules: the next connection is accepted at once and waits for a
// `connected` line). Every other line lets 20 ms pass. PROTOCOL.md's `json server` examples
// are the seeds (one line each).
//
// Invariants:
//   - decode_server: each element that decodes encodes to a frame that decodes to the same;
//   - the client only ever sends frames that decode_client accepts, whatever it was told.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_support.h"
#include "tandem/client.h"
#include "tandem/protocol/codec.h"

namespace {

using namespace tandem;

void check_codec_round_trip(std::string_view line) {
  for (const auto& decoded : protocol::decode_server(line)) {
    if (!decoded) continue;
    const std::string encoded = protocol::encode(decoded.value());
    auto again = protocol::decode_server(encoded);
    FUZZ_CHECK(again.size() == 1 && again[0].ok(), "an encoded server frame does not decode: " + encoded);
    FUZZ_CHECK(again[0].value() == decoded.value(), "a server frame changed in a round trip: " + std::string(line) +
                                                        "\nencoded: " + encoded);
  }
}

// A connection the driver plays: dials succeed at once, closes complete at once (after the
// call that asked for them returns), and every frame sent is checked.
class FuzzTransport final : public Transport {
 public:
  enum class Phase { Idle, Dialing, Open, Closing };

  void open(const std::string& /*url*/, TransportEvents& events) override {
    events_ = &events;
    phase_ = Phase::Dialing;
  }
  SendStatus send_binary(std::string_view) override { return SendStatus::NotOpen; }  // no Yjs here
  SendStatus send(std::string_view frame) override {
    if (phase_ != Phase::Open) return SendStatus::NotOpen;
    auto decoded = protocol::decode_client(frame);
    FUZZ_CHECK(decoded.ok(), "the client sent a frame the server refuses: " + std::string(frame) + "\n" +
                                 (decoded.ok() ? std::string() : decoded.error().message));
    return SendStatus::Sent;
  }
  void close(int code, std::string_view /*reason*/) override {
    if (phase_ == Phase::Dialing || phase_ == Phase::Open) phase_ = Phase::Closing, close_code_ = code;
  }

  // The network's side, between calls into the client.
  void settle() {
    if (phase_ == Phase::Closing) {
      phase_ = Phase::Idle;
      events_->on_closed(close_code_, "");
    }
    if (phase_ == Phase::Dialing) {
      phase_ = Phase::Open;
      events_->on_open();
    }
  }
  void deliver(std::string_view frame) {
    if (phase_ == Phase::Open) events_->on_message(frame);
  }
  void server_closes(int code) {
    if (phase_ != Phase::Open && phase_ != Phase::Dialing) return;
    phase_ = Phase::Idle;
    events_->on_closed(code, "fuzz");
  }

 private:
  TransportEvents* events_ = nullptr;
  Phase phase_ = Phase::Idle;
  int close_code_ = 0;
};

class FixedRng final : public Rng {
 public:
  double uniform01() override { return 0.5; }
};

protocol::Connected connected() {
  protocol::Connected c;
  c.connection_id = "c-1";
  c.session = "s-1";
  c.user = {"u-ana", "Ana", "#ff8800"};
  c.heartbeat_ms = 25'000;
  c.limits = {65536, 64, 100};
  c.server_version = "0.1.0";
  return c;
}

class FuzzClient {
 public:
  FuzzClient() : client_(config(), transport_, rng_) {
    client_.start(now_);
    transport_.settle();
    transport_.deliver(protocol::encode_server(connected()));
    const std::pair<const char*, std::int64_t> rooms[] = {
        {"workflow:42", 121}, {"chat:lobby", 40}, {"agent:build-7", 87}, {"call:standup", 0}};
    for (const auto& [room, seq] : rooms) client_.rooms().join(room, protocol::Presence{}, [](auto) {});
    int id = 0;
    for (const auto& [room, seq] : rooms)
      transport_.deliver(
          protocol::encode_server(protocol::Subscribed{room, "e1732345600", seq, false}, std::to_string(++id)));
    client_.rooms().lock("workflow:42", "n3", std::nullopt, [](auto) {});
    protocol::Node node;
    node.id = "n5";
    node.type = "http_request";
    client_.rooms().create_node("workflow:42", node, [](auto) {});
    client_.rooms().send_chat("chat:lobby", "hello", [](auto) {});
    client_.rooms().list_members("chat:lobby", std::nullopt, 2, [](auto) {});
    transport_.settle();
  }

  void line(std::string_view text) {
    if (!text.empty() && text.front() == '~') {
      int code = 0;
      const auto [end, error] = std::from_chars(text.data() + 1, text.data() + text.size(), code);
      if (text.size() > 1 && error == std::errc() && end == text.data() + text.size()) {
        transport_.server_closes(code);
        pass(Millis(1'000));
      } else {
        for (int i = 0; i < 20; ++i) pass(Millis(500));
      }
      return;
    }
    check_codec_round_trip(text);
    transport_.deliver(text);
    pass(Millis(20));
  }

  void finish() {
    client_.stop();
    transport_.settle();
  }

 private:
  static ClientConfig config() {
    ClientConfig c;
    c.session.url = "ws://127.0.0.1:9000/ws";
    c.session.token = "t";
    return c;
  }
  void pass(Millis by) {
    transport_.settle();
    now_ += by;
    client_.tick(now_);
    transport_.settle();
  }

  FuzzTransport transport_;
  FixedRng rng_;
  Client client_;
  Millis now_{0};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzClient client;
  for (std::string_view text : fuzz::split_lines(fuzz::as_text(data, size))) client.line(text);
  client.finish();
  return 0;
}
