// transport_probe.h — an LwsTransport plus a record of everything it reported, for tests that
// talk to a server frame by frame (below the client core).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lws_transport.h"
#include "wait.h"

namespace tandem::integration {

struct CloseReport {
  int code = 0;
  std::string reason;
};

// Records TransportEvents in arrival order.
class EventLog final : public TransportEvents {
 public:
  void on_open() override { ++opens; }
  void on_message(std::string_view frame) override { messages.emplace_back(frame); }
  void on_closed(int code, std::string_view reason) override {
    ++closes;
    closed = CloseReport{code, std::string(reason)};
  }

  int opens = 0;
  int closes = 0;
  std::vector<std::string> messages;
  std::optional<CloseReport> closed;  // the last on_closed
};

class TransportProbe {
 public:
  explicit TransportProbe(native::LwsTransportSettings settings = quiet_settings()) : transport(settings) {}

  void open(const std::string& url) { transport.open(url, log); }
  SendStatus send(std::string_view frame) { return transport.send(frame); }

  // Pumps the transport until `done` holds; false when the deadline passed first.
  template <class Pred>
  bool wait_for(Pred done, milliseconds timeout = kStepDeadline) {
    return pump_until(done, [&] { transport.poll(milliseconds{20}); }, timeout);
  }
  bool wait_open(milliseconds timeout = kStepDeadline) {
    return wait_for([&] { return log.opens > 0 || log.closed.has_value(); }, timeout) && log.opens > 0;
  }
  bool wait_closed(milliseconds timeout = kStepDeadline) {
    return wait_for([&] { return log.closed.has_value(); }, timeout);
  }
  // Waits for the n-th message (1-based) and returns it, or nothing at the deadline.
  std::optional<std::string> wait_message(std::size_t n, milliseconds timeout = kStepDeadline) {
    if (!wait_for([&] { return log.messages.size() >= n || log.closed.has_value(); }, timeout) ||
        log.messages.size() < n)
      return std::nullopt;
    return log.messages[n - 1];
  }

  static native::LwsTransportSettings quiet_settings() {
    native::LwsTransportSettings s;
    s.log_level = native::LwsLogLevel::Silent;  // failures are asserted, not read from stderr
    return s;
  }

  native::LwsTransport transport;
  EventLog log;
};

}  // namespace tandem::integration
