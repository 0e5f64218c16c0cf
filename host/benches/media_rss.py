#!/usr/bin/env python3
"""RSS growth of the gateway while it sends one 16 MiB video: through the native media
route from a URL source (a loopback server in this script) and as base64 in the JSON
body, then as base64 and as a multipart upload through Evolution's sendMedia (a dialect
plugin; the host stages the field or the file part, see `core::uploads`); then reads the stored video back through the native
route and each dialect's media read (the dialects' bytes attached by the host, see
`plugin::attachments`). Starts the given binary on the sim link with the
default limits, samples /proc/<pid>/status VmRSS every 5 ms during each request,
prints the baseline, the peak and the growth as a multiple of the file size.

    python3 host/benches/media_rss.py target/debug/wagate
"""
import base64, json, os, subprocess, sys, time, urllib.request, tempfile, http.server, threading
binary = sys.argv[1]
d = tempfile.mkdtemp()
cfg = os.path.join(d, "wagate.toml")
open(cfg, "w").write("")
env = dict(os.environ, WAGATE_ADMIN_TOKEN="adm", WAGATE_LINK="sim", RUST_LOG="warn", WAGATE_OUTBOUND_ALLOW="127.0.0.0/8")
p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--sim-pair-delay-ms", "20", "--data", os.path.join(d, "data"), "--config", cfg], env=env, stdout=subprocess.PIPE, text=True)
for line in p.stdout:
    if line.startswith("listening on "):
        base = "http://" + line.split()[-1].replace("http://", "")
        break
threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
def call(method, path, token, body=None):
    headers = {"Authorization": "Bearer " + token, "apikey": token, "Content-Type": "application/json"}
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def rss():
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith("VmRSS"):
            return int(l.split()[1]) * 1024
    return 0
call("POST", "/admin/orgs", "adm", {"name": "acme"})
s, b = call("POST", "/admin/credentials", "adm", {"org": "acme", "kind": "api-key"})
key = json.loads(b)["token"]
call("POST", "/core/instances", key, {"name": "shop"})
call("POST", "/core/instances/shop/connect", key, {})
time.sleep(1)
video = b"\0\0\0\x18ftypisom\0\0\x02\0" + os.urandom(16 * 1024 * 1024 - 16)
# a URL source too, served from memory
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Type", "video/mp4"); self.send_header("Content-Length", str(len(video))); self.end_headers(); self.wfile.write(video)
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{srv.server_address[1]}/v.mp4"
# warm up with a small send so lazily built state is counted in the baseline
call("POST", "/core/instances/shop/messages/media", key, {"to": "5511999999999", "kind": "video", "data": base64.b64encode(video[:4096]).decode()})
time.sleep(0.5)
out = {}
def measure(label, fn):
    """Runs `fn` (an HTTP call) while sampling the gateway's VmRSS; keeps the peak."""
    before = rss()
    peak = [before]
    stop = [False]
    def sample():
        while not stop[0]:
            peak[0] = max(peak[0], rss()); time.sleep(0.005)
    t = threading.Thread(target=sample); t.start()
    t0 = time.time(); s, b = fn(); dt = time.time() - t0
    stop[0] = True; t.join()
    assert s in (200, 201), (label, s, b[:200])
    out[label] = (before, peak[0], dt)
    time.sleep(0.5)
    return b
native = "/core/instances/shop/messages/media"
for label, path, body in [
        ("native url", native, {"to": "5511999999999", "kind": "video", "url": url}),
        ("native base64", native, {"to": "5511999999999", "kind": "video", "data": base64.b64encode(video).decode()}),
        ("evolution base64", "/message/sendMedia/shop", {"number": "5511999999999", "mediatype": "video", "media": base64.b64encode(video).decode()})]:
    b = measure(label, lambda: call("POST", path, key, body))
    last_id = json.loads(b).get("id") or json.loads(b)["key"]["id"]
def post_form(path, fields, file_name, mimetype, data):
    """A multipart/form-data POST (Evolution's multer routes) with the api key."""
    boundary = "----wagate-bench"
    parts = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items())
    parts += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\nContent-Type: {mimetype}\r\n\r\n'.encode()
    body = parts + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(base + path, data=body, method="POST", headers={"apikey": key, "content-type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req) as r:
        return r.status, r.read()
measure("evolution multipart", lambda: post_form("/message/sendMedia/shop", {"number": "5511999999999", "mediatype": "video"}, "clip.mp4", "video/mp4", video))
s, b = call("POST", "/admin/credentials", "adm", {"org": "acme", "kind": "ryze-account"})
ryze = json.loads(b)["token"]
s, b = call("GET", "/core/instances/shop", key)
iid = json.loads(b)["id"]
def get(path, headers):
    req = urllib.request.Request(base + path, headers=headers)
    with urllib.request.urlopen(req) as r:
        return r.status, r.read()
measure("read: native", lambda: get(f"/core/instances/shop/messages/{last_id}/media", {"Authorization": "Bearer " + key}))
measure("read: ryze binary", lambda: get(f"/api/message/download/shop?messageId={last_id}", {"token": ryze}))
measure("read: ryze base64", lambda: get(f"/api/message/download/shop?messageId={last_id}&format=base64", {"token": ryze}))
measure("read: sessions/v1", lambda: get(f"/api/v1/sessions/{iid}/messages/{last_id}/media", {"Authorization": "Bearer " + key}))
measure("read: evolution getBase64FromMediaMessage", lambda: call("POST", "/chat/getBase64FromMediaMessage/shop", key, {"message": {"key": {"id": last_id}}}))
p.terminate(); p.wait()
for k, (before, peak, dt) in out.items():
    print(f"{k}: RSS before {before/2**20:.1f} MiB, peak {peak/2**20:.1f} MiB, growth {(peak-before)/2**20:.1f} MiB for a 16 MiB video ({(peak-before)/len(video):.2f}x), {dt*1000:.0f} ms")
