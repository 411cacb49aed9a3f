// server/src/engine/cluster_message.cpp — netstring encoding of cluster messages (see
// cluster_message.h).
#include "engine/cluster_message.h"

#include <charconv>
#include <limits>
#include <type_traits>

namespace tandem::server::cluster {

namespace {

// Fields as "<length>:<bytes>".
class Writer {
 public:
  explicit Writer(Kind kind) { out_.push_back(static_cast<char>(kind)); }
  Writer& field(std::string_view bytes) {
    out_ += std::to_string(bytes.size());
    out_ += ':';
    out_ += bytes;
    return *this;
  }
  Writer& number(std::uint64_t value) { return field(std::to_string(value)); }
  Writer& list(const std::vector<std::string>& items) {
    number(items.size());
    for (const std::string& item : items) field(item);
    return *this;
  }
  std::string finish() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  bool field(std::string& out) {
    const auto colon = rest_.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 10) return fail();
    std::size_t length = 0;
    const auto [end, error] = std::from_chars(rest_.data(), rest_.data() + colon, length);
    if (error != std::errc() || end != rest_.data() + colon || length > rest_.size() - colon - 1) return fail();
    out.assign(rest_.substr(colon + 1, length));
    rest_.remove_prefix(colon + 1 + length);
    return true;
  }
  template <class Int>
  bool number(Int& out) {
    std::string text;
    if (!field(text)) return false;
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty() ||
        value > static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
      return fail();
    out = static_cast<Int>(value);
    return true;
  }
  // A count followed by that many fields; the count is bounded by what is left (each field
  // takes at least two bytes), so a forged count cannot make us allocate.
  bool list(std::vector<std::string>& out) {
    std::size_t count = 0;
    if (!number(count) || count > rest_.size() / 2) return fail();
    out.resize(count);
    for (std::string& item : out)
      if (!field(item)) return false;
    return true;
  }
  bool done() const { return ok_ && rest_.empty(); }
  std::size_t left() const { return rest_.size(); }

 private:
  bool fail() {
    ok_ = false;
    return false;
  }
  std::string_view rest_;
  bool ok_ = true;
};

Error malformed(std::string_view what) {
  return Error{"invalid_message", "malformed cluster message: " + std::string(what)};
}

}  // namespace

std::string encode(const Message& message) {
  return std::visit(
      [](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, Attach>) {
          const Identity& who = m.identity;
          return Writer(Kind::Attach)
              .field(m.from)
              .number(m.connection)
              .field(who.wire_id)
              .field(who.user.id)
              .field(who.user.name)
              .field(who.user.color)
              .list(who.rooms)
              .list(who.perms)
              .field(who.session)
              .list(who.read_only)
              .number(who.wire)
              .field(who.ydoc)
              .finish();
        } else if constexpr (std::is_same_v<M, Frame>) {
          return Writer(Kind::Frame).field(m.from).number(m.connection).field(m.text).number(m.binary ? 1 : 0).finish();
        } else if constexpr (std::is_same_v<M, Join>) {
          return Writer(Kind::Join).field(m.from).number(m.connection).field(m.room).finish();
        } else if constexpr (std::is_same_v<M, Detach>) {
          return Writer(Kind::Detach).field(m.from).number(m.connection).finish();
        } else if constexpr (std::is_same_v<M, Deliver>) {
          Writer w(Kind::Deliver);
          w.field(m.from).list(m.frames).field(m.kinds).number(m.recipients.size());
          for (const Deliver::Recipient& r : m.recipients) {
            w.number(r.connection).number(r.frames.size());
            for (std::uint32_t index : r.frames) w.number(index);
          }
          return w.finish();
        } else if constexpr (std::is_same_v<M, SessionMoved>) {
          return Writer(Kind::SessionMoved).field(m.from).field(m.session).field(m.wire_id).finish();
        } else if constexpr (std::is_same_v<M, Publish>) {
          return Writer(Kind::Publish).field(m.from).number(m.serial).field(m.body).finish();
        } else if constexpr (std::is_same_v<M, SsePost>) {
          return Writer(Kind::SsePost)
              .field(m.from)
              .number(m.serial)
              .field(m.stream)
              .field(m.n)
              .field(m.user)
              .field(m.body)
              .finish();
        } else if constexpr (std::is_same_v<M, Answer>) {
          return Writer(Kind::Answer)
              .field(m.from)
              .number(m.serial)
              .number(static_cast<std::uint64_t>(m.status))
              .field(m.body)
              .finish();
        } else {
          static_assert(std::is_same_v<M, Close>);
          return Writer(Kind::Close)
              .field(m.from)
              .number(m.connection)
              .number(static_cast<std::uint64_t>(m.code))
              .field(m.reason)
              .finish();
        }
      },
      message);
}

Result<Message> decode(std::string_view bytes) {
  if (bytes.empty()) return malformed("empty");
  Reader r(bytes.substr(1));
  Message message;
  switch (static_cast<Kind>(bytes[0])) {
    case Kind::Attach: {
      Attach m;
      Identity& who = m.identity;
      (void)(r.field(m.from) && r.number(m.connection) && r.field(who.wire_id) && r.field(who.user.id) &&
          r.field(who.user.name) && r.field(who.user.color) && r.list(who.rooms) && r.list(who.perms) &&
          r.field(who.session) && r.list(who.read_only) && r.number(who.wire) && r.field(who.ydoc));
      message = std::move(m);
      break;
    }
    case Kind::Frame: {
      Frame m;
      std::uint8_t binary = 0;
      (void)(r.field(m.from) && r.number(m.connection) && r.field(m.text) && r.number(binary));
      if (binary > 1) return malformed("frame: kind");
      m.binary = binary == 1;
      message = std::move(m);
      break;
    }
    case Kind::Join: {
      Join m;
      (void)(r.field(m.from) && r.number(m.connection) && r.field(m.room));
      message = std::move(m);
      break;
    }
    case Kind::Detach: {
      Detach m;
      (void)(r.field(m.from) && r.number(m.connection));
      message = std::move(m);
      break;
    }
    case Kind::Deliver: {
      Deliver m;
      std::size_t recipients = 0;
      if (!r.field(m.from) || !r.list(m.frames) || !r.field(m.kinds) || !r.number(recipients) ||
          recipients > r.left() / 4)
        return malformed("deliver: truncated");
      if (m.kinds.size() != m.frames.size() || m.kinds.find_first_not_of("tb") != std::string::npos)
        return malformed("deliver: frame kinds");
      {
        m.recipients.resize(recipients);
        for (Deliver::Recipient& recipient : m.recipients) {
          std::size_t count = 0;
          if (!r.number(recipient.connection) || !r.number(count) || count > r.left() / 3)
            return malformed("deliver: truncated");
          recipient.frames.resize(count);
          for (std::uint32_t& index : recipient.frames)
            if (!r.number(index) || index >= m.frames.size()) return malformed("deliver: frame index out of range");
        }
      }
      message = std::move(m);
      break;
    }
    case Kind::Close: {
      Close m;
      std::uint16_t code = 0;
      (void)(r.field(m.from) && r.number(m.connection) && r.number(code) && r.field(m.reason));
      m.code = code;
      message = std::move(m);
      break;
    }
    case Kind::SessionMoved: {
      SessionMoved m;
      (void)(r.field(m.from) && r.field(m.session) && r.field(m.wire_id));
      message = std::move(m);
      break;
    }
    case Kind::Publish: {
      Publish m;
      (void)(r.field(m.from) && r.number(m.serial) && r.field(m.body));
      message = std::move(m);
      break;
    }
    case Kind::SsePost: {
      SsePost m;
      (void)(r.field(m.from) && r.number(m.serial) && r.field(m.stream) && r.field(m.n) && r.field(m.user) &&
             r.field(m.body));
      message = std::move(m);
      break;
    }
    case Kind::Answer: {
      Answer m;
      std::uint16_t status = 0;
      (void)(r.field(m.from) && r.number(m.serial) && r.number(status) && r.field(m.body));
      m.status = status;
      message = std::move(m);
      break;
    }
    default:
      return malformed("unknown kind");
  }
  if (!r.done()) return malformed("bad or trailing fields");
  return message;
}

}  // namespace tandem::server::cluster
