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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, Tally, find_binary, find_chromium, launch, log  # noqa: E402

GLOBAL_KEY = "browser-test-global-key"

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
    })
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
