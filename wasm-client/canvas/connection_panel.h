// wasm-client/canvas/connection_panel.h — the "Connection" window: what the canvas app knows
// about its link to tandem-server, drawn with Dear ImGui.
//
// The panel draws plain data (ConnectionView) and knows nothing about the client core or any
// transport; main() fills the view from tandem::Client each frame. That keeps the widget code
// free of protocol logic (STYLE.md: widgets read client state, never the transport).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "tandem/clock.h"
#include "tandem/session.h"

namespace canvas {

// The connection as the user sees it; mirrors the client core's session states.
enum class LinkState {
  Offline,       // no --url given: the app runs without a server
  Idle,          // created, not started yet
  Connecting,    // dialing / waiting for `connected`
  Open,          // `connected` received
  Reconnecting,  // lost; waiting out the backoff before the next attempt
  Closed,        // stopped for good (e.g. 4401 unauthorized); needs the user
};

// The client core's session state as a LinkState (never Offline: that means "no client").
LinkState link_state_of(tandem::State state);

// Lower-case name, the same words as tandem::to_string(State) plus "offline".
const char* link_state_name(LinkState state);

struct ConnectionView {
  LinkState state = LinkState::Offline;
  std::string server_url;                  // shown without the token (it is a credential)
  std::optional<std::string> user_name;    // from `connected`
  std::optional<std::string> user_id;
  std::optional<std::string> user_color;   // "#rrggbb" from the token
  std::optional<tandem::Millis> retry_in;  // Reconnecting: time left before the next attempt
  std::optional<int> close_code;           // last close seen (Reconnecting / Closed)
  std::string close_reason;
  std::optional<tandem::Millis> round_trip;  // last app ping -> pong time
  int frames_per_second = 0;               // so a stalled loop shows
  std::size_t queued = 0;                  // requests (edits, chat) waiting for the connection
  std::size_t unanswered = 0;              // requests sent and not answered yet
};

// Draws the window. Call between ImGui::NewFrame() and ImGui::Render().
void draw_connection_panel(const ConnectionView& view);

// `url` with the value of any token= query parameter replaced by "...", for display and logs.
std::string redact_token(const std::string& url);

}  // namespace canvas
