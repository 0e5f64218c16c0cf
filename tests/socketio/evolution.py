#!/usr/bin/env python3
"""Evolution's Socket.IO events as a Socket.IO client library receives them.

Drives the real `wagate` binary (`--link sim`) with Evolution's own variables
(`AUTHENTICATION_API_KEY`, `WEBSOCKET_ENABLED=true`, `WEBSOCKET_GLOBAL_EVENTS`) through
`python-socketio` (a maintained Socket.IO client; run by `.ci/run` from a venv of its
own, target/socketio-venv). Checks, as a client written against Evolution would see:

- Per-instance mode: a client on namespace `/shop` (set with instance/create's inline
  `websocket` block) receives `connection.update` and `messages.upsert` in Evolution's
  names and message shape `{event, instance, data, server_url?, date_time, sender?,
  apikey}`, and only the events its settings list.
- Global mode: a client on `/` with the global key gets every instance of its org,
  with an instance's token only that instance's, with another org's key only that
  org's: no event crosses orgs.
- Refusals: a wrong key, no key, another org's instance namespace, and another
  instance's namespace for an instance token are refused (`connect_error`).
- With WEBSOCKET_GLOBAL_EVENTS=false, `/` gets nothing while `/shop` still does.

Exits non-zero on any failure.

    tests/socketio/evolution.py [--wagate target/debug/wagate]
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "browser"))
import harness  # noqa: E402
from harness import Gateway, Tally, find_binary, log  # noqa: E402

harness.PREFIX = "socketio"

try:
    import socketio
except ImportError:
    raise SystemExit("socketio: python-socketio is not installed (pip install python-socketio websocket-client)")

GLOBAL_KEY = "socketio-test-global-key"
PEER = "5511988887777"
EVENTS = ("messages.upsert", "connection.update", "qrcode.updated", "messages.update", "instance.delete")


class Listener:
    """One Socket.IO client on one namespace, recording what arrives."""

    def __init__(self, base, namespace, key=None, how="header"):
        self.namespace = namespace
        self.got = []
        self.lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        for name in EVENTS:
            self.client.on(name, self._recorder(name), namespace=namespace)
        self.dropped = threading.Event()
        self.client.on("disconnect", lambda *_: self.dropped.set(), namespace=namespace)
        url, headers, auth = base, {}, None
        if key is not None and how == "header":
            headers["apikey"] = key
        elif key is not None and how == "query":
            url = f"{base}?apikey={key}"
        elif key is not None and how == "auth":
            auth = {"apikey": key}
        self.error = None
        try:
            self.client.connect(url, headers=headers, auth=auth, namespaces=[namespace],
                                transports=["websocket"], wait_timeout=10)
        except socketio.exceptions.ConnectionError as e:
            self.error = str(e) or "refused"

    def _recorder(self, name):
        def record(data):
            with self.lock:
                self.got.append((name, data))
        return record

    def events(self, name=None):
        with self.lock:
            return [(n, d) for n, d in self.got if name is None or n == name]

    def instances(self):
        return sorted({d.get("instance") for _, d in self.events()})

    def close(self):
        if self.error is None:
            self.client.disconnect()


def wait_for(cond, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def evo(gw, method, path, key, body=None):
    return gw.call(method, path, body=body, headers={"apikey": key})


def create(gw, key, name, websocket=None):
    body = {"instanceName": name, "integration": "WHATSAPP-BAILEYS"}
    if websocket is not None:
        body["websocket"] = websocket
    status, v = evo(gw, "POST", "/instance/create", key, body)
    if status != 201:
        raise SystemExit(f"socketio: create {name}: {status} {v}")
    return v["hash"]


def connect_and_inbound(gw, key, name, text):
    """Pairs the instance on the sim and has a contact write to it."""
    status, v = evo(gw, "GET", f"/instance/connect/{name}", key)
    if status != 200:
        raise SystemExit(f"socketio: connect {name}: {status} {v}")
    if not wait_for(lambda: evo(gw, "GET", f"/instance/connectionState/{name}", key)[1]
                    ["instance"]["state"] == "open"):
        raise SystemExit(f"socketio: {name} never opened")
    status, v = gw.admin("POST", f"/admin/sim/{name}/inbound", {"from": PEER, "text": text, "fromMe": False})
    if status != 201:
        raise SystemExit(f"socketio: inbound {name}: {status} {v}")


def other_org_key(gw):
    gw.admin("POST", "/admin/orgs", {"name": "rivals"})
    status, v = gw.admin("POST", "/admin/credentials", {"org": "rivals", "kind": "evolution-key"})
    if status != 201:
        raise SystemExit(f"socketio: mint rivals key: {status} {v}")
    return v["token"]


def global_mode(binary, tmp, t):
    check = t.check
    gw = Gateway(binary, os.path.join(tmp, "global"), {
        "AUTHENTICATION_API_KEY": GLOBAL_KEY,
        "WEBSOCKET_ENABLED": "true",
        "WEBSOCKET_GLOBAL_EVENTS": "true",
    })
    listeners = []
    try:
        shop_token = create(gw, GLOBAL_KEY, "shop",
                            websocket={"enabled": True, "events": ["MESSAGES_UPSERT"]})
        create(gw, GLOBAL_KEY, "quiet")
        rivals = other_org_key(gw)
        create(gw, rivals, "rival")

        shop_ns = Listener(gw.base, "/shop", GLOBAL_KEY)
        quiet_ns = Listener(gw.base, "/quiet", GLOBAL_KEY, how="query")
        everyone = Listener(gw.base, "/", GLOBAL_KEY)
        shop_only = Listener(gw.base, "/", shop_token, how="auth")
        rival_global = Listener(gw.base, "/", rivals)
        listeners += [shop_ns, quiet_ns, everyone, shop_only, rival_global]
        for lst, what in [(shop_ns, "/shop with the global key (header)"),
                          (quiet_ns, "/quiet with the global key (?apikey=)"),
                          (everyone, "/ with the global key"),
                          (shop_only, "/ with shop's own token (auth payload)"),
                          (rival_global, "/ with another org's key")]:
            check(lst.error is None, f"{what} connects ({lst.error})")

        refused = [
            (Listener(gw.base, "/shop", "wrong-key"), "a wrong key on /shop"),
            (Listener(gw.base, "/", "wrong-key"), "a wrong key on /"),
            (Listener(gw.base, "/shop", None), "no key on /shop"),
            (Listener(gw.base, "/rival", GLOBAL_KEY), "another org's instance namespace"),
            (Listener(gw.base, "/shop", rivals), "another org's key on /shop"),
            (Listener(gw.base, "/quiet", shop_token), "an instance token on another instance's namespace"),
        ]
        listeners += [lst for lst, _ in refused]
        for lst, what in refused:
            check(lst.error is not None, f"{what} is refused ({lst.error})")

        connect_and_inbound(gw, GLOBAL_KEY, "shop", "hello shop")
        connect_and_inbound(gw, GLOBAL_KEY, "quiet", "hello quiet")
        connect_and_inbound(gw, rivals, "rival", "hello rival")

        check(wait_for(lambda: shop_ns.events("messages.upsert")), "/shop receives messages.upsert")
        name, msg = shop_ns.events("messages.upsert")[0]
        log(f"/shop got {name}: {str(msg)[:300]}")
        check(msg.get("event") == "messages.upsert" and msg.get("instance") == "shop",
              "the message carries Evolution's dotted event name and the instance")
        check(set(msg) >= {"event", "instance", "data", "date_time", "apikey"} and "destination" not in msg,
              f"the message has Evolution's websocket fields ({sorted(msg)})")
        data = msg.get("data", {})
        check(data.get("key", {}).get("remoteJid", "").startswith(PEER)
              and data.get("key", {}).get("fromMe") is False
              and data.get("message", {}).get("conversation") == "hello shop",
              "data is the message as Evolution's messages.upsert carries it")
        check(not shop_ns.events("connection.update"),
              "/shop gets only the events its settings list (no connection.update)")

        check(wait_for(lambda: {"shop", "quiet"} <= set(everyone.instances())),
              "/ with the global key gets both of its org's instances")
        check(wait_for(lambda: everyone.events("connection.update")),
              "global mode emits connection.update too")
        check(wait_for(lambda: rival_global.instances() == ["rival"]),
              "/ with the other org's key gets its own instance's events")
        time.sleep(1.0)  # anything that would leak has had time to arrive
        check("rival" not in everyone.instances(), "no event of the other org reaches the global key")
        check(shop_only.instances() == ["shop"], f"shop's token on / gets shop's events only ({shop_only.instances()})")
        check(rival_global.instances() == ["rival"], f"the other org gets none of ours ({rival_global.instances()})")
        check(not quiet_ns.events(), "/quiet gets nothing: its websocket was never set")

        # /websocket/set switches an instance's namespace on, live.
        status, v = evo(gw, "POST", "/websocket/set/quiet", GLOBAL_KEY,
                        {"websocket": {"enabled": True, "events": ["MESSAGES_UPSERT"]}})
        check(status == 201, f"/websocket/set/quiet answers 201 ({status} {v})")
        gw.admin("POST", "/admin/sim/quiet/inbound", {"from": PEER, "text": "now heard", "fromMe": False})
        check(wait_for(lambda: quiet_ns.events("messages.upsert")), "/quiet receives events once set")

        # Deleting an instance closes its listeners: its namespace's and its own token's.
        status, v = evo(gw, "DELETE", "/instance/delete/shop", GLOBAL_KEY)
        check(status == 200, f"shop is deleted ({status} {v})")
        check(shop_ns.dropped.wait(10), "the /shop listener is disconnected once shop is deleted")
        check(shop_only.dropped.wait(10), "shop's own token on / is disconnected once shop is deleted")
        check(wait_for(lambda: everyone.events("instance.delete")), "/ with the global key hears instance.delete")
        check(not everyone.dropped.is_set(), "the org key's listener on / stays connected")
    finally:
        for lst in listeners:
            lst.close()
        gw.stop()


def per_instance_only(binary, tmp, t):
    check = t.check
    gw = Gateway(binary, os.path.join(tmp, "per-instance"), {
        "AUTHENTICATION_API_KEY": GLOBAL_KEY,
        "WEBSOCKET_ENABLED": "true",
    })
    listeners = []
    try:
        create(gw, GLOBAL_KEY, "shop", websocket={"enabled": True, "events": []})
        shop_ns = Listener(gw.base, "/shop", GLOBAL_KEY)
        everyone = Listener(gw.base, "/", GLOBAL_KEY)
        listeners += [shop_ns, everyone]
        check(shop_ns.error is None and everyone.error is None, "both connect without global mode")
        connect_and_inbound(gw, GLOBAL_KEY, "shop", "per instance")
        check(wait_for(lambda: shop_ns.events("messages.upsert")), "/shop receives messages.upsert")
        check(wait_for(lambda: shop_ns.events("connection.update")),
              "/shop with every event (events: []) also gets connection.update")
        time.sleep(1.0)
        check(not everyone.events(), "without WEBSOCKET_GLOBAL_EVENTS, / gets nothing")
    finally:
        for lst in listeners:
            lst.close()
        gw.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wagate", default=None)
    args = ap.parse_args()
    binary = find_binary(args.wagate)
    tmp = tempfile.mkdtemp(prefix="wagate-socketio-")
    t = Tally()
    try:
        global_mode(binary, tmp, t)
        per_instance_only(binary, tmp, t)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
