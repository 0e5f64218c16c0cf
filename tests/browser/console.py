#!/usr/bin/env python3
"""The operator console (/console) in a real browser: headless Chromium driven by
Playwright against the real binary on the simulated network.

An operator logs in with an org key (after a wrong key is refused), creates an
instance, pairs it by QR and watches it turn connected without reloading, sees an
injected message arrive live, views an inbound photo, sends a document and a reply
and revokes the reply, adds a webhook and sees its
failed delivery become a dead letter in its recent deliveries, is refused another org's instance, logs out;
then the admin logs in, replays the dead letter (the receiver gets it) and deletes the
instance through the confirmation dialog.

    tests/browser/console.py [--wagate target/debug/wagate] [--chromium PATH] [--screenshots DIR]

With --screenshots, the main screens are saved as PNG there (the README's images come
from `--screenshots docs/console`).
"""

import argparse
import base64
import http.server
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Gateway, Tally, find_binary, find_chromium, launch, log  # noqa: E402

PEER = "5511999999999"

# A 2x1 PNG (what the inline view must draw) and a small PDF (what a send carries).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAADUlEQVR4nGP4zwAE/wEHAAH/4iOeWQAAAABJRU5ErkJggg==")
PDF = b"%PDF-1.4\n% wagate console test\n" + bytes(range(256)) * 4


class Receiver:
    """A webhook receiver on loopback that fails until `healthy` is set."""

    def __init__(self):
        self.healthy = False
        self.received = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                code = 200 if outer.healthy else 500
                if outer.healthy:
                    outer.received.append(body)
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def describe_failure(page, refused):
    """What the page showed when a step failed: its address, the status line, who is
    logged in and the start of the main area, plus a screenshot under target/."""
    try:
        state = page.evaluate("""() => ({
            hash: location.hash,
            status: document.getElementById("status").textContent,
            who: document.getElementById("who").textContent,
            main: document.getElementById("main").innerText.slice(0, 400),
        })""")
        log(f"page at failure: {json.dumps(state)}")
        log(f"refused requests, last 10: {json.dumps(refused[-10:])}")
        folder = os.path.join(ROOT, "target", "browser-failures")
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, "console.png"), full_page=True)
        log(f"screenshot at failure: {folder}/console.png")
    except Exception as e:  # the page itself may be gone
        log(f"could not describe the page: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wagate")
    ap.add_argument("--chromium")
    ap.add_argument("--screenshots")
    args = ap.parse_args()
    binary = find_binary(args.wagate)
    chromium = find_chromium(args.chromium)
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        raise SystemExit("browser: playwright is not installed (pip install playwright)")

    tmp = tempfile.mkdtemp(prefix="wagate-console-")
    config = os.path.join(tmp, "wagate.toml")
    with open(config, "w") as f:
        # One attempt, so the failing receiver's delivery is a dead letter at once.
        f.write("[events]\nmax_attempts = 1\nbase_backoff_ms = 10\nmax_backoff_ms = 10\n")
    gw = Gateway(binary, os.path.join(tmp, "data"),
                 extra=["--config", config, "--sim-pair-delay-ms", "1500"])
    receiver = Receiver()
    t = Tally()
    shots = args.screenshots

    def shot(page, name):
        if shots:
            os.makedirs(shots, exist_ok=True)
            page.screenshot(path=os.path.join(shots, f"{name}.png"), full_page=True)

    try:
        gw.admin("POST", "/admin/orgs", {"name": "acme"})
        gw.admin("POST", "/admin/orgs", {"name": "rival"})
        _, made = gw.admin("POST", "/admin/credentials", {"org": "acme", "kind": "api-key"})
        key = made["token"]
        _, made = gw.admin("POST", "/admin/credentials", {"org": "rival", "kind": "api-key"})
        gw.call("POST", "/core/instances", made["token"], {"name": "theirs"})

        with sync_playwright() as p:
            browser = launch(p, chromium)
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.set_default_timeout(15000)
            expect.set_options(timeout=15000)  # a loaded CI machine is slower than 5 s
            refused = []  # the page's requests the gateway refused, for a failure's report
            page.on("response", lambda r: r.status >= 400 and refused.append(
                f"{time.strftime('%H:%M:%S')} {r.request.method} {r.url.replace(gw.base, '')} -> {r.status}"))
            try:
                page.goto(gw.base + "/console")

                # A wrong key is refused; the right one logs in.
                page.get_by_label("API key or admin token").fill("wa_not-a-key")
                page.get_by_role("button", name="Log in").click()
                expect(page.locator("#status")).to_contain_text("refused")
                t.check(True, "a wrong key is refused with a message")
                shot(page, "login")
                page.get_by_label("API key or admin token").fill(key)
                page.get_by_role("button", name="Log in").click()
                expect(page.locator("#who")).to_contain_text("org")
                t.check(page.evaluate("document.cookie") == "", "the session cookie is HttpOnly (not readable by scripts)")

                # Create an instance and pair it by QR, watching the state change live.
                page.get_by_label("New instance name").fill("shop")
                page.get_by_role("button", name="Create instance").click()
                expect(page.locator("h1")).to_have_text("shop")
                page.get_by_role("button", name="Connect (QR)").click()
                expect(page.locator("#qr img")).to_be_visible()
                t.check(True, "the QR code is shown")
                shot(page, "pairing")
                expect(page.locator("#inst-state")).to_contain_text("connected", timeout=20000)
                expect(page.locator("#qr img")).to_have_count(0)
                t.check(True, "the instance turns connected without a reload, and the QR goes")

                # A webhook whose receiver fails: the delivery becomes a dead letter.
                page.get_by_label("Webhook URL").fill(receiver.url)
                page.get_by_role("button", name="Add webhook").click()
                expect(page.locator(".hook", has_text=receiver.url)).to_be_visible()

                # An inbound message appears live in the chat list.
                gw.admin("POST", "/admin/sim/shop/inbound", {"from": PEER, "text": "hi from the phone"})
                chat = page.get_by_role("link", name=f"{PEER}@s.whatsapp.net")
                expect(chat).to_be_visible()
                t.check(True, "an injected message's chat appears live")
                # The failing receiver's attempt shows in the webhook's recent deliveries.
                expect(page.locator("table.deliveries tr[data-outcome=dead_lettered]").first).to_be_visible(timeout=20000)
                t.check(True, "the webhook's failed delivery is listed as a dead letter")
                page.get_by_role("button", name="Send a test").click()
                expect(page.locator("table.deliveries td", has_text="connection_update").first).to_be_visible(timeout=20000)
                t.check(True, "a test delivery is sent and its outcome listed")
                shot(page, "instance")
                # A photo from the contact: drawn inline on request, from the gateway's bytes.
                gw.admin("POST", "/admin/sim/shop/inbound", {
                    "from": PEER, "text": "a photo",
                    "media": {"data": base64.b64encode(PNG).decode(), "kind": "image", "mimetype": "image/png"}})
                chat.click()
                expect(page.locator(".messages")).to_contain_text("hi from the phone")
                photo = page.locator(".messages li", has_text="a photo")
                photo.get_by_role("button", name="Show").click()
                expect(photo.locator("img.inline-media")).to_be_visible()
                width = photo.locator("img.inline-media").evaluate("img => img.naturalWidth")
                t.check(width == 2, f"an inbound photo is shown from its stored bytes (width {width})")
                # A document sent from the console, with a caption.
                page.get_by_label("Attach a file (optional)").set_input_files(
                    {"name": "terms.pdf", "mimeType": "application/pdf", "buffer": PDF})
                page.get_by_label("Message (or a file's caption)").fill("our terms")
                page.get_by_role("button", name="Send").click()
                sent_doc = page.locator(".messages li.mine", has_text="our terms")
                expect(sent_doc.locator("[data-media=document]")).to_be_visible()
                status, page_json = gw.call("GET", f"/core/instances/shop/chats/{PEER}@s.whatsapp.net/messages?limit=5", key)
                doc = next(m for m in page_json["messages"] if m.get("text") == "our terms")
                t.check(doc["media"]["file_name"] == "terms.pdf" and doc["media"]["size"] == len(PDF),
                        "a file attached in the console is sent as a document")

                # Reply, then revoke the reply.
                page.get_by_label("Message").fill("hello from the console")
                page.get_by_role("button", name="Send").click()
                mine = page.locator(".messages li.mine", has_text="hello from the console")
                expect(mine).to_be_visible()
                t.check(True, "a reply is sent and listed")
                shot(page, "chat")
                mine.get_by_role("button", name="Revoke for everyone").click()
                expect(page.locator(".messages li.mine").first).to_contain_text("(revoked)")
                t.check(True, "the reply is revoked")

                # Another org's instance is not reachable.
                page.goto(gw.base + "/console/#/i/theirs")
                expect(page.locator("#status")).to_contain_text("not found")
                t.check(True, "another org's instance is refused")

                page.get_by_role("button", name="Log out").click()
                expect(page.get_by_role("button", name="Log in")).to_be_visible()
                status, _ = gw.call("GET", "/console/session", headers={"x-wagate-console": "1"})
                t.check(status == 401, "after logout the session is gone")

                # The admin replays the dead letter and deletes the instance.
                page.get_by_label("API key or admin token").fill(gw.admin_token)
                page.get_by_role("button", name="Log in").click()
                expect(page.locator("#who")).to_contain_text("admin")
                page.get_by_role("link", name="Dead letters").click()
                deadline = time.time() + 20
                while page.locator("[data-dead]").count() == 0 and time.time() < deadline:
                    time.sleep(0.5)
                    page.reload()
                t.check(page.locator("[data-dead]").count() >= 1, "the failed delivery is a dead letter")
                shot(page, "dead-letters")
                receiver.healthy = True
                page.get_by_role("button", name="Replay all").click()
                expect(page.locator("#status")).to_contain_text("replayed")
                deadline = time.time() + 20
                while not receiver.received and time.time() < deadline:
                    time.sleep(0.2)
                t.check(any(b"hi from the phone" in b for b in receiver.received),
                        "the replayed dead letter reaches the receiver")

                page.get_by_role("link", name="Plugins").click()
                row = page.locator("tr", has=page.locator("td", has_text="webhook")).first
                expect(row).to_be_visible()
                calls = int(row.locator("td").nth(3).inner_text())
                t.check(calls >= 1, f"the plugins screen shows the webhook sink's calls ({calls})")
                shot(page, "plugins")

                page.get_by_role("link", name="Instances").click()
                # Phone width: one column, the list still usable.
                page.set_viewport_size({"width": 390, "height": 800})
                expect(page.get_by_role("link", name="shop")).to_be_visible()
                t.check(page.evaluate("document.documentElement.scrollWidth <= 390"),
                        "no sideways scrolling at phone width")
                shot(page, "phone")
                page.set_viewport_size({"width": 1100, "height": 800})
                page.get_by_role("link", name="shop").click()
                page.get_by_role("button", name="Delete instance").click()
                page.get_by_label("Instance name").fill("shop")
                page.locator("#confirm-go").click()
                expect(page.locator("#status")).to_contain_text("deleted")
                expect(page.locator("tr[data-instance=shop]")).to_have_count(0)
                status, _ = gw.call("GET", "/core/instances/shop", key)
                t.check(status == 404, "the instance is deleted")
            except Exception:
                describe_failure(page, refused)
                raise
            browser.close()
    except Exception as e:  # a Playwright timeout names the step that did not happen
        t.check(False, f"{type(e).__name__}: {e}".splitlines()[0])
    finally:
        gw.stop()
        receiver.server.shutdown()
    t.done()


if __name__ == "__main__":
    main()
