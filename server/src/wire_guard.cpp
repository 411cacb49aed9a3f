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
      case Phase::FrameHeader: {
        if (frame_header_have_ == 0) {
          frame_start = i;
          frame_began_here = true;
        }
        if (auto refusal = byte_of_frame_header(static_cast<unsigned char>(bytes[i]))) {
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
  if (frame_header_have_ == 2) {
    if ((c & 0x80) == 0) return WireRefusal{0, 1002, "unmasked frame: clients must mask every frame (RFC 6455 5.1)", {}};
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
  if (payload_left_ > 0) phase_ = Phase::FramePayload;
  return std::nullopt;
}

}  // namespace tandem::server
