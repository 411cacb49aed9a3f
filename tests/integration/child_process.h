// child_process.h — any program as a child process of a test (e.g. tandem-agent): started with
// posix_spawn, stdout+stderr into a temporary log file, polled for its exit without blocking,
// and killed (SIGKILL) when the object goes away while it still runs.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tandem::integration {

class ChildProcess {
 public:
  // Runs argv[0] with `args`; `env` is added to the caller's environment minus its TANDEM_*
  // variables (a tester's own settings must not leak in). Throws std::runtime_error if it
  // cannot start.
  ChildProcess(std::vector<std::string> args, std::map<std::string, std::string> env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The exit status once it has exited (-signal if a signal ended it); nullopt while running.
  std::optional<int> exit_status();
  void kill_now();                // SIGKILL and reap
  std::string output() const;     // everything it printed so far

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace tandem::integration
