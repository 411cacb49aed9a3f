// tandem/protocol/streams.h — the streams family: an ordered event stream in an agent:{id}
// room from its producer to consumers, and control requests routed back to the producer
// (PROTOCOL.md §11 Streams).
//
// "stream" and "stream_control" are type strings in both directions: StreamSend /
// StreamControlSend go client → server, StreamEvent / StreamControl server → client.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "tandem/json.h"
#include "tandem/protocol/enums.h"

namespace tandem::protocol {

enum class StreamAction { Pause, Resume, Cancel };

template <>
struct EnumNames<StreamAction> {
  static constexpr std::array<std::pair<StreamAction, std::string_view>, 3> table{{
      {StreamAction::Pause, "pause"},
      {StreamAction::Resume, "resume"},
      {StreamAction::Cancel, "cancel"},
  }};
};

// ---- client → server ----------------------------------------------------------------------

// From the producer: one event of the stream. Usually sent without id.
struct StreamSend {
  static constexpr const char* kType = "stream";
  std::string room;                  // agent:{id}
  std::string event;                 // app event name, 1-64 identifier chars
  std::optional<std::string> data;   // any JSON value text, ≤ bounds::max_stream_data_bytes
  bool operator==(const StreamSend&) const = default;
};

// From a consumer: asks the producer to pause, resume or cancel.
struct StreamControlSend {
  static constexpr const char* kType = "stream_control";
  std::string room;
  StreamAction action = StreamAction::Pause;
  bool operator==(const StreamControlSend&) const = default;
};

// ---- server → client ----------------------------------------------------------------------

// Room event: a stream event, to every subscriber (the producer included).
struct StreamEvent {
  static constexpr const char* kType = "stream";
  std::string room;
  std::string event;
  std::optional<std::string> data;
  std::string user;  // the producer's user id
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool operator==(const StreamEvent&) const = default;
};

// To the producer only: a consumer's request.
struct StreamControl {
  static constexpr const char* kType = "stream_control";
  std::string room;
  StreamAction action = StreamAction::Pause;
  std::string user;  // who asked
  bool operator==(const StreamControl&) const = default;
};

void read(json::Fields& f, StreamSend& m);
void write(json::JsonWriter& w, const StreamSend& m);
void read(json::Fields& f, StreamControlSend& m);
void write(json::JsonWriter& w, const StreamControlSend& m);
void read(json::Fields& f, StreamEvent& m);
void write(json::JsonWriter& w, const StreamEvent& m);
void read(json::Fields& f, StreamControl& m);
void write(json::JsonWriter& w, const StreamControl& m);

}  // namespace tandem::protocol
