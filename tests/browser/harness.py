"""What the browser tests share: the wagate binary started on loopback with a throwaway
data folder, the system Chromium for Playwright, and a pass/fail tally.

Chromium is the system's (Debian's `chromium` package; Playwright cannot download its
own browser here), given to Playwright as `executable_path`. A missing Chromium or
Playwright is an error, never a silent skip.
"""

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# The tag of every line; a script that is not a browser test sets its own.
PREFIX = "browser"


def log(msg):
    print(f"{PREFIX}: {msg}", flush=True)


class Gateway:
    """`wagate serve --link sim` on a free loopback port; `extra` are more arguments."""

    def __init__(self, binary, data, env_extra=None, extra=()):
        env = dict(os.environ)
        env.update({"WAGATE_ADMIN_TOKEN": "browser-admin", "RUST_LOG": "error",
                    "WAGATE_OUTBOUND_ALLOW": "127.0.0.0/8"})
        env.update(env_extra or {})
        self.admin_token = env["WAGATE_ADMIN_TOKEN"]
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--link", "sim", "--data", data, *extra],
            env=env, stdout=subprocess.PIPE, text=True,
        )
        self.base = None
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("listening on "):
                self.base = line.split("listening on ", 1)[1].strip()
                break
        if self.base is None:
            self.stop()
            raise SystemExit("browser: wagate exited or never listened")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def call(self, method, path, token=None, body=None, headers=None):
        """One request; answers (status, parsed JSON or None)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        if token:
            req.add_header("authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, None

    def admin(self, method, path, body=None):
        return self.call(method, path, self.admin_token, body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def find_binary(given):
    path = given or os.path.join(ROOT, "target", "debug", "wagate")
    if not os.path.exists(path):
        raise SystemExit("browser: no target/debug/wagate; run cargo test first")
    return path


def find_chromium(given):
    chromium = given or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("browser: chromium is not installed (apt-get install chromium)")
    return chromium


def launch(playwright, chromium):
    # Root in a container has no user namespaces for Chromium's sandbox.
    return playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])


class Tally:
    """Collects checks; `done()` exits non-zero when any failed."""

    def __init__(self):
        self.failures = []

    def check(self, cond, what):
        log(("ok: " if cond else "FAILED: ") + what)
        if not cond:
            self.failures.append(what)

    def done(self):
        if self.failures:
            raise SystemExit(f"browser: {len(self.failures)} check(s) failed: {self.failures}")
        log("all checks passed")
