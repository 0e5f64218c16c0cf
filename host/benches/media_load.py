#!/usr/bin/env python3
"""Media throughput of a running gateway, in one run so the ratios hold on a noisy
machine: (1) concurrent 1 MiB image sends through the native media route (base64 in
the JSON body), (2) the same sends through Evolution's sendMedia (a dialect plugin;
the host stages the base64), and (3) the cost of media metadata on a message-page read:
a page of 20 inbound text messages against a page of 20 inbound photos.

Starts the given binary on the sim link (default limits), prints requests per second
and latency percentiles for each.

    python3 host/benches/media_load.py target/release/wagate [--sends 200] [--threads 8] [--reads 2000]
"""
import argparse, base64, json, os, subprocess, tempfile, threading, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("binary")
ap.add_argument("--sends", type=int, default=200)
ap.add_argument("--threads", type=int, default=8)
ap.add_argument("--reads", type=int, default=2000)
args = ap.parse_args()

d = tempfile.mkdtemp()
env = dict(os.environ, WAGATE_ADMIN_TOKEN="adm", RUST_LOG="warn")
p = subprocess.Popen([args.binary, "serve", "--listen", "127.0.0.1:0", "--link", "sim",
                      "--sim-pair-delay-ms", "20", "--data", os.path.join(d, "data")],
                     env=env, stdout=subprocess.PIPE, text=True)
for line in p.stdout:
    if line.startswith("listening on "):
        base = line.split("listening on ", 1)[1].strip()
        break
threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()


def call(method, path, token, body=None, raw=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(base + path, method=method, data=data, headers={
        "Authorization": "Bearer " + token, "apikey": token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


call("POST", "/admin/orgs", "adm", {"name": "acme"})
key = json.loads(call("POST", "/admin/credentials", "adm", {"org": "acme", "kind": "api-key"})[1])["token"]
call("POST", "/core/instances", key, {"name": "shop"})
call("POST", "/core/instances/shop/connect", key, {})
time.sleep(1)

png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + os.urandom(1024 * 1024 - 16)
b64 = base64.b64encode(png).decode()
native_body = json.dumps({"to": "5511999999999", "kind": "image", "data": b64}).encode()
evo_body = json.dumps({"number": "5511999999999", "mediatype": "image", "media": b64}).encode()


def run(label, n, threads, one):
    lat, lock, left = [], threading.Lock(), [n]

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            t0 = time.perf_counter()
            one()
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts: t.start()
    for t in ts: t.join()
    total = time.perf_counter() - t0
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    print(f"{label}: {n} in {total:.2f} s = {n / total:.1f}/s; p50 {pct(.5):.1f} ms, p99 {pct(.99):.1f} ms, max {lat[-1] * 1000:.1f} ms")


def send_native():
    s, b = call("POST", "/core/instances/shop/messages/media", key, raw=native_body)
    assert s == 201, (s, b[:200])


def send_evo():
    s, b = call("POST", "/message/sendMedia/shop", key, raw=evo_body)
    assert s == 201, (s, b[:200])


run(f"native 1 MiB image sends, {args.threads} at once", args.sends, args.threads, send_native)
run(f"Evolution sendMedia 1 MiB images, {args.threads} at once", args.sends, args.threads, send_evo)

# Two chats of 20 inbound messages each: text only, and small photos with metadata.
small = base64.b64encode(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + os.urandom(2000)).decode()
for i in range(20):
    call("POST", "/admin/sim/shop/inbound", "adm", {"from": "5511000000001", "text": f"text {i}"})
    call("POST", "/admin/sim/shop/inbound", "adm", {"from": "5511000000002", "text": f"photo {i}",
                                                    "media": {"data": small, "kind": "image"}})
for label, jid in [("text", "5511000000001"), ("media", "5511000000002")]:
    path = f"/core/instances/shop/chats/{jid}@s.whatsapp.net/messages?limit=20"
    s, b = call("GET", path, key)
    assert s == 200 and len(json.loads(b)["messages"]) == 20, (s, b[:200])
    run(f"page of 20 {label} messages, {args.threads} at once", args.reads, args.threads,
        lambda: call("GET", path, key))
p.terminate(); p.wait()
