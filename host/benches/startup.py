#!/usr/bin/env python3
"""Time from launch to the first `200` on /healthz.

Usage: python3 host/benches/startup.py BIN [RUNS]

Run 0 starts on a fresh data folder (no compiled plugin cached: every bundled plugin
is compiled on this start); later runs restart on the same folder (warm: compiled code
loaded from the cache). Prints, per run, when the bound address was printed on stdout
("listening on ...") and when /healthz first answered 200, in ms since launch.
"""
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

binary = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
data = os.path.join(tempfile.mkdtemp(), "data")
for i in range(runs):
    t0 = time.monotonic()
    p = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--link", "sim", "--data", data],
        env=dict(os.environ, WAGATE_ADMIN_TOKEN="x", RUST_LOG="warn"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in p.stdout], daemon=True).start()
    port = None
    while port is None and time.monotonic() - t0 < 60:
        try:
            m = re.search(r"listening on https?://[^:]+:(\d+)", lines.get(timeout=0.001))
            port = m and m.group(1)
        except queue.Empty:
            pass
    t_port = time.monotonic() - t0
    body = b""
    while True:
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            break
        except Exception:
            time.sleep(0.002)
    t_health = time.monotonic() - t0
    p.terminate()
    p.wait()
    kind = "fresh" if i == 0 else "warm"
    print(f"run {i} ({kind}): address printed at {t_port * 1000:.0f} ms, "
          f"/healthz 200 at {t_health * 1000:.0f} ms ({body.decode().strip()!r})")
