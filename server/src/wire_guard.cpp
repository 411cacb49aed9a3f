// server/src/wire_guard.cpp — the byte-level HTTP/1.1 and WebSocket checks of wire_guard.h.
#include "wire_guard.h"

#include <algorithm>
#include <cctype>

namespace tandem::server {

namespace {

constexpr std::size_t kKeptTokenBytes = 64;  // header names and interesting values are read this far

// RFC 9110 §5.6.2 tchar.
bool is_tchar(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// Field-value bytes (RFC 9110 §5.5): visible ASCII, obs-text, space and tab. Everything else
// (NUL, CR and LF inside a value, other controls, DEL) is refused, never truncated.
bool is_value_byte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool has_token(std::string_view list_lower, std::string_view token) {
  return list_lower.find(token) != std::string_view::npos;
}

WireRefusal bad_request(std::string message) { return WireRefusal{400, 0, std::move(message), {}}; }

// The headers whose values the checks read.
bool value_is_read(std::string_view name) {
  return name == "content-length" || name == "transfer-encoding" || name == "host" || name == "upgrade" ||
         name == "connection" || name == "sec-websocket-version";
}

}  // namespace

WireGuard::Verdict WireGuard::feed(std::string_view bytes) {
  if (refusal_) return Verdict{0, refusal_};
  std::size_t i = 0;
  std::size_t frame_start = 0;  // where the frame being read began in `bytes` (valid when began_here)
  bool frame_began_here = false;
  while (i < bytes.size()) {
    switch (phase_) {
      case Phase::Body: {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, bytes.size() - i));
        body_left_ -= take;
        i += take;
        if (body_left_ == 0) phase_ = Phase::RequestLine;
        continue;
      }
      case Phase::FramePayload: {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, bytes.size() - i));
        payload_left_ -= take;
        i += take;
        if (payload_left_ == 0) phase_ = Phase::FrameHeader;
        continue;
      }
      case Phase::ClosePayload:
      case Phase::FrameHeader: {
        if (phase_ == Phase::FrameHeader && frame_header_have_ == 0) {
          frame_start = i;
          frame_began_here = true;
        }
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (auto refusal = phase_ == Phase::ClosePayload ? byte_of_close_payload(c) : byte_of_frame_header(c)) {
          refusal_ = std::move(refusal);
          phase_ = Phase::Refused;
          return Verdict{frame_began_here ? frame_start : 0, refusal_};
        }
        ++i;
        continue;
      }
      case Phase::Refused:
        return Verdict{0, refusal_};
      default: {
        if (auto refusal = byte_of_head(static_cast<unsigned char>(bytes[i]))) {
          refusal_ = std::move(refusal);
          phase_ = Phase::Refused;
          return Verdict{0, refusal_};
        }
        ++i;
        continue;
      }
    }
  }
  return Verdict{bytes.size(), std::nullopt};
}

std::optional<WireRefusal> WireGuard::byte_of_head(unsigned char c) {
  if (phase_ == Phase::RequestLine && head_.bytes == 0 && (c == '\r' || c == '\n')) return std::nullopt;  // RFC 9112 §2.2
  if (++head_.bytes > kMaxHeadBytes)
    return WireRefusal{431, 0, "request head over " + std::to_string(kMaxHeadBytes) + " bytes", {}};
  switch (phase_) {
    case Phase::RequestLine:
      if (c == '\r' || c == '\n') {
        after_lf_ = Phase::HeaderLineStart;
        phase_ = c == '\r' ? Phase::ExpectLf : Phase::HeaderLineStart;
        return std::nullopt;
      }
      if (c != ' ' && (c < 0x21 || c > 0x7e)) return bad_request("invalid byte in the request line");
      if (c == ' ') head_.method_done = true;
      else if (!head_.method_done && head_.method.size() < 16) head_.method += static_cast<char>(c);
      head_.line_tail += static_cast<char>(c);
      if (head_.line_tail.size() > 16) head_.line_tail.erase(0, head_.line_tail.size() - 16);
      return std::nullopt;

    case Phase::HeaderLineStart:
      if (c == '\r') {
        after_lf_ = Phase::RequestLine;  // the blank line: the head ends at its LF
        phase_ = Phase::ExpectLf;
        return std::nullopt;
      }
      if (c == '\n') return end_of_head();
      if (c == ' ' || c == '\t') return bad_request("folded header line (obs-fold)");
      head_.name.clear();
      head_.value.clear();
      head_.value_overflow = false;
      phase_ = Phase::HeaderName;
      [[fallthrough]];

    case Phase::HeaderName:
      if (c == ':') {
        if (head_.name.empty()) return bad_request("header line without a name");
        phase_ = Phase::HeaderValue;
        return std::nullopt;
      }
      if (c == ' ' || c == '\t') return bad_request("whitespace between a header name and its colon");
      if (!is_tchar(c)) return bad_request("invalid byte in a header name");
      if (head_.name.size() < kKeptTokenBytes) head_.name += static_cast<char>(std::tolower(c));
      return std::nullopt;

    case Phase::HeaderValue:
      if (c == '\r') {
        after_lf_ = Phase::HeaderValue;  // marks "a header line ends at this LF"
        phase_ = Phase::ExpectLf;
        return std::nullopt;
      }
      if (c == '\n') {
        phase_ = Phase::HeaderLineStart;
        return end_of_header_line();
      }
      if (!is_value_byte(c)) return bad_request("control character in header " + head_.name);
      if (value_is_read(head_.name)) {
        if (head_.value.size() < kKeptTokenBytes) head_.value += static_cast<char>(c);
        else head_.value_overflow = true;
      }
      return std::nullopt;

    case Phase::ExpectLf:
      if (c != '\n') return bad_request("CR not followed by LF");
      if (after_lf_ == Phase::HeaderValue) {
        phase_ = Phase::HeaderLineStart;
        return end_of_header_line();
      }
      if (after_lf_ == Phase::RequestLine) return end_of_head();
      phase_ = after_lf_;
      return std::nullopt;

    default:
      return std::nullopt;
  }
}

std::optional<WireRefusal> WireGuard::end_of_header_line() {
  const std::string_view value = trimmed(head_.value);
  if (head_.name == "content-length") {
    ++head_.content_lengths;
    head_.content_length = 0;
    const bool digits = !value.empty() && value.size() <= 18 && !head_.value_overflow &&
                        std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (!digits) head_.bad_content_length = true;
    else
      for (char ch : value) head_.content_length = head_.content_length * 10 + static_cast<std::uint64_t>(ch - '0');
  } else if (head_.name == "transfer-encoding") {
    head_.transfer_encoding = true;
  } else if (head_.name == "host") {
    ++head_.hosts;
  } else if (head_.name == "upgrade") {
    if (has_token(lower(value), "websocket")) head_.upgrade_websocket = true;
  } else if (head_.name == "connection") {
    if (has_token(lower(value), "upgrade")) head_.connection_upgrade = true;
  } else if (head_.name == "sec-websocket-version") {
    head_.websocket_version = std::string(value);
  }
  return std::nullopt;
}

std::optional<WireRefusal> WireGuard::end_of_head() {
  Head head = std::move(head_);
  head_ = Head{};
  const std::string_view tail = head.line_tail;
  const bool http11 = tail.ends_with(" HTTP/1.1");
  if (!http11 && !tail.ends_with(" HTTP/1.0")) return bad_request("the request line must end with HTTP/1.1 or HTTP/1.0");
  static constexpr std::string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  if (std::find(std::begin(kMethods), std::end(kMethods), head.method) == std::end(kMethods))
    return WireRefusal{501, 0, "method " + head.method + " is not supported", {}};
  if (head.hosts > 1) return bad_request("more than one Host header");
  if (http11 && head.hosts == 0) return bad_request("an HTTP/1.1 request needs a Host header");
  if (head.content_lengths > 1) return bad_request("more than one Content-Length header");
  if (head.bad_content_length) return bad_request("Content-Length must be a decimal number");
  if (head.transfer_encoding)
    return bad_request(head.content_lengths ? "Transfer-Encoding together with Content-Length"
                                            : "Transfer-Encoding is not accepted (no chunked bodies): send Content-Length");
  if (head.upgrade_websocket) {
    if (!head.connection_upgrade) return bad_request("Upgrade: websocket needs Connection: Upgrade");
    if (head.method != "GET") return bad_request("a WebSocket upgrade must be a GET");
    if (head.content_length > 0) return bad_request("a WebSocket upgrade carries no body");
    if (head.websocket_version != "13")
      return WireRefusal{426, 0,
                         head.websocket_version.empty() ? "Sec-WebSocket-Version is missing: this server speaks 13"
                                                        : "Sec-WebSocket-Version " + head.websocket_version +
                                                              " is not supported: this server speaks 13",
                         "Sec-WebSocket-Version: 13"};
    phase_ = Phase::FrameHeader;
    return std::nullopt;
  }
  body_left_ = head.content_length;
  phase_ = body_left_ > 0 ? Phase::Body : Phase::RequestLine;
  return std::nullopt;
}

std::optional<WireRefusal> WireGuard::byte_of_frame_header(unsigned char c) {
  frame_header_[frame_header_have_++] = c;
  auto protocol_error = [](std::string message) { return WireRefusal{0, 1002, std::move(message), {}}; };
  if (frame_header_have_ == 1) {
    const unsigned opcode = c & 0x0f;
    if (c & 0x70) return protocol_error("RSV bits set without a negotiated extension");
    if ((opcode > 2 && opcode < 8) || opcode > 10) return protocol_error("reserved opcode " + std::to_string(opcode));
    const bool fin = (c & 0x80) != 0;
    if ((opcode & 8) && !fin) return protocol_error("fragmented control frame");
    if (opcode == 0 && !in_fragmented_message_) return protocol_error("continuation frame with no message to continue");
    if ((opcode == 1 || opcode == 2) && in_fragmented_message_)
      return protocol_error("a new message inside a fragmented one");
    if (opcode < 8) in_fragmented_message_ = !fin;
  }
  if (frame_header_have_ == 2) {
    if ((c & 0x80) == 0) return protocol_error("unmasked frame: clients must mask every frame (RFC 6455 5.1)");
    if ((frame_header_[0] & 8) && (c & 0x7f) > 125) return protocol_error("control frame over 125 bytes");
    const unsigned length7 = c & 0x7f;
    frame_header_need_ = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + 4;
  }
  if (frame_header_have_ < frame_header_need_) return std::nullopt;
  const unsigned length7 = frame_header_[1] & 0x7f;
  std::uint64_t length = length7;
  if (length7 == 126) length = (std::uint64_t{frame_header_[2]} << 8) | frame_header_[3];
  if (length7 == 127) {
    length = 0;
    for (int k = 2; k < 10; ++k) length = (length << 8) | frame_header_[k];
  }
  frame_header_have_ = 0;
  frame_header_need_ = 2;
  payload_left_ = length;
  if ((frame_header_[0] & 0x0f) == 8) {  // a close frame: its code is checked
    close_payload_read_ = 0;
    close_code_ = 0;
    if (length == 1) return WireRefusal{0, 1002, "close frame with a 1-byte body", {}};
    if (length > 0) phase_ = Phase::ClosePayload;
    return std::nullopt;
  }
  if (payload_left_ > 0) phase_ = Phase::FramePayload;
  return std::nullopt;
}

std::optional<WireRefusal> WireGuard::byte_of_close_payload(unsigned char c) {
  // The mask key is the header's last 4 bytes (frame_header_need_ was reset; recompute).
  const unsigned length7 = frame_header_[1] & 0x7f;
  const std::size_t mask_at = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0);
  const unsigned plain = c ^ frame_header_[mask_at + close_payload_read_ % 4];
  if (close_payload_read_ < 2) close_code_ = (close_code_ << 8) | plain;
  ++close_payload_read_;
  if (close_payload_read_ == 2) {
    // RFC 6455 7.4: 1000-1003, 1007-1011 (and 1012-1014, registered since) and 3000-4999.
    const bool allowed = (close_code_ >= 1000 && close_code_ <= 1003) || (close_code_ >= 1007 && close_code_ <= 1014) ||
                         (close_code_ >= 3000 && close_code_ <= 4999);
    if (!allowed) return WireRefusal{0, 1002, "close code " + std::to_string(close_code_) + " is not allowed", {}};
  }
  if (--payload_left_ == 0) phase_ = Phase::FrameHeader;
  return std::nullopt;
}

}  // namespace tandem::server
