#!/usr/bin/env python3
"""CORS as a browser sees it: headless Chromium, driven by Playwright, loads a page
from one loopback origin that calls wagate's Evolution routes on another origin with
`fetch`.

Starts the `wagate` binary on loopback (`--link sim`) with Evolution's own variables
(`AUTHENTICATION_API_KEY`, `CORS_ORIGIN` naming the allowed page's origin,
`CORS_CREDENTIALS=true`), and two tiny page servers on other loopback ports (so other
origins): the allowed one and another.

- From the allowed origin: `GET /instance/fetchInstances` and `POST /instance/create`
  with the `apikey` header (a non-simple header, so the browser preflights) succeed,
  and the instance exists afterwards.
- From the other origin: the same calls fail in the browser (`TypeError: Failed to
  fetch`), and the create never reached the gateway (the preflight was refused, so
  the browser did not send it): no such instance.
- Socket.IO (`WEBSOCKET_ENABLED=true`; socket.io-client's browser build from npm, in
  target/socketio-client, loaded into the page): from the allowed origin the page
  opens an instance's namespace with `?apikey=` (polling, then the WebSocket upgrade)
  and receives `messages.upsert` when a message arrives; from the other origin the
  connection fails with both the default transports (the polling answer lacks CORS
  headers) and WebSocket only (the handshake is refused), and no event arrives.

Chromium is the system's (Debian's `chromium` package; Playwright cannot download its
own browser here), given to Playwright as `executable_path`. Exits non-zero on any
failure or when Chromium or Playwright is missing: nothing is skipped silently.

    tests/browser/cors.py [--wagate target/debug/wagate] [--chromium /usr/bin/chromium]
"""

import argparse
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, Tally, find_binary, find_chromium, launch, log  # noqa: E402

GLOBAL_KEY = "browser-test-global-key"
SOCKETIO_JS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "target", "socketio-client", "node_modules", "socket.io-client", "dist",
                           "socket.io.min.js")
PEER = "5511977776666"

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>wagate CORS</title></head>
<body><p>calls wagate on another origin</p></body></html>
"""


def serve_page():
    """A page server on a free loopback port; returns (origin, server)."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


# Runs in the page: the two calls a browser app makes first, reporting what the page
# could read (or the error fetch raised).
CALLS = """async ({base, key, name}) => {
  const out = {};
  try {
    const r = await fetch(base + "/instance/fetchInstances", {headers: {apikey: key}});
    out.fetch = {status: r.status, body: await r.json()};
  } catch (e) { out.fetch = {error: String(e)}; }
  try {
    const r = await fetch(base + "/instance/create", {
      method: "POST",
      headers: {apikey: key, "content-type": "application/json"},
      body: JSON.stringify({instanceName: name, integration: "WHATSAPP-BAILEYS"}),
    });
    out.create = {status: r.status, body: await r.json()};
  } catch (e) { out.create = {error: String(e)}; }
  return out;
}"""


# Runs in the page: opens the namespace of `name` and records what arrives in
# `window.got`; resolves once connected, refused, or after 10 s.
SOCKET = """({base, key, name, transports}) => new Promise((resolve) => {
  window.got = [];
  const opts = {query: {apikey: key}, reconnection: false, timeout: 8000};
  if (transports) opts.transports = transports;
  const socket = io(base + "/" + name, opts);
  window.sock = socket;
  socket.on("messages.upsert", (m) => window.got.push(m));
  socket.on("connect", () => resolve({connected: true, transport: socket.io.engine.transport.name}));
  socket.on("connect_error", (e) => resolve({connected: false, error: String(e && e.message || e)}));
  setTimeout(() => resolve({connected: false, error: "timeout"}), 10000);
})"""


def socketio_checks(gw, page, allowed, other, check):
    """The Socket.IO stream from both origins (see the module doc)."""
    status, v = gw.call("POST", "/instance/create", headers={"apikey": GLOBAL_KEY}, body={
        "instanceName": "live", "integration": "WHATSAPP-BAILEYS",
        "websocket": {"enabled": True, "events": ["MESSAGES_UPSERT"]}})
    check(status == 201, f"an instance with its websocket enabled is created ({status})")
    status, _ = gw.call("GET", "/instance/connect/live", headers={"apikey": GLOBAL_KEY})
    check(status == 200, "the instance pairs on the sim")
    for _ in range(200):
        _, st = gw.call("GET", "/instance/connectionState/live", headers={"apikey": GLOBAL_KEY})
        if st and st["instance"]["state"] == "open":
            break
        time.sleep(0.05)

    page.goto(other + "/")
    page.add_script_tag(path=SOCKETIO_JS)
    for transports in (None, ["websocket"]):
        out = page.evaluate(SOCKET, {"base": gw.base, "key": GLOBAL_KEY, "name": "live", "transports": transports})
        log(f"other origin, transports {transports}: {out}")
        check(not out["connected"], f"another origin cannot open the Socket.IO stream (transports {transports})")
        page.evaluate("() => window.sock.close()")

    page.goto(allowed + "/")
    page.add_script_tag(path=SOCKETIO_JS)
    out = page.evaluate(SOCKET, {"base": gw.base, "key": GLOBAL_KEY, "name": "live", "transports": None})
    log(f"allowed origin: {out}")
    check(out["connected"], "the allowed origin opens the Socket.IO stream")
    gw.admin("POST", "/admin/sim/live/inbound", {"from": PEER, "text": "to the browser", "fromMe": False})
    try:
        page.wait_for_function("() => window.got.length > 0", timeout=10000)
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        log(f"no event: {e}")
    got = page.evaluate("() => window.got")
    log(f"allowed origin got: {str(got)[:300]}")
    check(len(got) >= 1 and got[0].get("event") == "messages.upsert" and got[0].get("instance") == "live"
          and got[0]["data"]["message"]["conversation"] == "to the browser",
          "the page receives messages.upsert in Evolution's shape")
    transport = page.evaluate("() => window.sock.io.engine.transport.name")
    log(f"allowed origin transport now: {transport}")
    page.evaluate("() => window.sock.close()")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wagate", default=None)
    ap.add_argument("--chromium", default=None, help="default: chromium on PATH")
    args = ap.parse_args()
    binary = find_binary(args.wagate)
    chromium = find_chromium(args.chromium)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("browser: playwright is not installed (pip install playwright)")

    allowed, allowed_srv = serve_page()
    other, other_srv = serve_page()
    tmp = tempfile.mkdtemp(prefix="wagate-browser-")
    gw = Gateway(binary, os.path.join(tmp, "data"), {
        "AUTHENTICATION_API_KEY": GLOBAL_KEY,
        "CORS_ORIGIN": allowed,
        "CORS_CREDENTIALS": "true",
        "WEBSOCKET_ENABLED": "true",
    })
    if not os.path.exists(SOCKETIO_JS):
        raise SystemExit("browser: no socket.io-client in target/socketio-client (npm install socket.io-client)")
    t = Tally()
    check = t.check

    try:
        with sync_playwright() as p:
            browser = launch(p, chromium)
            page = browser.new_page()

            page.goto(allowed + "/")
            out = page.evaluate(CALLS, {"base": gw.base, "key": GLOBAL_KEY, "name": "from-allowed"})
            log(f"allowed origin {allowed}: {json.dumps(out)[:400]}")
            check(out["fetch"].get("status") == 200 and isinstance(out["fetch"].get("body"), list),
                  "the allowed origin reads fetchInstances")
            check(out["create"].get("status") == 201
                  and out["create"]["body"]["instance"]["instanceName"] == "from-allowed",
                  "the allowed origin creates an instance and reads the answer")

            page.goto(other + "/")
            out = page.evaluate(CALLS, {"base": gw.base, "key": GLOBAL_KEY, "name": "from-other"})
            log(f"other origin {other}: {json.dumps(out)[:400]}")
            check("Failed to fetch" in out["fetch"].get("error", ""),
                  "another origin's fetchInstances is blocked by the browser")
            check("Failed to fetch" in out["create"].get("error", ""),
                  "another origin's create is blocked by the browser")

            socketio_checks(gw, page, allowed, other, check)
            browser.close()

        _, rows = gw.call("GET", "/instance/fetchInstances", headers={"apikey": GLOBAL_KEY})
        names = [i["name"] for i in rows]
        check("from-allowed" in names, "the allowed origin's instance exists")
        check("from-other" not in names,
              "the other origin's create never reached the gateway (preflight refused)")
    finally:
        gw.stop()
        allowed_srv.shutdown()
        other_srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    t.done()


if __name__ == "__main__":
    main()
