#!/usr/bin/env python3
"""Tests each dialect's served OpenAPI document against the real server with
schemathesis (a property-based OpenAPI tester).

Starts the `wagate` binary on loopback with `--link sim` and a throwaway data folder,
creates an org and a credential for each dialect through the admin API, and runs
`st run` against each dialect's own document (`/api/openapi.json`, `/openapi.json`,
`/api/v1/openapi.json`, `/chatwoot/webhook/openapi.json`) with that credential.

Checks: no 5xx (not_a_server_error), only documented statuses
(status_code_conformance), bodies and content types as documented
(response_schema_conformance, content_type_conformance), 405 with `Allow` on a known
path under an undeclared method (unsupported_method), and auth never ignored
(ignored_auth: the same request without the credential must be refused).

Exits non-zero on any violation, on a dialect that could not be tested, or when
schemathesis is missing: nothing is skipped silently.

    tests/openapi/conformance.py [--wagate target/debug/wagate] [--max-examples N]
                                 [--only ryze,evolution,sessions-v1,chatwoot]

The binary defaults to the newest of target/{debug,release}/wagate (build it with
`cargo build -p wagate`); schemathesis's `st` is looked up next to this Python, then
on PATH (`pip install schemathesis==4.32.5`).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ADMIN = "conformance-admin-token"
ORG = "conformance"

# The checks every dialect must pass. Kept explicit (not `all`): the stateful-only
# checks (use_after_free, ensure_resource_availability) need links for every
# operation, and positive/negative data checks judge generated data against
# constraints schemathesis itself cannot always express.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "ignored_auth",
]


def log(msg):
    print(f"conformance: {msg}", flush=True)


class Gateway:
    """The real binary on loopback, its data in a temporary folder."""

    def __init__(self, binary, tmp):
        config = os.path.join(tmp, "wagate.toml")
        with open(config, "w") as f:
            # The Ryze dialect limits each token to 100 requests a minute; a tester
            # sends more than that, and every answer past it would be the (documented)
            # 429, hiding the routes themselves.
            f.write(
                "[plugins.settings.ryze]\n"
                'config = { rate_limit = "1000000", create_rate_limit = "1000000" }\n'
            )
        env = dict(os.environ)
        env.update(
            {
                "WAGATE_ADMIN_TOKEN": ADMIN,
                "RUST_LOG": env.get("RUST_LOG", "error"),
                "WAGATE_EVOLUTION_ORG": ORG,
                # The Chatwoot integration points at a loopback address (nothing is
                # delivered there during the run); the outbound guard refuses loopback
                # unless the operator allows it.
                "WAGATE_OUTBOUND_ALLOW": "127.0.0.0/8",
            }
        )
        self.proc = subprocess.Popen(
            [
                binary,
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--link",
                "sim",
                "--sim-pair-delay-ms",
                "20",
                "--data",
                os.path.join(tmp, "data"),
                "--config",
                config,
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        deadline = time.time() + 120
        self.base = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("listening on "):
                self.base = "http://" + line.split("listening on ", 1)[1].strip().removeprefix(
                    "http://"
                )
                break
        if self.base is None:
            self.stop()
            raise SystemExit("conformance: wagate exited or never listened")
        # Keep draining stdout so the child never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def call(self, method, path, headers=None, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def admin(self, method, path, body=None):
        return self.call(method, path, {"Authorization": f"Bearer {ADMIN}"}, body)

    def credential(self, kind):
        status, v = self.admin("POST", "/admin/credentials", {"org": ORG, "kind": kind})
        if status != 201:
            raise SystemExit(f"conformance: minting a {kind} credential: {status} {v}")
        return v["token"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


CONTACT = "5511999999999"


def live_instance(gw, api_key, name):
    """An instance paired on the simulated network with one chat (a message from
    CONTACT): what the generated requests reach besides the instances they create."""
    h = {"Authorization": f"Bearer {api_key}"}
    status, v = gw.call("POST", "/core/instances", h, {"name": name})
    if status != 201:
        raise SystemExit(f"conformance: creating instance {name}: {status} {v}")
    instance = v["instance"]
    status, v = gw.call("POST", f"/core/instances/{instance['id']}/connect", h, {})
    if status != 200:
        raise SystemExit(f"conformance: connecting instance {name}: {status} {v}")
    for _ in range(500):
        status, v = gw.call("GET", f"/core/instances/{instance['id']}/state", h)
        if v and v.get("state") == "open":
            break
        time.sleep(0.02)
    else:
        raise SystemExit(f"conformance: instance {name} never paired")
    status, v = gw.admin("POST", f"/admin/sim/{instance['id']}/inbound", {"from": CONTACT, "text": "hi"})
    if status != 201:
        raise SystemExit(f"conformance: inbound message for {name}: {status} {v}")
    return instance


def chatwoot_secret(gw, evolution_key):
    """An instance with a Chatwoot integration, set through Evolution's endpoint; its
    answer's `webhook_url` carries the inbound secret the Chatwoot mount accepts."""
    h = {"apikey": evolution_key}
    # Nothing listens on port 9 (discard) of loopback; no event is sent during the run.
    status, v = gw.call(
        "POST",
        "/chatwoot/set/cw",
        h,
        {
            "enabled": True,
            "accountId": "1",
            "token": "conformance-chatwoot-token",
            "url": "http://127.0.0.1:9",
            "signMsg": False,
            "reopenConversation": False,
            "conversationPending": False,
        },
    )
    if status != 201:
        raise SystemExit(f"conformance: setting the Chatwoot integration: {status} {v}")
    query = urllib.parse.urlparse(v["webhook_url"]).query
    return urllib.parse.parse_qs(query)["token"][0]


def find_binary():
    found = [
        os.path.join(ROOT, "target", kind, "wagate")
        for kind in ("debug", "release")
        if os.path.exists(os.path.join(ROOT, "target", kind, "wagate"))
    ]
    if not found:
        raise SystemExit("conformance: no target/{debug,release}/wagate; run cargo build -p wagate")
    return max(found, key=os.path.getmtime)


def find_st():
    here = os.path.join(os.path.dirname(sys.executable), "st")
    if os.path.exists(here):
        return here
    st = shutil.which("st")
    if not st:
        raise SystemExit("conformance: schemathesis is not installed (pip install schemathesis==4.32.5)")
    return st


def run_dialect(st, gw, tmp, name, mount, scheme, secret, max_examples, params, server_statuses):
    """`st run` on one dialect's served document; True when it passed.

    `params` maps path parameters to a live instance's values, used for half of the
    generated requests (the other half, and the stateful phase's create -> use ->
    delete chains, use what the tester makes up or creates); never for DELETE, so the
    live instance stays. `server_statuses` are 5xx the dialect documents as answers
    about the caller's instance rather than gateway failures (Ryze's 503 "not
    connected"): every other 5xx fails."""
    config = os.path.join(tmp, f"{name}.toml")
    with open(config, "w") as f:
        kind = "bearer" if scheme == "bearerAuth" else "api_key"
        f.write(f"[auth.openapi.{scheme}]\n{kind} = {json.dumps(secret)}\n")
        if server_statuses:
            allowed = ["2XX", "3XX", "4XX"] + server_statuses
            f.write(f"[checks.not_a_server_error]\nexpected-statuses = {json.dumps(allowed)}\n")
        for param, value in params.items():
            f.write(f"[dictionaries.{param}]\nvalues = [{json.dumps(value)}]\n")
        if params:
            bindings = ", ".join(
                f'"path.{param}" = {{ dictionary = "{param}", probability = 0.5 }}' for param in params
            )
            f.write(f'[[operations]]\nexclude-method = "DELETE"\nparameters = {{ {bindings} }}\n')
    cmd = [
        st,
        "--config-file",
        config,
        "run",
        f"{gw.base}{mount}/openapi.json",
        "--url",
        f"{gw.base}{mount}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(max_examples),
        "--seed",
        "1",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-color",
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
    ]
    log(f"{name}: {' '.join(cmd[1:])}")
    started = time.time()
    rc = subprocess.call(cmd, cwd=tmp)
    log(f"{name}: exit {rc} in {time.time() - started:.0f}s")
    return rc == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wagate", default=None, help="the wagate binary (default: newest target/*/wagate)")
    ap.add_argument("--max-examples", type=int, default=int(os.environ.get("CONFORMANCE_MAX_EXAMPLES", "15")))
    ap.add_argument("--only", default="", help="comma-separated dialects to test")
    args = ap.parse_args()
    st = find_st()
    binary = args.wagate or find_binary()
    only = {d for d in args.only.split(",") if d}

    tmp = tempfile.mkdtemp(prefix="wagate-conformance-")
    gw = Gateway(binary, tmp)
    results = {}
    try:
        status, v = gw.admin("POST", "/admin/orgs", {"name": ORG})
        if status != 201:
            raise SystemExit(f"conformance: creating the org: {status} {v}")
        evolution_key = gw.credential("evolution-key")
        api_key = gw.credential("api-key")
        jid = f"{CONTACT}@s.whatsapp.net"
        # (name, mount, security scheme, credential, live path parameters, 5xx allowed)
        dialects = [
            ("ryze", "/api", "token", lambda: gw.credential("ryze-account"),
             lambda: {"instance": live_instance(gw, api_key, "ryze-live")["name"]}, [503]),
            ("evolution", "", "apikey", lambda: evolution_key,
             lambda: {"instanceName": live_instance(gw, api_key, "evo-live")["name"]}, []),
            ("sessions-v1", "/api/v1", "bearerAuth", lambda: api_key,
             lambda: {"sid": live_instance(gw, api_key, "v1-live")["id"], "cid": jid}, []),
            # Chatwoot's webhook answers 502 when WhatsApp did not take the message;
            # its instance is paired, so it must not happen here.
            ("chatwoot", "/chatwoot/webhook", "token", lambda: chatwoot_secret(gw, evolution_key),
             lambda: {"instanceName": "cw"}, []),
        ]
        for name, mount, scheme, secret, params, server_statuses in dialects:
            if only and name not in only:
                continue
            if name == "chatwoot":
                live_instance(gw, api_key, "cw")
            results[name] = run_dialect(
                st, gw, tmp, name, mount, scheme, secret(), args.max_examples, params(), server_statuses
            )
            if gw.proc.poll() is not None:
                log(f"wagate exited ({gw.proc.returncode}) during {name}")
                results[name] = False
                break
    finally:
        gw.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    failed = [n for n, ok in results.items() if not ok]
    passed = len(results) - len(failed)
    if failed:
        log(f"failed: {', '.join(failed)}")
    print(f"conformance: {passed} passed, {len(failed)} failed", flush=True)
    sys.exit(1 if failed or not results else 0)


if __name__ == "__main__":
    main()
