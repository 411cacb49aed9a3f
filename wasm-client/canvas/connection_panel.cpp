// wasm-client/canvas/connection_panel.cpp — draws ConnectionView (connection_panel.h).
#include "connection_panel.h"

#include <cfloat>
#include <cstdlib>

#include "imgui.h"
#include "imgui_places.h"

namespace canvas {
namespace {

// Status colours: green means usable, amber means "wait, it is on its way", red needs the user.
const ImVec4 kGreen{0.30f, 0.85f, 0.40f, 1.0f};
const ImVec4 kAmber{0.95f, 0.70f, 0.20f, 1.0f};
const ImVec4 kRed{0.95f, 0.35f, 0.30f, 1.0f};
const ImVec4 kGrey{0.60f, 0.60f, 0.60f, 1.0f};

ImVec4 state_colour(LinkState state) {
  switch (state) {
    case LinkState::Open: return kGreen;
    case LinkState::Connecting:
    case LinkState::Reconnecting: return kAmber;
    case LinkState::Closed: return kRed;
    case LinkState::Offline:
    case LinkState::Idle: break;
  }
  return kGrey;
}

// "#rrggbb" -> colour; grey for anything else (the server validated it, but be safe).
ImVec4 parse_hex_colour(const std::string& text) {
  if (text.size() != 7 || text[0] != '#') return kGrey;
  char* end = nullptr;
  const unsigned long rgb = std::strtoul(text.c_str() + 1, &end, 16);
  if (end != text.c_str() + text.size()) return kGrey;
  constexpr float kChannelMax = 255.0f;
  return {static_cast<float>((rgb >> 16) & 0xff) / kChannelMax,
          static_cast<float>((rgb >> 8) & 0xff) / kChannelMax,
          static_cast<float>(rgb & 0xff) / kChannelMax, 1.0f};
}

// One label/value row of the two-column table.
void row_label(const char* label) {
  ImGui::TableNextRow();
  ImGui::TableSetColumnIndex(0);
  ImGui::TextDisabled("%s", label);
  ImGui::TableSetColumnIndex(1);
}

void draw_state_line(const ConnectionView& view) {
  // The status light: a filled circle one text line high (the default font has no glyph for it).
  const float line = ImGui::GetTextLineHeight();
  const ImVec2 corner = ImGui::GetCursorScreenPos();
  ImGui::GetWindowDrawList()->AddCircleFilled(ImVec2(corner.x + line / 2, corner.y + line / 2),
                                              line / 2.5f,
                                              ImGui::ColorConvertFloat4ToU32(state_colour(view.state)));
  ImGui::Dummy(ImVec2(line, line));
  ImGui::SameLine();
  switch (view.state) {
    case LinkState::Reconnecting:
      if (view.retry_in) {
        const double seconds = static_cast<double>(view.retry_in->count()) / 1000.0;
        ImGui::Text("reconnecting in %.1f s", seconds);
        return;
      }
      break;
    case LinkState::Offline:
      ImGui::TextUnformatted("offline (no --url)");
      return;
    default: break;
  }
  ImGui::TextUnformatted(link_state_name(view.state));
}

}  // namespace

LinkState link_state_of(tandem::State state) {
  switch (state) {
    case tandem::State::Idle: return LinkState::Idle;
    case tandem::State::Connecting: return LinkState::Connecting;
    case tandem::State::Open: return LinkState::Open;
    case tandem::State::Reconnecting: return LinkState::Reconnecting;
    case tandem::State::Closed: return LinkState::Closed;
  }
  return LinkState::Closed;
}

const char* link_state_name(LinkState state) {
  switch (state) {
    case LinkState::Offline: return "offline";
    case LinkState::Idle: return "idle";
    case LinkState::Connecting: return "connecting";
    case LinkState::Open: return "open";
    case LinkState::Reconnecting: return "reconnecting";
    case LinkState::Closed: return "closed";
  }
  return "unknown";
}

std::string redact_token(const std::string& url) {
  const auto query = url.find('?');
  if (query == std::string::npos) return url;
  std::string out = url.substr(0, query);
  std::size_t start = query;
  while (start < url.size()) {  // each parameter, with its leading '?' or '&'
    std::size_t end = url.find('&', start + 1);
    if (end == std::string::npos) end = url.size();
    const std::string param = url.substr(start, end - start);
    out += param.compare(1, 6, "token=") == 0 ? param.substr(0, 7) + "..." : param;
    start = end;
  }
  return out;
}

void draw_connection_panel(const ConnectionView& view) {
  const ImVec2 kPosition{16.0f, 16.0f};
  // Wide enough for a long server URL; the height follows the rows.
  const ImVec2 kMinSize{420.0f, 0.0f};
  const ImVec2 kMaxSize{FLT_MAX, FLT_MAX};
  ImGui::SetNextWindowPos(kPosition, ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSizeConstraints(kMinSize, kMaxSize);
  ImGui::Begin("Connection", nullptr, ImGuiWindowFlags_AlwaysAutoResize);
  note_window_place("Connection");

  draw_state_line(view);
  ImGui::Separator();

  if (ImGui::BeginTable("connection", 2, ImGuiTableFlags_SizingFixedFit)) {
    row_label("server");
    ImGui::TextUnformatted(view.server_url.empty() ? "-" : view.server_url.c_str());

    row_label("user");
    if (view.user_name) {
      const ImVec4 colour = parse_hex_colour(view.user_color.value_or(""));
      ImGui::ColorButton("##user-colour", colour, ImGuiColorEditFlags_NoTooltip);
      ImGui::SameLine();
      ImGui::Text("%s (%s)", view.user_name->c_str(), view.user_id.value_or("?").c_str());
    } else {
      ImGui::TextUnformatted("-");
    }

    row_label("round trip");
    if (view.round_trip && view.round_trip->count() == 0) {
      ImGui::TextUnformatted("< 1 ms");  // same machine: below the clock's millisecond
    } else if (view.round_trip) {
      ImGui::Text("%lld ms", static_cast<long long>(view.round_trip->count()));
    } else {
      ImGui::TextUnformatted("-");
    }

    row_label("last close");
    if (view.close_code) {
      ImGui::TextColored(view.state == LinkState::Closed ? kRed : kGrey, "%d %s", *view.close_code,
                         view.close_reason.c_str());
    } else {
      ImGui::TextUnformatted("-");
    }

    row_label("edits");
    if (view.queued > 0) {  // offline: kept and sent in order once the connection is back
      ImGui::TextColored(kAmber, "%zu queued, %zu unanswered", view.queued, view.unanswered);
    } else {
      ImGui::Text("%zu unanswered", view.unanswered);
    }

    row_label("frames/s");
    ImGui::Text("%d", view.frames_per_second);
    ImGui::EndTable();
  }
  ImGui::End();
}

}  // namespace canvas
