// tandem/fallback_transport.h — one Transport over several, tried in order: the WebSocket
// first, then Server-Sent Events where WebSocket upgrades do not get through (PROTOCOL.md §5.5).
//
// The core sees one transport and one open() per connection attempt. Inside an attempt:
//   - open(url) opens the option that last worked (initially the first); an option "worked"
//     once it delivered a message;
//   - an option that fails early — on_closed before on_open, or 1006 before its first message
//     (a proxy that accepts the upgrade, then kills it) — is followed at once by the next one
//     (wrapping around), with no backoff and nothing reported to the core;
//   - on_closed reaches the core once every option failed this round (with the last option's
//     code and reason); the next open() then starts at the first option again;
//   - except the first option once it has worked (delivered a message): when it fails early,
//     the round ends there (on_closed to the core, which backs off) for up to
//     kFirstOptionHeldRounds rounds in a row before the others are tried again. A server that
//     restarts refuses every carrier; one back between the WebSocket's refusal and the SSE dial
//     must not leave the client on the fallback for good (the Yjs documents need the WebSocket);
//   - a close code of the server's own (4000–4999, e.g. 4401 unauthorized) is never fallen back
//     from: the server was reached and said no, and another carrier would hear the same;
//   - a close the core asked for (close()) is passed on as it comes; when the option had not
//     delivered a message yet (the core's connect timeout: an upgrade a proxy holds without
//     answering), the next open() starts with the next option (the first option, once it has
//     worked, is held as above).
// So the transport contract holds: exactly one on_closed per open(). on_open may reach the
// core once more within one open() (the next option opened after one that failed before its
// first message); the core only sends its auth there, which the new carrier needs anyway.
//
// Events of an abandoned attempt never reach the core: every inner open() has a generation,
// and an event is taken only from the current option in the current generation. This relies
// on what every Tandem transport does: an inner transport opened again drops its older attempt
// without reporting it.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/transport.h"

namespace tandem {

// The Server-Sent Events URL of a WebSocket URL: ws://h/p/ws?q -> http://h/p/sse?q, wss ->
// https. Only a last path segment "ws" becomes "sse" (ws://h/p -> http://h/p); query and
// fragment are kept as they are.
std::string sse_url_of(std::string_view ws_url);

// One way to reach the server.
struct TransportOption {
  std::string_view name;  // "websocket", "sse": what FallbackTransport::active() reports
  Transport* transport = nullptr;  // not owned; reports nothing after the FallbackTransport is gone
  // Maps the URL the core opens (ws://…) to this option's; nullptr: the URL as it is.
  std::string (*url_of)(std::string_view) = nullptr;
};

class FallbackTransport final : public Transport {
 public:
  // Rounds in a row in which the first option, after it has worked, is tried alone (see above).
  static constexpr unsigned kFirstOptionHeldRounds = 3;

  // At least one option, in the order to try them. The list is copied.
  explicit FallbackTransport(std::span<const TransportOption> options);
  FallbackTransport(std::initializer_list<TransportOption> options)
      : FallbackTransport(std::span<const TransportOption>(options.begin(), options.size())) {}
  FallbackTransport(const FallbackTransport&) = delete;
  FallbackTransport& operator=(const FallbackTransport&) = delete;

  void open(const std::string& url, TransportEvents& events) override;
  SendStatus send(std::string_view frame) override;  // to the option in use; NotOpen without one
  SendStatus send_binary(std::string_view message) override;
  void close(int code, std::string_view reason) override;

  // The option in use (opening or open), "" between attempts.
  std::string_view active() const;

 private:
  // One option, and what its transport reports into: events are taken only from the current
  // option in the generation of its latest open().
  class Option final : public TransportEvents {
   public:
    void on_open() override;
    void on_message(std::string_view frame) override;
    void on_binary(std::string_view message) override;
    void on_closed(int code, std::string_view reason) override;

    TransportOption config;
    FallbackTransport* owner = nullptr;
    unsigned generation = 0;

   private:
    bool current() const;
  };

  Option& current() { return options_[current_]; }
  void open_current();  // opens the current option under a new generation
  void delivered();     // the current option delivered a message: it worked
  void closed(int code, std::string_view reason);

  std::vector<Option> options_;  // never resized: the transports hold references to them
  TransportEvents* events_ = nullptr;
  std::string url_;             // the core's URL of this attempt
  std::size_t preferred_ = 0;   // where the next attempt starts: the option that last worked
  std::size_t current_ = 0;     // the option in use
  std::size_t tried_ = 0;       // options tried this round
  unsigned generation_ = 0;     // of the current inner open()
  bool attempting_ = false;     // between open() and the on_closed passed to the core
  bool opened_ = false;         // the current option reported on_open
  bool got_message_ = false;    // the current option delivered a message
  bool closing_ = false;        // the core called close() in this attempt
  bool first_worked_ = false;   // the first option has delivered a message at some point
  unsigned first_held_rounds_ = 0;  // rounds in a row ended by the first option alone
};

}  // namespace tandem
