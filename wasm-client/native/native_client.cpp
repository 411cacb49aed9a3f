// native_client.cpp — the native driver of the client core (see native_client.h).
#include "native_client.h"

#include <random>
#include <utility>

namespace tandem::native {
namespace {

std::uint64_t fresh_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

NativeClient::NativeClient(ClientConfig config, LwsTransportSettings transport_settings)
    : NativeClient(std::move(config), transport_settings, fresh_seed()) {}

NativeClient::NativeClient(ClientConfig config, LwsTransportSettings transport_settings, Carrier carrier)
    : NativeClient(std::move(config), transport_settings, fresh_seed(), carrier) {}

NativeClient::NativeClient(ClientConfig config, LwsTransportSettings transport_settings, std::uint64_t seed,
                           Carrier carrier)
    : origin_(std::chrono::steady_clock::now()),
      carrier_(carrier),
      transport_(transport_settings),
      sse_transport_(LwsSseTransportSettings{.max_message_bytes = transport_settings.max_message_bytes,
                                             .network_timeout_s = transport_settings.network_timeout_s,
                                             .log_level = transport_settings.log_level,
                                             .ca_file = transport_settings.ca_file}),
      fallback_({TransportOption{"websocket", &transport_, nullptr}, TransportOption{"sse", &sse_transport_, nullptr}}),
      rng_(seed),
      client_(std::move(config), chosen_transport(), rng_) {}

Transport& NativeClient::chosen_transport() {
  switch (carrier_) {
    case Carrier::WebSocket: return transport_;
    case Carrier::ServerSentEvents: return sse_transport_;
    case Carrier::Automatic: break;
  }
  return fallback_;
}

std::string_view NativeClient::carrier_in_use() const {
  switch (carrier_) {
    case Carrier::WebSocket: return transport_.phase() == TransportPhase::Idle ? "" : "websocket";
    case Carrier::ServerSentEvents: return sse_transport_.phase() == TransportPhase::Idle ? "" : "sse";
    case Carrier::Automatic: break;
  }
  return fallback_.active();
}

Millis NativeClient::now() const {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - origin_);
}

void NativeClient::start() { client_.start(now()); }

void NativeClient::stop() { client_.stop(); }

std::size_t NativeClient::poll(Millis wait) {
  // Timers first, so events delivered next are stamped with a fresh time (the session takes
  // events to happen at the last tick), then again after a wait that may have been long.
  client_.tick(now());
  std::size_t delivered = 0;
  if (carrier_ == Carrier::Automatic) {
    // The carrier in use waits; the other only delivers what it has (a dial it is dropping).
    const bool sse = fallback_.active() == "sse";
    delivered = sse ? sse_transport_.poll(wait) + transport_.poll() : transport_.poll(wait) + sse_transport_.poll();
  } else {
    delivered = carrier_ == Carrier::WebSocket ? transport_.poll(wait) : sse_transport_.poll(wait);
  }
  client_.tick(now());
  return delivered;
}

bool NativeClient::poll_until(const std::function<bool()>& done, Millis timeout, Millis step) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left <= Millis{0}) return done();
    poll(std::min(step, left));
  }
  return true;
}

void NativeClient::shutdown(Millis timeout) {
  stop();
  poll_until([this] { return phase() == TransportPhase::Idle; }, timeout);
  poll();  // deliver the final on_closed, if it was the last thing to arrive
}

TransportPhase NativeClient::phase() const {
  switch (carrier_) {
    case Carrier::WebSocket: return transport_.phase();
    case Carrier::ServerSentEvents: return sse_transport_.phase();
    case Carrier::Automatic: break;
  }
  // Idle only once neither carrier has anything going.
  return transport_.phase() != TransportPhase::Idle ? transport_.phase() : sse_transport_.phase();
}

}  // namespace tandem::native
