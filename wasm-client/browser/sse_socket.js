// wasm-client/browser/sse_socket.js — TandemEventStream: a WebSocket look-alike over
// Server-Sent Events and POSTs (PROTOCOL.md §5.5), for browser_transport.cpp. It has the parts
// of a WebSocket that file uses — readyState (0 connecting, 1 open, 3 closed), send(text),
// close(), onopen / onmessage({data}) / onclose({code, reason}) — so one C++ transport drives
// both carriers. Linked into the emscripten loader with --pre-js: it lives in the loader's
// scope, beside the EM_JS function that creates it, and is minified with it.
//
// It is given the WebSocket URL the core opens and makes the stream's from it as sse_url_of
// does (tandem/fallback_transport.h: ws://h/p/ws?q -> http://h/p/sse?q, wss -> https), with the
// browser's URL parser rather than a copy of that function in the wasm.
//
// Receiving: new EventSource(http(s)://host/…/sse?token=JWT[&session=S]).
//   - open once the `stream` event came (not at the HTTP answer); then each default event is
//     one message;
//   - `event: close` {code, reason} ends it with that code and closes the EventSource (which
//     would otherwise reconnect);
//   - an error before `stream` ends it with 1006. An error after it leaves the EventSource to
//     reconnect by itself — it sends Last-Event-ID, and the server continues the same
//     connection — for up to the stream's resume_ms, else 1006 (at once when the EventSource
//     gave up: readyState CLOSED).
// Sending: POST <the stream's path>/<stream id>?n=N (so behind a proxy prefix too),
// Authorization: Bearer <the URL's token>, the body as a string (text/plain;charset=UTF-8: no
// CORS preflight). One POST at a time: frames sent meanwhile wait and go joined with "\n" in
// the next one (up to SSE_POST_CHARS, or one frame alone). N counts the stream's POSTs from 1.
// 204, and 409 (the server had N already), mean delivered; a network failure or a 5xx (504:
// the stream's instance did not answer) is tried again with the same N after SSE_RETRY_MS ×
// attempts so far, up to SSE_POST_TRIES attempts, then 1006 (the core reconnects and resends
// what was not acked); 401/403 -> 4401 (the token is refused: the app is asked for a new one);
// 404 (the stream is gone) or anything else -> 1006.
// Closing it (close(), or the end of the page) does not tell the server: it keeps the
// connection for resume_ms, then ends it as after a dropped WebSocket.

var SSE_POST_CHARS = 65536;  // a POST joins frames up to this many characters (the server takes 256 KiB)
var SSE_POST_TRIES = 4;
var SSE_RETRY_MS = 500;

function TandemEventStream(websocketUrl) {
  var socket = this;
  var address = new URL(websocketUrl);
  address.protocol = address.protocol == "wss:" ? "https:" : "http:";
  address.pathname = address.pathname.replace(/\/ws$/, "/sse");
  var token = address.searchParams.get("token") || "";
  var events = new EventSource(address);
  var post;             // the stream's POST URL, from its `stream` event
  var resumeMs;
  var resumeTimer = 0;  // running while the EventSource reconnects
  var queue = [];       // frames waiting for the POST in flight
  var posting = false;
  var posts = 0;        // N of the latest POST

  socket.readyState = 0;

  socket.close = function() {
    socket.readyState = 3;
    events.close();
    clearTimeout(resumeTimer);
  };

  socket.send = function(text) {
    queue.push(text);
    flush();
  };

  function end(code, reason) {
    if (socket.readyState == 3) return;
    socket.close();
    if (socket.onclose) socket.onclose({code: code, reason: reason});
  }

  // An event's JSON data, or undefined after ending the stream (a proxy's junk, say).
  function parse(event) {
    try {
      return JSON.parse(event.data);
    } catch (error) {
      end(1006, "bad " + event.type + " event");
    }
  }

  function flush() {
    if (posting || !queue.length || socket.readyState != 1) return;
    var body = queue.shift();
    while (queue.length && body.length + queue[0].length < SSE_POST_CHARS) body += "\n" + queue.shift();
    posting = true;
    deliver(body, ++posts, 1);
  }

  // POST number n; a network failure (status 0) or a 5xx is tried again.
  function deliver(body, n, attempt) {
    if (socket.readyState != 1) return;
    fetch(post + "?n=" + n, {
      method: "POST",
      headers: {"Authorization": "Bearer " + token},
      body: body,
    }).then(function(answer) { return answer.status; }, function() { return 0; }).then(function(status) {
      if (socket.readyState != 1) return;
      if (status == 204 || status == 409) {
        posting = false;
        flush();
      } else if (status && status < 500) {
        end(status == 401 || status == 403 ? 4401 : 1006, "POST answered " + status);
      } else if (attempt < SSE_POST_TRIES) {
        setTimeout(deliver, SSE_RETRY_MS * attempt, body, n, attempt + 1);
      } else {
        end(1006, "POST failed");
      }
    });
  }

  events.addEventListener("stream", function(event) {
    var info = parse(event);
    if (!info || socket.readyState) return;
    post = address.origin + address.pathname + "/" + encodeURIComponent(info.stream);
    resumeMs = info.resume_ms;
    socket.readyState = 1;
    if (socket.onopen) socket.onopen();
  });
  events.addEventListener("close", function(event) {
    var info = parse(event);
    if (info) end(info.code || 1006, info.reason || "");
  });
  events.onmessage = function(event) {
    if (socket.readyState == 1 && socket.onmessage) socket.onmessage(event);
  };
  events.onopen = function() {
    clearTimeout(resumeTimer);
    resumeTimer = 0;
  };
  events.onerror = function() {
    if (socket.readyState != 1 || events.readyState == 2) end(1006, "event stream failed");
    else if (!resumeTimer) resumeTimer = setTimeout(function() { end(1006, "event stream lost"); }, resumeMs);
  };
}
