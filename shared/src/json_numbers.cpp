// json_numbers.cpp — doubles to JSON text and back.
//
// Natively: snprintf and strtod from the C library. In WebAssembly the JS engine does both
// (Number.prototype.toExponential / toFixed and Number(), both exact and correctly rounded):
// musl's printf and strtod work in 128-bit long double, emulated in software on wasm32 — with
// them the browser client carried ~20 KB of code (strtod, printf_core, fmodl, __divtf3,
// __multf3, __addtf3 ...) for numbers the page's own engine formats and parses anyway. The
// output text is the same on both (the %g rules are followed to the letter below).
// This is the one file of shared/ that knows about Emscripten.
#include "json_numbers.h"

#ifdef __EMSCRIPTEN__
#include <emscripten/em_js.h>
#include <emscripten/emscripten.h>
#else
#include <cstdio>
#include <cstdlib>
#endif

#ifdef __EMSCRIPTEN__

// Writes `value` as %.15g (or %.17g when that does not read back as `value`) into out[size];
// returns the byte count. The value is finite, and never 0 (append_double prints -0). Like
// printf it rounds the exact binary value half to even (toExponential/toFixed round halves
// up, so the rounding is done here on the value's first 100 digits, exact for a double).
// (Written for the C preprocessor, which tokenizes EM_JS bodies: double-quoted strings, no
// regular expressions.)
EM_JS(int, tandem_js_format_double, (double value, char* out, int size), {
  var parts = Math.abs(value).toExponential(99).split("e");
  var all = parts[0].replace(".", "");
  function g(precision) {
    var digits = all.slice(0, precision).split("");
    var exponent = +parts[1];
    var rest = all.slice(precision);
    var i = precision - 1;
    if (rest[0] > "5" || (rest[0] == "5" && (+rest.slice(1) > 0 || digits[i] % 2))) {
      for (; digits[i] == "9"; --i) digits[i] = "0";  // digits[-1] is undefined: the loop ends
      if (i < 0) {
        digits.unshift("1");
        digits.pop();
        ++exponent;
      } else {
        digits[i]++;
      }
    }
    var text = digits.join("");
    while (text.length > 1 && text[text.length - 1] == "0") text = text.slice(0, -1);  // %g drops them
    var magnitude = Math.abs(exponent);
    if (exponent < -4 || exponent >= precision)
      return text[0] + (text.length > 1 ? "." + text.slice(1) : "") + "e" + (exponent < 0 ? "-" : "+") +
             (magnitude < 10 ? "0" : "") + magnitude;
    if (exponent < 0) return "0." + "0".repeat(magnitude - 1) + text;
    if (text.length <= exponent + 1) return text + "0".repeat(exponent + 1 - text.length);
    return text.slice(0, exponent + 1) + "." + text.slice(exponent + 1);
  }
  var result = g(15);
  if (+result !== Math.abs(value)) result = g(17);
  return stringToUTF8((value < 0 ? "-" : "") + result, out, size);
});

// Number(text[0, length]) — a valid decimal number prefix, so never NaN.
EM_JS(double, tandem_js_parse_double, (const char* text, int length), {
  return Number(UTF8ToString(text, length));
});

namespace tandem::json {

void append_double(std::string& out, double value) {
  if (value == 0) {  // only -0 gets here (json.cpp prints +0 as an integer)
    out += "-0";
    return;
  }
  char text[32];
  out.append(text, static_cast<std::size_t>(tandem_js_format_double(value, text, sizeof text)));
}

}  // namespace tandem::json

// strtod's contract for what cJSON passes: the longest prefix of the form
// [+-]digits[.digits][(e|E)[+-]digits] (at least one mantissa digit) is the number; *end
// points after it, or at `text` (and 0 is returned) when there is none.
extern "C" double tandem_strtod(const char* text, char** end) {
  const char* p = text;
  auto digits = [&p] {
    const char* start = p;
    while (*p >= '0' && *p <= '9') ++p;
    return p != start;
  };
  if (*p == '+' || *p == '-') ++p;
  bool mantissa = digits();
  if (*p == '.') {
    ++p;
    mantissa = digits() || mantissa;
  }
  if (!mantissa) {
    if (end) *end = const_cast<char*>(text);
    return 0;
  }
  if (*p == 'e' || *p == 'E') {
    const char* before = p++;
    if (*p == '+' || *p == '-') ++p;
    if (!digits()) p = before;  // "1e" or "1e+": the number ends before the e
  }
  if (end) *end = const_cast<char*>(p);
  return tandem_js_parse_double(text, static_cast<int>(p - text));
}

#else  // native

namespace tandem::json {

void append_double(std::string& out, double value) {
  char text[32];
  int length = std::snprintf(text, sizeof text, "%.15g", value);
  if (std::strtod(text, nullptr) != value) length = std::snprintf(text, sizeof text, "%.17g", value);
  out.append(text, static_cast<std::size_t>(length));
}

}  // namespace tandem::json

#endif
