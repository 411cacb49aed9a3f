// fallback_transport.cpp — one Transport over several tried in order (WebSocket, then SSE);
// see tandem/fallback_transport.h for the rules.
#include "tandem/fallback_transport.h"

#include <utility>

#include "tandem/protocol/errors.h"

namespace tandem {

std::string sse_url_of(std::string_view ws_url) {
  const std::string_view scheme = ws_url.substr(0, ws_url.find("://"));
  if (scheme.size() == ws_url.size()) return std::string(ws_url);  // not a URL
  const std::string_view rest = ws_url.substr(scheme.size());       // "://host/path?query#fragment"
  const std::string_view path = rest.substr(0, rest.find_first_of("?#"));
  std::string url(scheme == "wss" ? "https" : scheme == "ws" ? "http" : scheme);
  // A last segment "ws" (longer than "://ws", where the slash would be the scheme's).
  if (path.size() > 5 && path.ends_with("/ws")) return url.append(path.substr(0, path.size() - 2)).append("sse").append(rest.substr(path.size()));
  return url.append(rest);
}

FallbackTransport::FallbackTransport(std::span<const TransportOption> options) : options_(options.size()) {
  for (std::size_t i = 0; i < options.size(); ++i) {
    options_[i].config = options[i];
    options_[i].owner = this;
  }
}

void FallbackTransport::open(const std::string& url, TransportEvents& events) {
  // The core opens again only after on_closed; if it does not, the older attempt is dropped
  // silently (its events carry an old generation from here on).
  if (attempting_) {
    ++generation_;
    current().config.transport->close(protocol::close::normal.code, "");
  }
  events_ = &events;
  url_ = url;
  current_ = preferred_;
  tried_ = 0;
  closing_ = false;
  attempting_ = true;
  open_current();
}

SendStatus FallbackTransport::send(std::string_view frame) {
  return attempting_ ? current().config.transport->send(frame) : SendStatus::NotOpen;
}

SendStatus FallbackTransport::send_binary(std::string_view message) {
  return attempting_ ? current().config.transport->send_binary(message) : SendStatus::NotOpen;
}

void FallbackTransport::close(int code, std::string_view reason) {
  if (!attempting_ || closing_) return;
  closing_ = true;
  // Given up on before its first message (a connect timeout: an upgrade that hangs): the next
  // attempt starts with the next option.
  // The first option, once it has worked, is held like a failed dial (the header's rule).
  if (!got_message_) {
    if (current_ == 0 && first_worked_ && first_held_rounds_ < kFirstOptionHeldRounds) {
      ++first_held_rounds_;
      preferred_ = 0;
    } else {
      preferred_ = (current_ + 1) % options_.size();
    }
  }
  current().config.transport->close(code, reason);
}

std::string_view FallbackTransport::active() const { return attempting_ ? options_[current_].config.name : ""; }

void FallbackTransport::open_current() {
  ++tried_;
  opened_ = false;
  got_message_ = false;
  Option& option = current();
  option.generation = ++generation_;
  const TransportOption& config = option.config;
  config.transport->open(config.url_of ? config.url_of(url_) : url_, option);
}

void FallbackTransport::delivered() {
  got_message_ = true;
  preferred_ = current_;
  if (current_ == 0) {
    first_worked_ = true;
    first_held_rounds_ = 0;
  }
}

void FallbackTransport::closed(int code, std::string_view reason) {
  const bool server_said_no = code >= 4000 && code <= 4999;
  const bool failed_early =
      !closing_ && !server_said_no && (!opened_ || (code == protocol::close::abnormal.code && !got_message_));
  const bool hold_first = failed_early && current_ == 0 && first_worked_ && first_held_rounds_ < kFirstOptionHeldRounds;
  if (hold_first) {
    ++first_held_rounds_;
    preferred_ = 0;
  } else if (failed_early && tried_ < options_.size()) {
    current_ = (current_ + 1) % options_.size();
    open_current();
    return;
  } else if (failed_early) {
    preferred_ = 0;  // every option failed this round
  }
  attempting_ = false;
  ++generation_;  // nothing more from this attempt
  events_->on_closed(code, reason);
}

// ---- events from the options' transports ----------------------------------------------

bool FallbackTransport::Option::current() const {
  return owner->attempting_ && &owner->options_[owner->current_] == this && owner->generation_ == generation;
}

void FallbackTransport::Option::on_open() {
  if (!current()) return;
  owner->opened_ = true;
  owner->events_->on_open();
}

void FallbackTransport::Option::on_message(std::string_view frame) {
  if (!current()) return;
  owner->delivered();
  owner->events_->on_message(frame);
}

void FallbackTransport::Option::on_binary(std::string_view message) {
  if (!current()) return;
  owner->delivered();
  owner->events_->on_binary(message);
}

void FallbackTransport::Option::on_closed(int code, std::string_view reason) {
  if (current()) owner->closed(code, reason);
}

}  // namespace tandem
