#!/usr/bin/env python3
"""Replay seed 002 (German "Schritt 24: Der Octavia Loadbalancer" walkthrough)
with the real `openstack loadbalancer ...` CLI against a local Ostia, with real traffic:
two `ostia backend`s are the members, `curl` goes through the VIP, a member is killed
and comes back, and the statuses and stats the CLI shows follow.

Environment:
  OSTIA_BIN      path to the ostia binary   (default ~/.cache/ostia-target/debug/ostia)
  OPENSTACK      path to `openstack`         (default ~/.cache/ostia-venv/bin/openstack)
  OSTIA_AMPHORA  compute driver: inprocess (default) or process
  OSTIA_AUTH     builtin (default): password auth with the clouds.yaml `ostia up` writes,
                 no endpoint overrides; noauth: `auth_type: none` with endpoint overrides
  OSTIA_ENGINE   native (default), or haproxy: the load balancer is made with a flavor whose
                 profile says `{"engine": "haproxy"}` (so one haproxy master per load balancer
                 serves it, which `ps` shows), and its UDP listener is refused with the reason

Prints `ok - ...` / `not ok - ...` per check and a final `N passed, N failed` line;
exits 1 if anything failed. Python 3 stdlib only.
"""
import ipaddress
import json
import json as _json  # `cli(json=...)` shadows the module name inside cli()
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HOME = os.path.expanduser("~")
OSTIA_BIN = os.environ.get("OSTIA_BIN") or os.path.join(HOME, ".cache/ostia-target/debug/ostia")
OPENSTACK = os.environ.get("OPENSTACK") or os.path.join(HOME, ".cache/ostia-venv/bin/openstack")

AMPHORA = os.environ.get("OSTIA_AMPHORA", "inprocess")
AUTH = os.environ.get("OSTIA_AUTH", "builtin")
ENGINE = os.environ.get("OSTIA_ENGINE", "native")

CMD_TIMEOUT = 60      # seconds per CLI invocation
WAIT_TIMEOUT = 15     # seconds per "wait until ..." loop
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
LOCAL_NET = ipaddress.ip_network("127.10.0.0/16")

RESULTS = {"passed": 0, "failed": 0}


# --------------------------------------------------------------------------- helpers

def check(desc, cond, detail=""):
    """Record and print one TAP-ish check result. Returns cond (as bool)."""
    if cond:
        RESULTS["passed"] += 1
        print("ok - %s" % desc, flush=True)
    else:
        RESULTS["failed"] += 1
        print("not ok - %s: %s" % (desc, detail), flush=True)
    return bool(cond)


class Env:
    """Everything a step needs: ports, paths, ids collected along the way."""
    def __init__(self, tmp):
        self.tmp = tmp
        self.api_port = free_port()
        self.net_port = free_port()
        while self.net_port == self.api_port:
            self.net_port = free_port()
        self.health_port = free_port(socket.SOCK_DGRAM)
        self.identity_port = free_port()
        while self.identity_port in (self.api_port, self.net_port):
            self.identity_port = free_port()
        self.token = None
        self.api = "http://127.0.0.1:%d" % self.api_port
        self.net = "http://127.0.0.1:%d" % self.net_port
        self.log_path = os.path.join(tmp, "ostia.log")
        self.clouds = os.path.join(tmp, "clouds.yaml")
        self.ids = {}


ENV = None  # set in main()


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CliResult:
    def __init__(self, rc, out, err, data):
        self.rc, self.out, self.err, self.data = rc, out, err, data

    @property
    def ok(self):
        return self.rc == 0

    def detail(self):
        return "rc=%s stdout=%r stderr=%r" % (self.rc, self.out.strip()[-600:], self.err.strip()[-600:])


def cli(*args, json=True):
    """Run `openstack <args>` (adds `-f json` when json=True). Returns CliResult;
    .data is the parsed JSON (or None)."""
    cmd = [OPENSTACK] + list(args)
    if json:
        cmd += ["-f", "json"]
    env = dict(os.environ)
    env.update({"OS_CLIENT_CONFIG_FILE": ENV.clouds, "OS_CLOUD": "ostia"})
    for k in list(env):  # keep stray credentials from the caller's shell out of it
        if k.startswith("OS_") and k not in ("OS_CLIENT_CONFIG_FILE", "OS_CLOUD"):
            del env[k]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=CMD_TIMEOUT, env=env,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return CliResult(-1, e.stdout or "", "timeout after %ss: %s" % (CMD_TIMEOUT, " ".join(cmd)), None)
    data = None
    if json and p.returncode == 0:
        try:
            data = _json.loads(p.stdout)
        except ValueError:
            data = None
    return CliResult(p.returncode, p.stdout, p.stderr, data)


def http_get(url):
    """GET url -> (status, parsed-json-or-text), with the admin's token when there is one."""
    req = urllib.request.Request(url)
    if ENV.token:
        req.add_header("X-Auth-Token", ENV.token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        status = e.code
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def wait_for(desc, fn, timeout=WAIT_TIMEOUT, interval=0.5):
    """Call fn() until it returns a truthy value or timeout. Returns (value, last)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last and last[0]:
            return last
        if time.monotonic() >= deadline:
            return last if last else (False, "no result")
        time.sleep(interval)


def as_list(v):
    """The CLI renders id lists as a list, a comma/newline separated string, or ''."""
    if v is None or v == "":
        return []
    if isinstance(v, list):
        out = []
        for x in v:
            out.append(x["id"] if isinstance(x, dict) and "id" in x else x)
        return out
    if isinstance(v, str):
        return [x.strip() for x in re.split(r"[,\n]", v) if x.strip()]
    return [v]


def is_none(v):
    return v is None or v == "None"


def is_empty(v):
    return v is None or v == "" or v == "None" or v == []


def field_checks(what, obj, expected):
    """expected: {field: value or callable(value)->bool}."""
    if not check("%s: output is a JSON object" % what, isinstance(obj, dict), repr(obj)[:300]):
        return
    for field, exp in expected.items():
        if field not in obj:
            check("%s: field %s present" % (what, field), False, "missing; fields=%s" % sorted(obj))
            continue
        got = obj[field]
        if callable(exp):
            check("%s: %s (%r)" % (what, field, got), exp(got), "got %r" % (got,))
        else:
            check("%s: %s == %r" % (what, field, exp), got == exp, "got %r" % (got,))


def wait_status(kind, ident, want="ACTIVE", extra=None):
    """Poll `openstack loadbalancer [<kind>] show <ident>` until provisioning_status == want
    (and extra(obj) if given). Returns (bool, last object or error)."""
    cmd = ["loadbalancer"] + ([kind] if kind else []) + ["show", ident]

    def probe():
        r = cli(*cmd)
        if not r.ok or not isinstance(r.data, dict):
            return (False, r.detail())
        good = r.data.get("provisioning_status") == want and (extra is None or extra(r.data))
        return (good, r.data)
    return wait_for(" ".join(cmd), probe)


def wait_lb_active(name="Beispiel-LB", lb_id=None):
    """Between steps: wait until the LB is ACTIVE again. Polls the API directly (cheap) instead of
    spawning the CLI every half second; the user-visible states are asserted through the CLI."""
    url = "%s/v2.0/lbaas/loadbalancers/%s" % (ENV.api, lb_id or ENV.ids["lb"])

    def probe():
        st, body = http_get(url)
        lb = body.get("loadbalancer") if isinstance(body, dict) else None
        if st != 200 or not isinstance(lb, dict):
            return (False, "status=%s body=%r" % (st, body))
        return (lb.get("provisioning_status") == "ACTIVE", lb)
    ok, last = wait_for("lb ACTIVE", probe, interval=0.2)
    return check("load balancer %s back to ACTIVE" % name, ok, _short(last))


def retry_on_409(*args, json=False):
    """Run a mutating CLI call; while the API answers 409 (LB immutable/PENDING_*), retry (bounded)."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        r = cli(*args, json=json)
        if r.ok or "409" not in (r.err + r.out) or time.monotonic() >= deadline:
            return r
        time.sleep(0.5)


def _short(x):
    if isinstance(x, dict):
        return "provisioning_status=%r operating_status=%r" % (
            x.get("provisioning_status"), x.get("operating_status"))
    return str(x)[:500]


# --------------------------------------------------------------------------- server

def start_server():
    ENV.data_dir = os.path.join(ENV.tmp, "data")
    log = open(ENV.log_path, "w")
    ENV.proc = subprocess.Popen(
        [OSTIA_BIN, "up", "--data-dir", ENV.data_dir,
         "--api-bind", "127.0.0.1:%d" % ENV.api_port,
         "--network-bind", "127.0.0.1:%d" % ENV.net_port,
         "--health-bind", "127.0.0.1:%d" % ENV.health_port,
         "--identity-bind", "127.0.0.1:%d" % ENV.identity_port,
         "--key-manager-bind", "127.0.0.1:0",
         "--auth", AUTH,
         "--amphora", AMPHORA],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()

    def probe():
        if ENV.proc.poll() is not None:
            return (True, "exited rc=%s" % ENV.proc.returncode)
        st, body = http_get(ENV.api + "/")
        st2, _ = http_get(ENV.net + "/")
        return (st == 200 and st2 == 200, "api=%s net=%s" % (st, st2))
    ok, detail = wait_for("server ready", probe, timeout=15, interval=0.2)
    alive = ENV.proc.poll() is None
    if not check("ostia up answers GET / on API and network ports", ok and alive, detail):
        return False
    if AUTH == "builtin":
        # Only what `ostia up` printed: the clouds.yaml in the data dir, used as it is.
        ENV.clouds = os.path.join(ENV.data_dir, "clouds.yaml")
        mode = os.stat(ENV.clouds).st_mode & 0o777
        check("ostia up writes clouds.yaml readable by its owner only", mode == 0o600, oct(mode))
        text = open(ENV.clouds).read()
        check("clouds.yaml uses password auth without endpoint overrides",
              "password:" in text and "override" not in text, text.replace(password_of(text), "***"))
        ENV.token = admin_token(text)
        if not check("the admin of clouds.yaml gets a token", ENV.token is not None):
            return False
    else:
        with open(ENV.clouds, "w") as f:
            f.write("clouds:\n"
                    "  ostia:\n"
                    "    auth_type: none\n"
                    "    load_balancer_endpoint_override: %s\n"
                    "    network_endpoint_override: %s\n" % (ENV.api, ENV.net))
    st, body = http_get(ENV.net + "/v2.0/subnets?name=ostia-local-subnet")
    subnets = body.get("subnets") if isinstance(body, dict) else None
    if not check("network API lists ostia-local-subnet", st == 200 and subnets and len(subnets) == 1,
                 "status=%s body=%r" % (st, body)):
        return False
    ENV.subnet = subnets[0]["id"]
    return True


def password_of(clouds_yaml):
    m = re.search(r'password: "?([^"\n]+)"?', clouds_yaml)
    return m.group(1) if m else ""


def admin_token(clouds_yaml):
    """A project-scoped token for the clouds.yaml's admin, from its auth_url."""
    url = re.search(r"auth_url: (\S+)", clouds_yaml).group(1)
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": password_of(clouds_yaml)}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    req = urllib.request.Request(url + "/auth/tokens", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.headers.get("X-Subject-Token")
    except (urllib.error.URLError, OSError):
        return None


def stop_server():
    for b in list(BACKENDS.values()):
        stop_backend(b)
    proc = getattr(ENV, "proc", None)
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    kill_amphora_processes()


def kill_amphora_processes():
    """Amphora processes outlive `ostia up` by design; this run's must not outlive the run."""
    data_dir = getattr(ENV, "data_dir", None)
    if not data_dir:
        return
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if " amphora --dir " in cmd and data_dir in cmd:
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass


# --------------------------------------------------------------------------- backends and traffic

BACKENDS = {}


def start_backend(name, addr, kind="http"):
    """`ostia backend` answering `you hit: <name>`; waits until it listens."""
    host, port = addr.rsplit(":", 1)
    proc = subprocess.Popen([OSTIA_BIN, "backend", "--name", name, "--bind", addr, "--kind", kind],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    BACKENDS[name] = proc

    def listening():
        if proc.poll() is not None:
            return (True, "exited")
        if kind == "udp":
            return (True, "udp")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return (True, "up")
        except OSError as e:
            return (False, str(e))
    ok, detail = wait_for("backend %s" % name, listening, interval=0.05)
    check("ostia backend %s listens on %s (%s)" % (name, addr, kind), ok and proc.poll() is None, detail)
    return proc


def stop_backend(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    for k, v in list(BACKENDS.items()):
        if v is proc:
            del BACKENDS[k]


TRAFFIC = {"requests": 0, "bytes_in": 0, "bytes_out": 0}


def curl(url):
    """`curl` once on a new connection: (body or None, bytes sent, bytes received).
    Counts what went through the HTTP listener, for the stats check."""
    p = subprocess.run(["curl", "-s", "--max-time", "5", "-o", "-", "-w", "\n%{http_code} %{size_request} %{size_header} %{size_download}", url],
                       capture_output=True, text=True)
    out = p.stdout.rsplit("\n", 1)
    if len(out) != 2:
        return None, 0, 0
    body, meta = out
    try:
        code, sent, head, down = (int(x) for x in meta.split())
    except ValueError:
        return None, 0, 0
    if code == 0:
        return None, 0, 0
    TRAFFIC["requests"] += 1
    TRAFFIC["bytes_in"] += sent
    TRAFFIC["bytes_out"] += head + down
    return (body.strip() if code == 200 else "HTTP %d" % code), sent, head + down


def vip_url():
    return "http://%s/" % ENV.ids["vip_address"]


def curl_n(n):
    return [curl(vip_url())[0] for _ in range(n)]


def print_server_log(n=40):
    try:
        with open(ENV.log_path, errors="replace") as f:
            lines = f.readlines()
    except OSError as e:
        print("# (no server log: %s)" % e)
        return
    print("# ---- last %d lines of %s ----" % (n, ENV.log_path))
    for line in lines[-n:]:
        print("# " + ANSI_RE.sub("", line.rstrip("\n")))


# --------------------------------------------------------------------------- steps

def haproxy_flavor():
    """The operator's flavor for the haproxy engine: a profile of the amphora provider, then a
    flavor of it. Returns the flavor's id, or None."""
    r = cli("loadbalancer", "flavorprofile", "create", "--name", "haproxy-engine", "--provider", "amphora",
            "--flavor-data", '{"engine": "haproxy"}')
    if not check("flavorprofile create --provider amphora --flavor-data '{\"engine\": \"haproxy\"}'",
                 r.ok and r.data, r.detail()):
        return None
    bad = cli("loadbalancer", "flavorprofile", "create", "--name", "bad-engine", "--provider", "amphora",
              "--flavor-data", '{"engine": "nginx"}')
    check("flavorprofile create with engine nginx is refused by the provider's schema",
          not bad.ok and "engine 'nginx' is not one of" in bad.err, bad.detail())
    r = cli("loadbalancer", "flavor", "create", "--name", "haproxy", "--flavorprofile", "haproxy-engine",
            "--enable")
    if not check("flavor create --name haproxy --flavorprofile haproxy-engine", r.ok and r.data, r.detail()):
        return None
    return r.data.get("id")


def haproxy_masters(lb_id):
    """haproxy master processes (`-W`) whose configuration is under the load balancer's directory."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            args = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in args]
        if words and os.path.basename(words[0]) == "haproxy" and "-W" in words \
                and any(("/%s/haproxy.cfg" % lb_id) in w for w in words):
            found.append(int(pid))
    # Workers carry their master's command line; a master's parent is not one of them.
    return [p for p in found if parent_of(p) not in found]


def parent_of(pid):
    try:
        return int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def step_create_lb():
    flavor = []
    if ENGINE == "haproxy":
        ENV.ids["flavor"] = haproxy_flavor()
        if not ENV.ids["flavor"]:
            return False
        flavor = ["--flavor", "haproxy"]
    r = cli("loadbalancer", "create", "--name", "Beispiel-LB", "--vip-subnet-id", ENV.subnet, *flavor)
    if not check("loadbalancer create --name Beispiel-LB --vip-subnet-id <subnet>", r.ok and r.data, r.detail()):
        return False
    lb = r.data
    ENV.ids["lb"] = lb.get("id")

    def in_local_net(v):
        try:
            return ipaddress.ip_address(v) in LOCAL_NET
        except ValueError:
            return False
    field_checks("loadbalancer create", lb, {
        "id": lambda v: bool(UUID_RE.match(str(v))),
        "admin_state_up": True,
        "created_at": lambda v: not is_empty(v),
        "description": "",
        "flavor_id": (lambda v: v == ENV.ids["flavor"]) if ENGINE == "haproxy" else is_empty,
        "listeners": is_empty,
        "pools": is_empty,
        "name": "Beispiel-LB",
        "operating_status": "OFFLINE",
        "provisioning_status": "PENDING_CREATE",
        "provider": "amphora",
        "project_id": lambda v: not is_empty(v),
        "updated_at": is_none,
        "vip_address": in_local_net,
        "vip_network_id": lambda v: bool(UUID_RE.match(str(v))),
        "vip_port_id": lambda v: bool(UUID_RE.match(str(v))),
        "vip_qos_policy_id": is_none,
        "vip_subnet_id": ENV.subnet,
    })
    ENV.ids["vip_address"] = lb.get("vip_address")

    r = cli("loadbalancer", "list")
    rows = [x for x in (r.data or []) if x.get("name") == "Beispiel-LB"]
    check("loadbalancer list shows Beispiel-LB once", r.ok and len(rows) == 1, r.detail())
    if rows:
        check("loadbalancer list row: id, vip_address, provider match create",
              rows[0].get("id") == lb.get("id") and rows[0].get("vip_address") == lb.get("vip_address")
              and rows[0].get("provider") == "amphora", repr(rows[0]))
        check("loadbalancer list row: provisioning_status is PENDING_CREATE or ACTIVE",
              rows[0].get("provisioning_status") in ("PENDING_CREATE", "ACTIVE"), repr(rows[0]))

    def listed_active():
        r = cli("loadbalancer", "list")
        rows = [x for x in (r.data or []) if x.get("name") == "Beispiel-LB"]
        return (len(rows) == 1 and rows[0].get("provisioning_status") == "ACTIVE", r.detail())
    ok, last = wait_for("lb list ACTIVE", listed_active)
    check("loadbalancer list eventually shows Beispiel-LB ACTIVE", ok, last)
    return True


def step_listener():
    r = cli("loadbalancer", "listener", "create", "--name", "Beispiel-listener",
            "--protocol", "HTTP", "--protocol-port", "80", "Beispiel-LB")
    if not check("loadbalancer listener create --name Beispiel-listener --protocol HTTP --protocol-port 80",
                 r.ok and r.data, r.detail()):
        return False
    ls = r.data
    ENV.ids["listener"] = ls.get("id")
    field_checks("listener create", ls, {
        "id": lambda v: bool(UUID_RE.match(str(v))),
        "admin_state_up": True,
        "connection_limit": -1,
        "default_pool_id": is_none,
        "description": "",
        "loadbalancers": lambda v: as_list(v) == [ENV.ids["lb"]],
        "l7policies": is_empty,
        "name": "Beispiel-listener",
        "operating_status": "OFFLINE",
        "protocol": "HTTP",
        "protocol_port": 80,
        "provisioning_status": "PENDING_CREATE",
        "timeout_client_data": 50000,
        "timeout_member_connect": 5000,
        "timeout_member_data": 50000,
        "timeout_tcp_inspect": 0,
        "updated_at": is_none,
    })
    wait_lb_active()

    r = cli("loadbalancer", "listener", "list")
    rows = [x for x in (r.data or []) if x.get("id") == ENV.ids["listener"]]
    check("listener list contains Beispiel-listener", r.ok and len(rows) == 1, r.detail())
    if rows:
        row = rows[0]
        check("listener list row: name/protocol/port/default_pool_id/admin_state_up",
              row.get("name") == "Beispiel-listener" and row.get("protocol") == "HTTP"
              and row.get("protocol_port") == 80 and is_none(row.get("default_pool_id"))
              and row.get("admin_state_up") is True, repr(row))
    ok, last = wait_status("listener", "Beispiel-listener", "ACTIVE")
    check("listener show Beispiel-listener: ACTIVE", ok, _short(last))
    return True


def step_pool():
    r = cli("loadbalancer", "pool", "create", "--name", "Beispiel-pool", "--lb-algorithm", "ROUND_ROBIN",
            "--listener", "Beispiel-listener", "--protocol", "HTTP")
    if not check("loadbalancer pool create --name Beispiel-pool --listener Beispiel-listener",
                 r.ok and r.data, r.detail()):
        return False
    pool = r.data
    ENV.ids["pool"] = pool.get("id")
    field_checks("pool create", pool, {
        "id": lambda v: bool(UUID_RE.match(str(v))),
        "admin_state_up": True,
        "description": "",
        "healthmonitor_id": is_empty,
        "lb_algorithm": "ROUND_ROBIN",
        "listeners": lambda v: as_list(v) == [ENV.ids["listener"]],
        "loadbalancers": lambda v: as_list(v) == [ENV.ids["lb"]],
        "members": is_empty,
        "name": "Beispiel-pool",
        "operating_status": "OFFLINE",
        "protocol": "HTTP",
        "provisioning_status": "PENDING_CREATE",
        "session_persistence": is_none,
        "updated_at": is_none,
    })

    def listed_active():
        r = cli("loadbalancer", "pool", "list")
        rows = [x for x in (r.data or []) if x.get("id") == ENV.ids["pool"]]
        return (len(rows) == 1 and rows[0].get("provisioning_status") == "ACTIVE", r.detail())
    ok, last = wait_for("pool list ACTIVE", listed_active)
    check("pool list eventually shows Beispiel-pool ACTIVE", ok, last)
    wait_lb_active()
    r = cli("loadbalancer", "listener", "show", "Beispiel-listener")
    check("listener show: default_pool_id is now the pool",
          r.ok and r.data and r.data.get("default_pool_id") == ENV.ids["pool"], r.detail())
    return True


def step_members():
    ENV.ids["members"] = []
    start_backend("webserver1", "127.0.0.11:80")
    start_backend("webserver2", "127.0.0.12:80")
    for addr in ("127.0.0.11", "127.0.0.12"):
        r = retry_on_409("loadbalancer", "member", "create", "--subnet-id", ENV.subnet,
                         "--address", addr, "--protocol-port", "80", "Beispiel-pool", json=True)
        data = r.data
        if not check("member create --address %s --protocol-port 80 Beispiel-pool" % addr,
                     r.ok and isinstance(data, dict), r.detail()):
            continue
        ENV.ids["members"].append(data.get("id"))
        field_checks("member create %s" % addr, data, {
            "id": lambda v: bool(UUID_RE.match(str(v))),
            "address": addr,
            "admin_state_up": True,
            "backup": False,
            "monitor_address": is_none,
            "monitor_port": is_none,
            "name": "",
            "operating_status": "NO_MONITOR",
            "protocol_port": 80,
            "provisioning_status": "PENDING_CREATE",
            "subnet_id": ENV.subnet,
            "updated_at": is_none,
            "weight": 1,
        })
        wait_lb_active()

    def listed():
        r = cli("loadbalancer", "member", "list", "Beispiel-pool")
        rows = r.data or []
        good = ([x.get("id") for x in rows] == ENV.ids["members"]
                and all(x.get("provisioning_status") == "ACTIVE" and x.get("operating_status") == "NO_MONITOR"
                        for x in rows))
        return (good, rows if r.ok else r.detail())
    ok, rows = wait_for("member list", listed)
    check("member list Beispiel-pool: both members in creation order, ACTIVE, NO_MONITOR", ok, rows)
    if isinstance(rows, list) and len(rows) == 2:
        check("member list: addresses 127.0.0.11, 127.0.0.12, port 80, weight 1",
              [x.get("address") for x in rows] == ["127.0.0.11", "127.0.0.12"]
              and all(x.get("protocol_port") == 80 and x.get("weight") == 1 for x in rows), rows)

    got = curl_n(4)
    check("curl http://<vip>/ alternates webserver1/webserver2",
          got == ["you hit: webserver1", "you hit: webserver2"] * 2, got)
    ok, last = wait_for("lb ONLINE", lambda: api_operating("loadbalancers/%s" % ENV.ids["lb"], "ONLINE"))
    check("heartbeats: load balancer ONLINE", ok, last)
    for mid in ENV.ids["members"]:
        st = api_operating_status("pools/%s/members/%s" % (ENV.ids["pool"], mid))
        check("member %s stays NO_MONITOR without a monitor" % mid, st == "NO_MONITOR", st)
    if ENGINE == "haproxy":
        masters = haproxy_masters(ENV.ids["lb"])
        check("ps: one haproxy master serves the load balancer, its haproxy.cfg under <data-dir>/…/%s/"
              % ENV.ids["lb"], len(masters) == 1, masters)


def api_operating_status(path):
    st, body = http_get("%s/v2/lbaas/%s" % (ENV.api, path))
    if st != 200 or not isinstance(body, dict) or not body:
        return None
    return list(body.values())[0].get("operating_status")


def api_operating(path, want):
    got = api_operating_status(path)
    return (got == want, got)


def step_vip_port():
    r = cli("loadbalancer", "show", "Beispiel-LB", "-f", "value", "-c", "vip_port_id", json=False)
    port_id = r.out.strip()
    if not check("loadbalancer show Beispiel-LB -f value -c vip_port_id prints a UUID",
                 r.ok and UUID_RE.match(port_id), r.detail()):
        return
    ENV.ids["vip_port"] = port_id
    st, body = http_get("%s/v2.0/ports/%s" % (ENV.net, port_id))
    port = body.get("port") if isinstance(body, dict) else None
    check("network API GET /v2.0/ports/<vip_port_id> returns the port",
          st == 200 and isinstance(port, dict) and port.get("id") == port_id, "status=%s body=%r" % (st, body))
    if isinstance(port, dict):
        ips = [x.get("ip_address") for x in port.get("fixed_ips") or []]
        check("VIP port fixed_ips contain the LB vip_address %s" % ENV.ids.get("vip_address"),
              ENV.ids.get("vip_address") in ips, "fixed_ips=%r" % port.get("fixed_ips"))


def step_floating_ip():
    """The seed's floating-IP steps: an address from `provider`, set on the VIP port, and
    curl through it."""
    r = cli("floating", "ip", "create", "provider")
    fip = r.data if isinstance(r.data, dict) else {}
    if not check("floating ip create provider", r.ok and str(fip.get("floating_ip_address", "")).startswith("127.20."),
                 r.detail()):
        return
    fid = fip.get("id")
    r = cli("floating", "ip", "set", "--port", ENV.ids.get("vip_port", ""), fid, json=False)
    check("floating ip set --port <vip port> <floating ip>", r.ok, r.detail())
    r = cli("floating", "ip", "show", fid)
    shown = r.data if isinstance(r.data, dict) else {}
    check("floating ip show: fixed_ip_address is the VIP, port_id the VIP port",
          shown.get("fixed_ip_address") == ENV.ids.get("vip_address")
          and shown.get("port_id") == ENV.ids.get("vip_port"), r.detail())
    url = "http://%s/" % fip.get("floating_ip_address")
    def answered():
        body = curl(url)[0]
        return (body or "").startswith("you hit"), body
    ok, last = wait_for("the floating IP answers", answered, timeout=15, interval=0.2)
    check("curl to the floating IP %s answers through the load balancer" % fip.get("floating_ip_address"),
          ok, last)
    r = cli("floating", "ip", "unset", "--port", fid, json=False)
    check("floating ip unset --port", r.ok, r.detail())
    r = cli("floating", "ip", "delete", fid, json=False)
    check("floating ip delete", r.ok, r.detail())


def step_healthmonitor():
    r = retry_on_409("loadbalancer", "healthmonitor", "create", "--delay", "1", "--max-retries", "2",
                     "--timeout", "1", "--type", "HTTP", "--name", "Beispielmonitor", "--url-path", "/",
                     "Beispiel-pool", json=True)
    data = r.data
    if not check("healthmonitor create --name Beispielmonitor --type HTTP Beispiel-pool",
                 r.ok and isinstance(data, dict), r.detail()):
        return
    ENV.ids["hm"] = data.get("id")
    field_checks("healthmonitor create", data, {
        "id": lambda v: bool(UUID_RE.match(str(v))),
        "admin_state_up": True,
        "delay": 1,
        "expected_codes": "200",
        "http_method": "GET",
        "max_retries": 2,
        "max_retries_down": 3,
        "name": "Beispielmonitor",
        "operating_status": "OFFLINE",
        "pools": lambda v: as_list(v) == [ENV.ids["pool"]],
        "provisioning_status": "PENDING_CREATE",
        "timeout": 1,
        "type": "HTTP",
        "updated_at": is_none,
        "url_path": "/",
    })
    ok, last = wait_status("healthmonitor", "Beispielmonitor", "ACTIVE",
                           lambda o: o.get("operating_status") == "ONLINE")
    check("healthmonitor show Beispielmonitor eventually ACTIVE / ONLINE", ok, _short(last))
    if isinstance(last, dict):
        check("healthmonitor show: updated_at is set", not is_empty(last.get("updated_at")),
              "updated_at=%r" % last.get("updated_at"))
        check("healthmonitor show: pools == [pool id]", as_list(last.get("pools")) == [ENV.ids["pool"]],
              "pools=%r" % last.get("pools"))
    wait_lb_active()
    r = cli("loadbalancer", "pool", "show", "Beispiel-pool")
    check("pool show: healthmonitor_id is Beispielmonitor's id",
          r.ok and r.data and r.data.get("healthmonitor_id") == ENV.ids["hm"], r.detail())

    def members_online():
        r = cli("loadbalancer", "member", "list", "Beispiel-pool")
        rows = r.data or []
        return (len(rows) == 2 and all(x.get("operating_status") == "ONLINE" for x in rows), rows)
    ok, rows = wait_for("members ONLINE", members_online)
    check("with the monitor: member list shows both members ONLINE", ok, rows)
    r = cli("loadbalancer", "show", "Beispiel-LB")
    check("loadbalancer show: operating_status ONLINE",
          r.ok and r.data and r.data.get("operating_status") == "ONLINE", _short(r.data))


def step_member_failure():
    """Kill webserver2: the monitor takes it out, the statuses say so, webserver1 answers
    everything; start it again and it is back in the rotation."""
    pool, m2 = ENV.ids["pool"], ENV.ids["members"][1]
    killed = time.monotonic()
    stop_backend(BACKENDS["webserver2"])
    ok, last = wait_for("member ERROR", lambda: api_operating("pools/%s/members/%s" % (pool, m2), "ERROR"),
                        interval=0.1)
    took = time.monotonic() - killed
    print("# webserver2 killed: member ERROR after %.2f s (delay 1 s x max_retries_down 3 + heartbeat 1 s = 4 s)" % took)
    check("killed webserver2: its member is ERROR within delay x max_retries_down + one heartbeat (%.2f s)" % took,
          ok and took <= 4.5, last)
    r = cli("loadbalancer", "member", "show", "Beispiel-pool", m2)
    check("member show: operating_status ERROR", r.ok and r.data and r.data.get("operating_status") == "ERROR",
          _short(r.data))
    ok, last = wait_for("pool DEGRADED", lambda: api_operating("pools/%s" % pool, "DEGRADED"))
    r = cli("loadbalancer", "pool", "show", "Beispiel-pool")
    check("pool show: operating_status DEGRADED", ok and r.ok and r.data.get("operating_status") == "DEGRADED",
          _short(r.data))
    r = cli("loadbalancer", "show", "Beispiel-LB")
    check("loadbalancer show: operating_status DEGRADED",
          r.ok and r.data and r.data.get("operating_status") == "DEGRADED", _short(r.data))
    got = curl_n(6)
    check("every request is answered by webserver1", got == ["you hit: webserver1"] * 6, got)

    start_backend("webserver2", "127.0.0.12:80")
    ok, last = wait_for("member ONLINE", lambda: api_operating("pools/%s/members/%s" % (pool, m2), "ONLINE"))
    check("webserver2 back: its member is ONLINE again", ok, last)
    ok, last = wait_for("lb ONLINE", lambda: api_operating("loadbalancers/%s" % ENV.ids["lb"], "ONLINE"))
    check("... and the load balancer ONLINE", ok, last)
    got = curl_n(4)
    check("the alternation is back", sorted(got) == ["you hit: webserver1"] * 2 + ["you hit: webserver2"] * 2, got)


def step_stats():
    """`stats show` counts exactly the requests and bytes curl sent and received."""
    want = dict(TRAFFIC)

    def bytes_match(seen, sent):
        # HAProxy counts the bytes of its internal HTTP representation (HTX), a few bytes a
        # message more than the wire carries.
        if ENGINE == "haproxy":
            return isinstance(seen, int) and sent <= seen <= sent * 1.1
        return seen == sent

    def counted():
        r = cli("loadbalancer", "stats", "show", "Beispiel-LB")
        s = r.data if r.ok and isinstance(r.data, dict) else {}
        return (s.get("total_connections") == want["requests"] and bytes_match(s.get("bytes_in"), want["bytes_in"])
                and bytes_match(s.get("bytes_out"), want["bytes_out"]), s)
    ok, last = wait_for("stats", counted)
    check("loadbalancer stats show: %d connections, %d bytes in, %d bytes out, as curl counted%s"
          % (want["requests"], want["bytes_in"], want["bytes_out"],
             " (HAProxy's HTX bytes: within 10%)" if ENGINE == "haproxy" else ""), ok, last)
    if isinstance(last, dict):
        check("stats show: active_connections 0, request_errors 0",
              last.get("active_connections") == 0 and last.get("request_errors") == 0, last)


def step_amphorae():
    """The operator's amphora commands: list, show, stats, configure, failover; and the load
    balancer's failover. Traffic survives both failovers."""
    r = cli("loadbalancer", "amphora", "list", "--loadbalancer", ENV.ids["lb"])
    rows = r.data or []
    if not check("amphora list --loadbalancer: one STANDALONE amphora, ALLOCATED",
                 r.ok and len(rows) == 1 and rows[0].get("role") == "STANDALONE"
                 and rows[0].get("status") == "ALLOCATED", r.detail()):
        return
    amp = rows[0]["id"]
    r = cli("loadbalancer", "amphora", "show", amp)
    check("amphora show: loadbalancer_id, lb_network_ip, ha_ip (the VIP), cert_expiration",
          r.ok and r.data.get("loadbalancer_id") == ENV.ids["lb"] and r.data.get("lb_network_ip")
          and r.data.get("ha_ip") == ENV.ids["vip_address"] and r.data.get("cert_expiration"), r.detail())
    r = cli("loadbalancer", "amphora", "stats", "show", amp)
    check("amphora stats show: the listener's counters",
          r.ok and isinstance(r.data, dict) and r.data.get("total_connections", 0) > 0, r.detail())
    r = cli("loadbalancer", "amphora", "configure", amp, json=False)
    check("amphora configure", r.ok, r.detail())
    r = retry_on_409("loadbalancer", "amphora", "failover", "--wait", amp)
    check("amphora failover --wait", r.ok, r.detail())
    wait_lb_active()
    r = cli("loadbalancer", "amphora", "list", "--loadbalancer", ENV.ids["lb"])
    rows = r.data or []
    check("after the failover: one new amphora, ALLOCATED",
          r.ok and len(rows) == 1 and rows[0].get("id") != amp and rows[0].get("status") == "ALLOCATED",
          r.detail())
    got = curl_n(2)
    check("the VIP answers after the amphora failover", sorted(got) == ["you hit: webserver1", "you hit: webserver2"],
          got)
    r = retry_on_409("loadbalancer", "failover", "--wait", "Beispiel-LB")
    check("loadbalancer failover --wait", r.ok, r.detail())
    r = cli("loadbalancer", "show", "Beispiel-LB")
    check("after the load balancer failover: ACTIVE", r.ok and r.data.get("provisioning_status") == "ACTIVE",
          _short(r.data))
    got = curl_n(2)
    check("the VIP answers after the load balancer failover",
          sorted(got) == ["you hit: webserver1", "you hit: webserver2"], got)


def step_tcp_udp():
    """TCP and UDP listeners carry traffic too."""
    for proto, port in (("TCP", 8081), ("UDP", 8082)):
        kind = proto.lower()
        if proto == "UDP" and ENGINE == "haproxy":
            r = cli("loadbalancer", "listener", "create", "--name", "l-udp", "--protocol", "UDP",
                    "--protocol-port", str(port), "Beispiel-LB")
            check("listener create --protocol UDP on the haproxy engine: refused with the reason",
                  not r.ok and "does not serve UDP" in r.err, r.detail())
            continue
        names = ["%s1" % kind, "%s2" % kind]
        start_backend(names[0], "127.0.0.11:9001", kind)
        start_backend(names[1], "127.0.0.12:9001", kind)
        r = retry_on_409("loadbalancer", "listener", "create", "--name", "l-%s" % kind, "--protocol", proto,
                         "--protocol-port", str(port), "Beispiel-LB", json=True)
        check("listener create --protocol %s --protocol-port %d" % (proto, port), r.ok, r.detail())
        wait_lb_active()
        r = retry_on_409("loadbalancer", "pool", "create", "--name", "p-%s" % kind, "--lb-algorithm", "ROUND_ROBIN",
                         "--listener", "l-%s" % kind, "--protocol", proto, json=True)
        check("pool create --protocol %s" % proto, r.ok, r.detail())
        wait_lb_active()
        for addr in ("127.0.0.11", "127.0.0.12"):
            r = retry_on_409("loadbalancer", "member", "create", "--subnet-id", ENV.subnet, "--address", addr,
                             "--protocol-port", "9001", "p-%s" % kind, json=True)
            check("member create %s:9001 in p-%s" % (addr, kind), r.ok, r.detail())
            wait_lb_active()
        got = [tcp_hello(port) if proto == "TCP" else udp_hello(port) for _ in range(4)]
        check("%s listener on %d alternates %s/%s" % (proto, port, names[0], names[1]),
              got == ["you hit: %s" % names[0], "you hit: %s" % names[1]] * 2, got)


def tcp_hello(port):
    try:
        with socket.create_connection((ENV.ids["vip_address"], port), timeout=5) as c:
            return c.recv(100).decode().strip()
    except OSError as e:
        return str(e)


def udp_hello(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        s.sendto(b"hello", (ENV.ids["vip_address"], port))
        return s.recv(100).decode().strip()
    except OSError as e:
        return str(e)
    finally:
        s.close()


def vip_refuses(port=80):
    try:
        socket.create_connection((ENV.ids["vip_address"], port), timeout=2).close()
        return False
    except OSError:
        return True


def step_listener_timeouts():
    """'Bekannte Probleme': raise the haproxy timeouts to 4h on the listener."""
    h = cli("loadbalancer", "listener", "set", "--help", json=False)
    lid = ENV.ids["listener"]
    for field in ("timeout_client_data", "timeout_member_data"):
        seed_flag = "--" + field                       # the seed's spelling
        dash_flag = "--" + field.replace("_", "-")     # python-octaviaclient's spelling
        flag = seed_flag if seed_flag in h.out else dash_flag
        check("listener set --help offers %s" % flag, flag in h.out, h.detail())
        r = retry_on_409("loadbalancer", "listener", "set", flag, "14400000", lid)
        check("loadbalancer listener set %s 14400000 <listener id>" % flag, r.ok, r.detail())
        wait_lb_active()
    ok, last = wait_status("listener", lid, "ACTIVE",
                           lambda o: o.get("timeout_client_data") == 14400000
                           and o.get("timeout_member_data") == 14400000)
    check("listener show: timeout_client_data and timeout_member_data are 14400000, ACTIVE", ok,
          last if not isinstance(last, dict) else "%s client=%r member=%r" % (
              _short(last), last.get("timeout_client_data"), last.get("timeout_member_data")))
    if isinstance(last, dict):
        check("listener show: other timeouts unchanged (member_connect 5000, tcp_inspect 0)",
              last.get("timeout_member_connect") == 5000 and last.get("timeout_tcp_inspect") == 0,
              "member_connect=%r tcp_inspect=%r" % (last.get("timeout_member_connect"),
                                                    last.get("timeout_tcp_inspect")))


def step_status_and_stats():
    # `status show` has no -f option: it always prints the tree as JSON.
    r = cli("loadbalancer", "status", "show", "Beispiel-LB", json=False)
    try:
        tree = json.loads(r.out) if r.ok else None
    except ValueError:
        tree = None
    if not check("loadbalancer status show Beispiel-LB", r.ok and isinstance(tree, dict), r.detail()):
        return
    lb = tree.get("loadbalancer", tree)
    check("status tree: loadbalancer id/name/ACTIVE",
          lb.get("id") == ENV.ids["lb"] and lb.get("name") == "Beispiel-LB"
          and lb.get("provisioning_status") == "ACTIVE", repr(lb)[:500])
    listeners = lb.get("listeners") or []
    ok = check("status tree: one listener (Beispiel-listener)",
               len(listeners) == 1 and listeners[0].get("id") == ENV.ids["listener"]
               and listeners[0].get("name") == "Beispiel-listener", repr(listeners)[:500])
    if not ok:
        return
    pools = listeners[0].get("pools") or []
    ok = check("status tree: listener has Beispiel-pool",
               len(pools) == 1 and pools[0].get("id") == ENV.ids["pool"]
               and pools[0].get("name") == "Beispiel-pool", repr(pools)[:500])
    if not ok:
        return
    hm = pools[0].get("health_monitor") or {}
    check("status tree: pool health_monitor is Beispielmonitor (HTTP)",
          hm.get("id") == ENV.ids.get("hm") and hm.get("name") == "Beispielmonitor"
          and hm.get("type") == "HTTP", repr(hm))
    members = pools[0].get("members") or []
    check("status tree: pool has both members (ids, addresses, port 80)",
          sorted(m.get("id") for m in members) == sorted(ENV.ids["members"])
          and sorted(m.get("address") for m in members) == ["127.0.0.11", "127.0.0.12"]
          and all(m.get("protocol_port") == 80 for m in members), repr(members)[:600])

    r = cli("loadbalancer", "stats", "show", "Beispiel-LB")
    stats = r.data
    keys = ["active_connections", "bytes_in", "bytes_out", "request_errors", "total_connections"]
    check("loadbalancer stats show Beispiel-LB returns the five integer counters",
          r.ok and isinstance(stats, dict) and all(isinstance(stats.get(k), int) for k in keys),
          r.detail())


def step_error_paths():
    r = cli("loadbalancer", "delete", "Beispiel-LB", json=False)
    check("loadbalancer delete Beispiel-LB without --cascade fails",
          not r.ok, r.detail())
    check("... with a message containing 'it has children'",
          "it has children" in (r.err + r.out), r.detail())
    check("... as HTTP 400 (Octavia: ValidationException)", "HTTP 400" in r.err, r.detail())
    r = cli("loadbalancer", "show", "Beispiel-LB")
    check("... and the LB is untouched (still ACTIVE)",
          r.ok and r.data and r.data.get("provisioning_status") == "ACTIVE", r.detail())

    r = cli("loadbalancer", "listener", "create", "--name", "Zweiter-listener",
            "--protocol", "HTTP", "--protocol-port", "80", "Beispiel-LB")
    check("second HTTP listener on port 80 fails", not r.ok, r.detail())
    check("... with 'Another Listener on this Load Balancer is already using protocol HTTP and protocol_port 80'",
          "Another Listener on this Load Balancer is already using protocol HTTP and protocol_port 80"
          in (r.err + r.out), r.detail())
    check("... as HTTP 409 (Octavia: DuplicateListenerEntry)", "HTTP 409" in r.err, r.detail())
    r = cli("loadbalancer", "show", "Beispiel-LB")
    check("... and the rejected create left the LB ACTIVE (not locked in PENDING_UPDATE)",
          r.ok and r.data and r.data.get("provisioning_status") == "ACTIVE", r.detail())
    r = cli("loadbalancer", "listener", "list", "--loadbalancer", "Beispiel-LB")
    check("... and the LB still has exactly one listener",
          r.ok and [x.get("id") for x in (r.data or [])] == [ENV.ids["listener"]], r.detail())


def step_delete_bottom_up():
    steps = [
        ("healthmonitor delete Beispielmonitor", ("loadbalancer", "healthmonitor", "delete", "Beispielmonitor")),
    ]
    for mid in ENV.ids.get("members", []):
        steps.append(("member delete Beispiel-pool %s" % mid,
                      ("loadbalancer", "member", "delete", "Beispiel-pool", mid)))
    steps += [
        ("pool delete Beispiel-pool", ("loadbalancer", "pool", "delete", "Beispiel-pool")),
        ("listener delete Beispiel-listener", ("loadbalancer", "listener", "delete", "Beispiel-listener")),
    ]
    for kind in ("tcp", "udp") if ENGINE == "native" else ("tcp",):
        steps += [
            ("pool delete p-%s" % kind, ("loadbalancer", "pool", "delete", "p-%s" % kind)),
            ("listener delete l-%s" % kind, ("loadbalancer", "listener", "delete", "l-%s" % kind)),
        ]
    for desc, args in steps:
        r = retry_on_409(*args)
        check(desc, r.ok, r.detail())
        wait_lb_active()

    r = cli("loadbalancer", "healthmonitor", "list")
    check("healthmonitor list no longer has Beispielmonitor",
          r.ok and not any(x.get("name") == "Beispielmonitor" for x in r.data or []), r.detail())
    r = cli("loadbalancer", "pool", "list")
    check("pool list no longer has Beispiel-pool",
          r.ok and not any(x.get("id") == ENV.ids["pool"] for x in r.data or []), r.detail())
    r = cli("loadbalancer", "listener", "list")
    check("listener list no longer has Beispiel-listener",
          r.ok and not any(x.get("id") == ENV.ids["listener"] for x in r.data or []), r.detail())

    r = retry_on_409("loadbalancer", "delete", "Beispiel-LB")
    check("loadbalancer delete Beispiel-LB (no children left)", r.ok, r.detail())

    lb_id = ENV.ids["lb"]

    def gone():
        r = cli("loadbalancer", "show", lb_id)
        return (not r.ok, r.detail() if not r.ok else _short(r.data))
    ok, last = wait_for("lb gone", gone)
    check("loadbalancer show <id> eventually fails", ok, last)
    if ok:
        # for a UUID argument the CLI looks it up via ?id= then ?name= and says "Unable to locate"
        check("... with a not-found message",
              any(m in last.lower() for m in ("not found", "unable to locate", "404")), last)
    r = cli("loadbalancer", "list")
    check("loadbalancer list no longer lists Beispiel-LB",
          r.ok and not any(x.get("id") == lb_id or x.get("name") == "Beispiel-LB" for x in r.data or []),
          r.detail())
    if ENV.ids.get("vip_port"):
        st, body = http_get("%s/v2.0/ports/%s" % (ENV.net, ENV.ids["vip_port"]))
        check("Beispiel-LB VIP port is released (GET /v2.0/ports/<id> -> 404)", st == 404,
              "status=%s body=%r" % (st, body))
    check("after the delete the VIP refuses connections", vip_refuses(), ENV.ids.get("vip_address"))
    if ENGINE == "haproxy":
        ok, last = wait_for("haproxy gone", lambda: (not haproxy_masters(lb_id), haproxy_masters(lb_id)))
        check("after the delete no haproxy serves the load balancer", ok, last)


def step_cascade_delete():
    r = cli("loadbalancer", "create", "--name", "lb2", "--vip-subnet-id", ENV.subnet, "--wait")
    if not check("loadbalancer create --name lb2 --wait", r.ok and isinstance(r.data, dict), r.detail()):
        return
    lb2 = r.data
    check("lb2 create --wait returns ACTIVE", lb2.get("provisioning_status") == "ACTIVE", _short(lb2))
    port_id = lb2.get("vip_port_id")
    st, _ = http_get("%s/v2.0/ports/%s" % (ENV.net, port_id))
    check("lb2 VIP port exists in the network API", st == 200, "status=%s" % st)

    r = cli("loadbalancer", "listener", "create", "--name", "l2", "--protocol", "HTTP",
            "--protocol-port", "8080", "--wait", "lb2")
    check("listener create l2 --wait", r.ok, r.detail())
    r = cli("loadbalancer", "pool", "create", "--name", "p2", "--lb-algorithm", "ROUND_ROBIN",
            "--listener", "l2", "--protocol", "HTTP", "--wait")
    check("pool create p2 --wait", r.ok, r.detail())
    r = cli("loadbalancer", "member", "create", "--subnet-id", ENV.subnet, "--address", "127.0.0.13",
            "--protocol-port", "80", "--wait", "p2")
    check("member create 127.0.0.13 in p2 --wait", r.ok, r.detail())
    start_backend("webserver3", "127.0.0.13:80")
    vip2 = lb2.get("vip_address")
    body, _, _ = curl("http://%s:8080/" % vip2)
    check("lb2 serves: curl http://<vip>:8080/ answers webserver3", body == "you hit: webserver3", body)

    r = cli("loadbalancer", "delete", "--cascade", "--wait", "lb2", json=False)
    check("loadbalancer delete --cascade --wait lb2", r.ok, r.detail())
    r = cli("loadbalancer", "show", lb2["id"])
    check("lb2 is gone (show fails)", not r.ok, r.detail())
    r = cli("loadbalancer", "list")
    check("loadbalancer list is empty again",
          r.ok and r.data == [], r.detail())
    for kind, name in (("listener", "l2"), ("pool", "p2")):
        r = cli("loadbalancer", kind, "list")
        check("%s list no longer has %s" % (kind, name),
              r.ok and not any(x.get("name") == name for x in r.data or []), r.detail())
    st, body = http_get("%s/v2.0/ports/%s" % (ENV.net, port_id))
    check("lb2 VIP port deleted (GET /v2.0/ports/<id> -> 404)", st == 404, "status=%s body=%r" % (st, body))
    try:
        socket.create_connection((vip2, 8080), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    check("after delete --cascade the VIP refuses connections", refused, vip2)


# --------------------------------------------------------------------------- main

def main():
    global ENV
    for path, name in ((OSTIA_BIN, "OSTIA_BIN"), (OPENSTACK, "OPENSTACK")):
        if not os.access(path, os.X_OK):
            print("not ok - %s=%s is executable: not found" % (name, path))
            print("0 passed, 1 failed")
            return 1
    print("# compute driver: %s, engine: %s" % (AMPHORA, ENGINE))
    tmp = tempfile.mkdtemp(prefix="ostia-seed002-")
    ENV = Env(tmp)
    t0 = time.monotonic()
    try:
        if start_server():
            if step_create_lb():
                if step_listener():
                    if step_pool():
                        step_members()
                        step_vip_port()
                        step_floating_ip()
                        step_healthmonitor()
                        step_member_failure()
                        step_stats()
                        step_amphorae()
                        step_listener_timeouts()
                        step_status_and_stats()
                        step_error_paths()
                        step_tcp_udp()
                    step_delete_bottom_up()
                step_cascade_delete()
    except Exception as e:  # report, don't crash without the summary line
        import traceback
        traceback.print_exc()
        check("script ran without an exception", False, repr(e))
    finally:
        stop_server()
        print("# elapsed %.1fs" % (time.monotonic() - t0))
        if RESULTS["failed"]:
            print_server_log(40)
            print("# temp dir kept: %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
