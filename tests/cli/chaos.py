#!/usr/bin/env python3
"""Issue 12's chaos test: a control plane of many processes on one PostgreSQL database loses
nothing when any of them dies.

3 `ostia api`, 2 `ostia worker` (amphora processes, which outlive workers as VMs outlive
Octavia's) and 2 `ostia health-manager` (amphorae report to both in turn) run on loopback
ports. A client creates, updates (the load balancer's description, a member's weight) and
deletes CHAOS_GRAPHS load-balancer graphs through all three APIs while a random control-plane
process is killed with SIGKILL every second and started again. At the end:
- nothing is PENDING_* and no job is open;
- every change the client saw acknowledged (2xx) is in the database;
- no job settled twice (each job id is logged `job finished` by one worker at most);
- every surviving load balancer has exactly one amphora, which serves its VIP, and no amphora
  process runs that no record names.

Environment: OSTIA_BIN, OSTIA_DATABASE (postgres://…), PSQL (the psql binary), CHAOS_GRAPHS
(default 300), CHAOS_SEED (default: random, printed).
Prints `ok - …` / `not ok - …` per check and `N passed, N failed`; exits 1 on failure.
"""
import concurrent.futures
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_003 import OSTIA_BIN, check, finish, free_port, get, wait_for  # noqa: E402

DATABASE = os.environ.get("OSTIA_DATABASE", "")
PSQL = os.environ.get("PSQL", "psql")
GRAPHS = int(os.environ.get("CHAOS_GRAPHS", "300"))
SEED = int(os.environ.get("CHAOS_SEED") or random.randrange(1 << 30))
CLIENTS = 12
# Each step of a graph (a create, an update, a delete settling) must end within this.
STEP_TIMEOUT = 120.0


# What a request to a process killed mid-way raises: refused, reset, cut short.
DROPPED = (urllib.error.URLError, http.client.HTTPException, ValueError, OSError)


class Unanswered(Exception):
    """No API process answered (they were all being restarted) within the retries."""


def request(base, method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            data = r.read()
            return r.status, json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


class Client:
    """Talks to the APIs in turn, moving on to the next when one does not answer (killed)."""

    def __init__(self, apis):
        self.apis = apis
        self.lock = threading.Lock()
        self.acked = {"created": {}, "description": {}, "weight": {}, "deleted": set()}
        self.errors = []

    def call(self, first, method, path, body=None):
        """(status, body, answered_first_try). Raises Unanswered after bounded retries."""
        for attempt in range(60):
            base = self.apis[(first + attempt) % len(self.apis)]
            try:
                status, data = request(base, method, path, body)
                return status, data, attempt == 0
            except DROPPED:
                time.sleep(0.2)
        raise Unanswered("%s %s" % (method, path))

    def lb(self, i, lb_id):
        status, body, _ = self.call(i, "GET", "/loadbalancers/%s" % lb_id)
        return body["loadbalancer"] if status == 200 else None

    def settled(self, i, lb_id, gone=False):
        """Waits for the load balancer to leave PENDING_* (or to be gone)."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            lb = self.lb(i, lb_id)
            if gone and lb is None:
                return True
            if not gone and lb and lb["provisioning_status"] == "ACTIVE":
                return True
            if lb and lb["provisioning_status"] == "ERROR":
                raise RuntimeError("load balancer %s went ERROR" % lb_id)
            time.sleep(0.2)
        raise RuntimeError("load balancer %s did not settle within %ds" % (lb_id, STEP_TIMEOUT))

    def change(self, i, lb_id, method, path, body):
        """A change retried until acknowledged: 409 while another job holds the load balancer,
        and again after a dropped connection (it may or may not have been made)."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            status, data, _ = self.call(i, method, path, body)
            if 200 <= status < 300:
                return status, data
            if status == 409 or status >= 500:
                self.settled(i, lb_id)
                continue
            return status, data
        raise RuntimeError("%s %s never acknowledged" % (method, path))

    def create(self, i, subnet, member):
        name = "chaos-%d" % i
        host, port = member.rsplit(":", 1)
        body = {"loadbalancer": {"name": name, "vip_subnet_id": subnet, "listeners": [{
            "name": "web", "protocol": "HTTP", "protocol_port": 8080, "default_pool": {
                "name": "pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "healthmonitor": {"type": "HTTP", "delay": 2, "timeout": 1, "max_retries": 2},
                "members": [{"address": host, "protocol_port": int(port)}]}}]}}
        for _ in range(20):
            try:
                status, data = request(self.apis[i % len(self.apis)], "POST", "/loadbalancers", body)
            except DROPPED:
                status, data = None, None
            if status == 201:
                lb = data["loadbalancer"]
                with self.lock:
                    self.acked["created"][lb["id"]] = name
                return lb["id"]
            # No answer: the create may have committed; it is looked for before another try.
            _, found, _ = self.call(i, "GET", "/loadbalancers?name=%s" % name)
            if isinstance(found, dict) and found.get("loadbalancers"):
                return found["loadbalancers"][0]["id"]
            if status is not None and status < 500:
                raise RuntimeError("create refused: %s %s" % (status, data))
            i += 1
            time.sleep(0.2)
        raise RuntimeError("create of %s never answered" % name)

    def graph(self, i, subnet, member):
        lb_id = self.create(i, subnet, member)
        self.settled(i, lb_id)
        description = "updated-%d" % i
        status, _ = self.change(i, lb_id, "PUT", "/loadbalancers/%s" % lb_id,
                                {"loadbalancer": {"description": description}})
        if status == 200:
            with self.lock:
                self.acked["description"][lb_id] = description
        self.settled(i, lb_id)
        status, pools, _ = self.call(i, "GET", "/pools?loadbalancer_id=%s" % lb_id)
        pool = pools["pools"][0]["id"]
        status, members, _ = self.call(i, "GET", "/pools/%s/members" % pool)
        member_id = members["members"][0]["id"]
        status, _ = self.change(i, lb_id, "PUT", "/pools/%s/members/%s" % (pool, member_id),
                                {"member": {"weight": 7}})
        if status == 200:
            with self.lock:
                self.acked["weight"][(pool, member_id)] = 7
        self.settled(i, lb_id)
        if i % 3 == 0:
            status, _ = self.change(i, lb_id, "DELETE", "/loadbalancers/%s?cascade=true" % lb_id, None)
            if status in (204, 404):
                with self.lock:
                    self.acked["deleted"].add(lb_id)
            self.settled(i, lb_id, gone=True)


def psql(sql):
    out = subprocess.run([PSQL, "-At", "-d", DATABASE, "-c", sql], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def amphora_processes(data_dir):
    """Pids of amphora processes whose directory is under `data_dir`."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"amphora" in args and any(a.startswith(data_dir.encode()) for a in args):
            found[int(pid)] = os.path.basename(args[args.index(b"--dir") + 1].decode())
    return found


def main():
    if not DATABASE.startswith("postgres"):
        print("not ok - OSTIA_DATABASE names a PostgreSQL database")
        print("0 passed, 1 failed")
        return 1
    print("# chaos seed %d, %d graphs" % (SEED, GRAPHS))
    rng = random.Random(SEED)
    tmp = tempfile.mkdtemp(prefix="ostia-chaos-")
    data_dir = os.path.join(tmp, "data")
    common = ["--data-dir", data_dir, "--database", DATABASE]
    hms = ["127.0.0.1:%d" % free_port() for _ in range(2)]
    timing = ["--heartbeat-interval", "1", "--heartbeat-timeout", "5"]
    roles, apis, nets = {}, [], []
    for n in (1, 2, 3):
        api, net, km = free_port(), free_port(), free_port()
        roles["api%d" % n] = ["api", "--auth", "noauth", "--api-bind", "127.0.0.1:%d" % api, "--network-bind",
                              "127.0.0.1:%d" % net, "--key-manager-bind", "127.0.0.1:%d" % km,
                              "--health-bind", hms[0], "--no-vip-interface"]
        apis.append("http://127.0.0.1:%d/v2/lbaas" % api)
        nets.append("http://127.0.0.1:%d" % net)
    for n in (1, 2):
        roles["worker%d" % n] = ["worker", "--amphora", "process", "--health-bind", hms[0],
                                 "--controller-ip-port-list", ",".join(hms)] + timing
        roles["hm%d" % n] = ["health-manager", "--health-bind", hms[n - 1]] + timing
    logs, procs = {}, {}

    def spawn(role):
        log = logs.setdefault(role, open(os.path.join(tmp, role + ".log"), "a"))
        procs[role] = subprocess.Popen([OSTIA_BIN] + roles[role] + common, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)

    member = "127.0.0.1:%d" % free_port()
    backend = subprocess.Popen([OSTIA_BIN, "backend", "--name", "web", "--bind", member],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server_log = open(os.path.join(tmp, "ostia.log"), "w")
    client = Client(apis)
    stop_chaos = threading.Event()
    kills = {}
    try:
        # The first API makes the schema and the keys; the rest start once it answers.
        spawn("api1")
        ok, _ = wait_for(lambda: (get(apis[0].rsplit("/", 2)[0] + "/")[0] == 200, None), timeout=60)
        for role in roles:
            if role != "api1":
                spawn(role)
        ok = ok and wait_for(lambda: (all(get(a.rsplit("/", 2)[0] + "/")[0] == 200 for a in apis), None),
                             timeout=60)[0]
        if not check("3 api, 2 worker and 2 health-manager processes run on one PostgreSQL database", ok):
            return 1
        status, subnets = request(nets[0], "GET", "/v2.0/subnets?name=ostia-local-subnet")
        subnet = subnets["subnets"][0]["id"]

        def chaos():
            while not stop_chaos.wait(1.0):
                role = rng.choice(sorted(roles))
                procs[role].send_signal(signal.SIGKILL)
                procs[role].wait()
                kills[role] = kills.get(role, 0) + 1
                spawn(role)

        killer = threading.Thread(target=chaos, daemon=True)
        started = time.monotonic()
        killer.start()
        failures = []
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            futures = {pool.submit(client.graph, i, subnet, member): i for i in range(GRAPHS)}
            for f in concurrent.futures.as_completed(futures):
                try:
                    f.result()
                except Exception as e:  # noqa: BLE001 - every failure is reported
                    failures.append("graph %d: %s" % (futures[f], e))
        stop_chaos.set()
        killer.join()
        took = time.monotonic() - started
        total = sum(kills.values())
        print("# %d graphs in %.0f s under %d kills (%s)" % (
            GRAPHS, took, total, ", ".join("%s %d" % kv for kv in sorted(kills.items()))))
        check("the client's %d graphs were created, updated twice and a third deleted under %d SIGKILLs"
              % (GRAPHS, total), not failures and total >= took - 5, failures[:5])
        ok, _ = wait_for(lambda: (all(get(a.rsplit("/", 2)[0] + "/")[0] == 200 for a in apis), None), timeout=60)

        def pending():
            rows = psql("SELECT kind, provisioning_status, COUNT(*) FROM resources "
                        "WHERE provisioning_status LIKE 'PENDING%' OR provisioning_status = 'BOOTING' "
                        "GROUP BY 1, 2")
            jobs = psql("SELECT COUNT(*) FROM jobs WHERE state IN ('pending', 'running')")
            return rows == "" and jobs == "0", (rows, jobs)
        ok, last = wait_for(pending, timeout=120, interval=0.5)
        check("nothing is PENDING_* or BOOTING, and no job is open", ok, last)

        lbs = {}
        status, body, _ = client.call(0, "GET", "/loadbalancers")
        for lb in body["loadbalancers"]:
            lbs[lb["id"]] = lb
        created = client.acked["created"]
        kept = set(created) - client.acked["deleted"]
        missing = [i for i in kept if i not in lbs]
        check("every acknowledged create is there (%d kept of %d acknowledged)" % (len(kept), len(created)),
              not missing, missing[:5])
        wrong = [i for i, d in client.acked["description"].items() if i in lbs and lbs[i]["description"] != d]
        check("every acknowledged description update is there (%d)" % len(client.acked["description"]),
              not wrong, wrong[:5])
        weights = []
        for (pool, mid), weight in client.acked["weight"].items():
            status, body, _ = client.call(0, "GET", "/pools/%s/members/%s" % (pool, mid))
            if status == 200 and body["member"]["weight"] != weight:
                weights.append((pool, mid, body["member"]["weight"]))
        check("every acknowledged member weight update is there (%d)" % len(client.acked["weight"]),
              not weights, weights[:5])
        back = [i for i in client.acked["deleted"] if i in lbs]
        check("every acknowledged delete is gone (%d)" % len(client.acked["deleted"]), not back, back[:5])
        not_active = [(i, lb["provisioning_status"]) for i, lb in lbs.items() if lb["provisioning_status"] != "ACTIVE"]
        check("every load balancer left is ACTIVE (%d)" % len(lbs), not not_active, not_active[:5])

        finished, lost = {}, 0
        for role in ("worker1", "worker2"):
            logs[role].flush()
            with open(os.path.join(tmp, role + ".log")) as f:
                for line in f:
                    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
                    m = re.search(r"job finished job=(\d+)", line)
                    if m:
                        finished.setdefault(int(m.group(1)), []).append(role)
                    lost += "lease lost before settling" in line
        twice = {j: w for j, w in finished.items() if len(w) > 1}
        states = psql("SELECT state, COUNT(*) FROM jobs GROUP BY 1 ORDER BY 1").replace("\n", ", ")
        retried = psql("SELECT COUNT(*) FROM jobs WHERE attempts > 1")
        print("# jobs: %s; %s claimed again after a lease ran out; %d settlements refused for a lost lease"
              % (states, retried, lost))
        check("no job settled twice (%d jobs settled)" % len(finished), not twice, list(twice.items())[:5])
        failed = psql("SELECT id, action, object_kind, error FROM jobs WHERE state = 'failed' LIMIT 5")
        check("no job failed", failed == "", failed)

        def serving():
            bad = []
            for i, lb in lbs.items():
                status, text = get("http://%s:8080/" % lb["vip_address"])
                if status != 200 or text.strip() != "you hit: web":
                    bad.append((lb["name"], lb["vip_address"], status, text[:60]))
            return not bad, bad
        ok, bad = wait_for(serving, timeout=30, interval=1)
        check("every surviving load balancer serves its VIP (%d)" % len(lbs), ok, bad[:5])

        def online():
            status, body, _ = client.call(0, "GET", "/loadbalancers")
            off = [(lb["name"], lb["operating_status"]) for lb in body["loadbalancers"]
                   if lb["operating_status"] != "ONLINE"]
            return not off, off
        ok, off = wait_for(online, timeout=30, interval=1)
        check("every one is ONLINE from heartbeats sent to both health managers in turn", ok, off[:5])

        client.apis = [a.replace("/lbaas", "/octavia") for a in apis]
        status, body, _ = client.call(0, "GET", "/amphorae")
        allocated = [a for a in body["amphorae"] if a["status"] == "ALLOCATED"]
        per_lb = {}
        for a in allocated:
            per_lb.setdefault(a["loadbalancer_id"], []).append(a["id"])
        uneven = [(i, per_lb.get(i)) for i in lbs if len(per_lb.get(i, [])) != 1]
        check("each load balancer has exactly one ALLOCATED amphora", not uneven and len(per_lb) == len(lbs),
              uneven[:5])
        running = amphora_processes(data_dir)
        orphans = sorted(set(running.values()) - {a["id"] for a in allocated})
        absent = sorted({a["id"] for a in allocated} - set(running.values()))
        check("an amphora process runs for each ALLOCATED amphora and for nothing else (%d)" % len(running),
              not orphans and not absent, {"orphans": orphans[:5], "absent": absent[:5]})
    finally:
        stop_chaos.set()
        for p in amphora_processes(data_dir):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        code = finish(procs.pop("api1"), server_log, tmp, list(procs.values()) + [backend])
        for log in logs.values():
            log.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
