// server/src/frame_assembler.cpp — see frame_assembler.h.
#include "frame_assembler.h"

namespace tandem::server {

namespace {
// A buffer grown past this by one large message is released afterwards, so an idle
// connection does not keep a 64 KiB allocation because of one big edit long ago.
constexpr std::size_t kKeepCapacity = 4096;
}

FrameAssembler::Outcome FrameAssembler::feed(std::string_view piece, bool first, bool last, bool binary) {
  if (first) {
    if (buffer_.capacity() > kKeepCapacity) std::string().swap(buffer_);
    buffer_.clear();
    bytes_ = 0;
    kind_ = binary ? MessageKind::Binary : MessageKind::Text;
    wrong_kind_ = !binary && accepts_ == Accepts::Binary;
    mode_ = wrong_kind_ ? Mode::Discarding : Mode::Collecting;
  }
  bytes_ += piece.size();
  Outcome out;
  out.bytes = bytes_;
  out.kind = kind_;

  if (mode_ == Mode::Dead) return out;  // the edge is closing this connection
  if (bytes_ > hard_bytes_) {
    mode_ = Mode::Dead;
    std::string().swap(buffer_);
    out.status = Status::OverHardLimit;
    return out;
  }
  if (mode_ == Mode::Collecting && bytes_ > max_bytes_) {
    mode_ = Mode::Discarding;
    std::string().swap(buffer_);
  }
  if (mode_ == Mode::Collecting) {
    if (first && last) {
      out.status = Status::Complete;  // the common case: one piece, no copy
      out.message = piece;
      return out;
    }
    buffer_.append(piece);
  }
  if (!last) return out;
  if (wrong_kind_) {
    out.status = Status::WrongKind;
  } else if (mode_ == Mode::Discarding) {
    out.status = Status::TooBig;
  } else {
    out.status = Status::Complete;
    out.message = buffer_;
  }
  return out;
}

}  // namespace tandem::server
