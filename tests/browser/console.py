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


AXE = os.path.join(ROOT, "target", "axe", "node_modules", "axe-core", "axe.min.js")


def audit(page, t, what):
    """Runs axe-core (the WCAG 2.1 A and AA rules) on the page as it is now: a serious
    or critical violation fails the check; lesser ones are logged."""
    if not os.path.exists(AXE):
        raise SystemExit(f"browser: axe-core is not installed ({AXE}); "
                         "npm install --prefix target/axe axe-core@4.14.1")
    page.add_script_tag(path=AXE)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: "tag",
            values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
        return {passed: r.passes.length, violations: r.violations.map((v) => ({id: v.id,
            impact: v.impact, help: v.help, where: v.nodes.slice(0, 3).map((n) => n.target.join(" "))}))};
    }""")
    passed, found = result["passed"], result["violations"]
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    for v in found:
        if v not in serious:
            log(f"accessibility ({what}, {v['impact']}): {v['id']}: {v['help']} at {v['where']}")
    # A page axe found nothing to check on would pass vacuously.
    t.check(passed >= 10 and not serious,
            f"no serious accessibility violation on the {what} ({passed} rules passed)"
            + (f": {json.dumps(serious)}" if serious else ""))


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
            # CSP bypassed only so the accessibility audit can inject axe-core; the
            # console's own policy is checked by tests/console.rs.
            page = browser.new_page(viewport={"width": 1100, "height": 800}, bypass_csp=True)
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
                audit(page, t, "login screen")
                page.get_by_label("API key or admin token").fill(key)
                page.get_by_role("button", name="Log in").click()
                expect(page.locator("#who")).to_contain_text("org acme")
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
                # The paired account's profile shows, and its behaviour can be set.
                expect(page.locator("#profile")).to_contain_text("wagate sim")
                t.check(True, "the paired account's profile name is shown")
                settings = page.locator("[data-settings]")
                settings.get_by_label("reject calls").check()
                settings.get_by_label("Reply texted to callers (empty: none)").fill("Please write instead.")
                settings.get_by_role("button", name="Save").click()
                expect(page.locator("#status")).to_contain_text("Settings saved")
                _, saved = gw.call("GET", "/core/instances/shop/settings", key)
                t.check(saved.get("reject_calls") is True and saved.get("call_reply") == "Please write instead."
                        and saved.get("ignore_groups") is False,
                        f"the instance's settings are saved ({saved})")

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
                # The webhook is edited in place: same webhook (id, secret, deliveries),
                # new URL and event filter.
                _, before = gw.call("GET", "/core/instances/shop/webhooks", key)
                page.locator(".hook", has_text=receiver.url).get_by_role("button", name="Edit").click()
                form = page.locator("[data-webhook-form]")
                form.locator("input[type=url]").fill(receiver.url + "?edited=1")
                form.get_by_label("Events (comma-separated; empty for all)").fill("message_upsert")
                form.get_by_role("button", name="Save").click()
                expect(page.locator(".hook", has_text="?edited=1")).to_contain_text("message_upsert")
                _, after = gw.call("GET", "/core/instances/shop/webhooks", key)
                t.check(len(after) == 1 and after[0]["id"] == before[0]["id"]
                        and after[0]["url"].endswith("?edited=1") and after[0]["events"] == ["message_upsert"],
                        "a webhook edited in place keeps its identity")
                expect(page.locator("table.deliveries tr").first).to_be_visible()
                # An integration is added, edited (disabled; its secret kept) and removed.
                page.locator("summary", has_text="Add an integration").click()
                new = page.locator("[data-integration-form=new]")
                new.get_by_label("Integration (sink plugin)").fill("chatwoot")
                new.get_by_label("Its server URL").fill(receiver.url)
                new.get_by_label("Settings (JSON object, as the sink documents them)").fill('{"accountId": "1", "nameInbox": "shop"}')
                new.get_by_label("Secret header name (e.g. api_access_token)").fill("api_access_token")
                new.get_by_label("Secret header value").fill("tok-console")
                new.get_by_role("button", name="Add an integration").click()
                row = page.locator("[data-integration=chatwoot]")
                expect(row).to_contain_text("secret headers: api_access_token")
                row.get_by_role("button", name="Edit").click()
                edit = page.locator("[data-integration-form=edit]")
                edit.get_by_label("enabled").uncheck()
                edit.get_by_role("button", name="Save").click()
                expect(page.locator("[data-integration=chatwoot]")).to_contain_text("disabled")
                _, ints = gw.call("GET", "/core/instances/shop/integrations", key)
                t.check(len(ints) == 1 and not ints[0]["enabled"]
                        and ints[0]["secret_header_names"] == ["api_access_token"]
                        and "tok-console" not in json.dumps(ints),
                        "an integration is added and edited, its secret kept and never shown")
                # The instance's own choice of inbound media: documents only.
                md = page.locator("[data-media-download]")
                md.get_by_label("Choose for this instance").check()
                md.get_by_label("document").check()
                md.get_by_role("button", name="Save").click()
                expect(page.locator("#status")).to_contain_text("Inbound media choice saved")
                _, choice = gw.call("GET", "/core/instances/shop/media-download", key)
                t.check(choice == {"enabled": True, "kinds": ["document"]},
                        f"the instance's inbound media choice is saved ({choice})")
                md.get_by_label("Choose for this instance").uncheck()
                md.get_by_role("button", name="Save").click()
                deadline = time.time() + 10
                while choice is not None and time.time() < deadline:
                    time.sleep(0.2)
                    _, choice = gw.call("GET", "/core/instances/shop/media-download", key)
                t.check(choice is None, "and cleared back to the default")
                audit(page, t, "instance screen")
                page.once("dialog", lambda d: d.accept())
                page.locator("[data-integration=chatwoot]").get_by_role("button", name="Remove").click()
                expect(page.locator("[data-integration=chatwoot]")).to_have_count(0)
                _, ints = gw.call("GET", "/core/instances/shop/integrations", key)
                t.check(ints == [], "an integration is removed")
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
                audit(page, t, "chat screen")
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
                # By keyboard alone: the token field has the focus, Enter submits.
                page.keyboard.type(gw.admin_token)
                page.keyboard.press("Enter")
                expect(page.locator("#who")).to_contain_text("admin")
                t.check(True, "the admin logs in by keyboard alone")
                page.get_by_role("link", name="Dead letters").click()
                deadline = time.time() + 20
                while page.locator("[data-dead]").count() == 0 and time.time() < deadline:
                    time.sleep(0.5)
                    page.reload()
                t.check(page.locator("[data-dead]").count() >= 1, "the failed delivery is a dead letter")
                shot(page, "dead-letters")
                audit(page, t, "dead letters screen")
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
                audit(page, t, "plugins screen")

                page.get_by_role("link", name="Instances").click()
                # Phone width: one column, the list still usable.
                page.set_viewport_size({"width": 390, "height": 800})
                expect(page.get_by_role("link", name="shop")).to_be_visible()
                t.check(page.evaluate("document.documentElement.scrollWidth <= 390"),
                        "no sideways scrolling at phone width")
                shot(page, "phone")
                audit(page, t, "instance list at phone width")
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
