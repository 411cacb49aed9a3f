// tests/fuzz/config_fuzz.cpp — fuzzes the config file reader (server/src/config.cpp): the input
// is the file given to `--config`, loaded with load_settings() (no environment, no other flag).
// Seeds: tests/fuzz/seeds/config/.
//
// Invariants, for a file that loads:
//   - the settings pass validate();
//   - written back as a config file — every setting as `name = "value"`, its current value —
//     they load again to the same values (the file format can say every value it accepts).
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "config.h"
#include "fuzz_support.h"

namespace {

using namespace tandem::server;

// One file per fuzzing process, in the temp folder, removed at exit.
class ScratchFile {
 public:
  ScratchFile()
      : path_((std::filesystem::temp_directory_path() / ("tandem-config-fuzz-" + std::to_string(getpid()) + ".conf"))
                  .string()) {}
  ~ScratchFile() { std::filesystem::remove(path_); }
  const std::string& write(std::string_view content) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc).write(content.data(), static_cast<std::streamsize>(content.size()));
    return path_;
  }

 private:
  std::string path_;
};

tandem::Result<LoadedSettings> load(ScratchFile& file, std::string_view content) {
  SettingSources sources;
  sources.args = {"--config", file.write(content)};
  sources.env = [](const std::string&) { return std::optional<std::string>(); };
  return load_settings(sources, [] { return std::string(64, 'r'); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ScratchFile file;
  auto loaded = load(file, tandem::fuzz::as_text(data, size));
  if (!loaded) return 0;
  const Settings& settings = loaded.value().settings;
  FUZZ_CHECK(!validate(settings), "loaded settings fail validate(): " + *validate(settings));

  std::string written;
  for (const SettingInfo& info : describe()) written += info.name + " = \"" + info.show(settings) + "\"\n";
  auto again = load(file, written);
  FUZZ_CHECK(again.ok(), "settings written back do not load: " + (again.ok() ? std::string() : again.error().message) +
                             "\n" + written);
  for (const SettingInfo& info : describe())
    FUZZ_CHECK(info.show(again.value().settings) == info.show(settings),
               info.name + " changed when written back: \"" + info.show(settings) + "\" -> \"" +
                   info.show(again.value().settings) + "\"");
  return 0;
}
