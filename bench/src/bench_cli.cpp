// bench_cli.cpp — the bench tools' flags and tokens (bench_cli.h).
#include "bench_cli.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "jwt.h"

namespace tandem::bench {

Flag text_flag(std::string name, std::string& out) {
  return {std::move(name), [&out](const std::string& v) { out = v; return true; }};
}
Flag int_flag(std::string name, int& out) {
  return {std::move(name), [&out](const std::string& v) { out = std::atoi(v.c_str()); return true; }};
}
Flag long_flag(std::string name, long& out) {
  return {std::move(name), [&out](const std::string& v) { out = std::atol(v.c_str()); return true; }};
}
Flag number_flag(std::string name, double& out) {
  return {std::move(name), [&out](const std::string& v) { out = std::atof(v.c_str()); return true; }};
}
Flag switch_flag(std::string name, bool& out) {
  return {std::move(name), [&out](const std::string&) { out = true; return true; }, true};
}

bool parse_flags(int argc, char** argv, const std::vector<Flag>& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || name == "-h") return false;
    const Flag* flag = nullptr;
    for (const Flag& f : flags)
      if (f.name == name) flag = &f;
    if (!flag) {
      std::fprintf(stderr, "unknown flag: %s\n", name.c_str());
      return false;
    }
    std::string value;
    if (!flag->is_switch) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", name.c_str());
        return false;
      }
      value = argv[++i];
    }
    if (!flag->set(value)) {
      std::fprintf(stderr, "%s: not a value it takes: %s\n", name.c_str(), value.c_str());
      return false;
    }
  }
  return true;
}

std::string mint_bench_token(const std::string& secret, const std::string& sub) {
  server::jwt::Claims claims;
  claims.sub = sub;
  claims.name = sub;
  claims.rooms = {"*"};
  const auto now = static_cast<server::jwt::UnixSeconds>(std::time(nullptr));
  claims.iat = now;
  claims.exp = now + 3600;
  return server::jwt::mint(claims, secret);
}

}  // namespace tandem::bench
