#!/usr/bin/env python3
"""The haproxy engine under load (issue 23): `ostia up --default-engine haproxy`, one HTTP load
balancer in front of two `ostia backend`s, `wrk` (keep-alive connections) through its VIP while
N member updates (weights changing; each a job, a new configuration checked by `haproxy -c` and a
seamless reload) go through the API one after the other. Every wrk request gets a 2xx (no socket
error, no other status), each update is seen ACTIVE, and one haproxy master serves at the end.
Then L7 policies on it: a path to a second pool, another path rejected.

Environment: OSTIA_BIN, WRK (default `wrk`), UPDATES (default 1000).
Prints `ok - …` / `not ok - …` per check and `N passed, N failed`; exits 1 on failure.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chaos import request  # noqa: E402
from seed_003 import OSTIA_BIN, check, finish, free_port, get, start_ostia, wait_for  # noqa: E402

WRK = os.environ.get("WRK") or shutil.which("wrk") or "wrk"
UPDATES = int(os.environ.get("UPDATES", "1000"))


def main():
    if not shutil.which("haproxy") or not shutil.which(WRK):
        print("not ok - haproxy and wrk are installed (Debian packages haproxy, wrk)")
        print("0 passed, 1 failed")
        return 1
    tmp = tempfile.mkdtemp(prefix="ostia-reloads-")
    server, log, api_port, network, _ = start_ostia(tmp, "--default-engine", "haproxy")
    api = "http://127.0.0.1:%d/v2/lbaas" % api_port
    processes = []
    try:
        run(api, network, processes)
    finally:
        code = finish(server, log, tmp, processes)
    return code


def run(api, network, processes):
    ok, _ = wait_for(lambda: (get(api + "/loadbalancers")[0] == 200, None))
    if not check("ostia up --default-engine haproxy answers", ok):
        return
    members = []
    for name in ("web1", "web2"):
        addr = "127.0.0.1:%d" % free_port()
        processes.append(subprocess.Popen([OSTIA_BIN, "backend", "--name", name, "--bind", addr],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        members.append(addr)
    st, body = request(network + "/v2.0", "GET", "/subnets?name=ostia-local-subnet")
    subnet = body["subnets"][0]["id"]
    graph = {"loadbalancer": {"name": "reloads", "vip_subnet_id": subnet, "listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "default_pool": {
            "name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": [
                {"address": a.split(":")[0], "protocol_port": int(a.split(":")[1])} for a in members]}}]}}
    st, body = request(api, "POST", "/loadbalancers", graph)
    if not check("a load balancer with an HTTP listener and two members (one POST)", st == 201, body):
        return
    lb = body["loadbalancer"]
    pool = lb["listeners"][0]["default_pool_id"] if "default_pool_id" in lb["listeners"][0] else None
    vip = lb["vip_address"]

    def active():
        st, b = request(api, "GET", "/loadbalancers/%s" % lb["id"])
        return (st == 200 and b["loadbalancer"]["provisioning_status"] == "ACTIVE", b)
    ok, last = wait_for(active, timeout=30, interval=0.05)
    if not check("it goes ACTIVE", ok, last):
        return
    st, pools = request(api, "GET", "/pools?loadbalancer_id=%s" % lb["id"])
    pool = pool or pools["pools"][0]["id"]
    st, listed = request(api, "GET", "/pools/%s/members" % pool)
    member_ids = [m["id"] for m in listed["members"]]
    ok, _ = wait_for(lambda: (subprocess.run(["curl", "-sf", "http://%s/" % vip], capture_output=True)
                              .returncode == 0, None))
    check("the VIP answers", ok)

    wrk = subprocess.Popen([WRK, "-t2", "-c20", "-d600s", "--latency", "http://%s/" % vip],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = time.monotonic()
    failed_updates = []
    for i in range(UPDATES):
        mid = member_ids[i % 2]
        st, body = request(api, "PUT", "/pools/%s/members/%s" % (pool, mid),
                           {"member": {"weight": 1 + (i % 7)}})
        if st != 200:
            failed_updates.append((i, st, body))
            break
        ok, last = wait_for(active, timeout=30, interval=0.01)
        if not ok:
            failed_updates.append((i, "not ACTIVE", last))
            break
    took = time.monotonic() - started
    wrk.send_signal(signal.SIGINT)
    out, _ = wrk.communicate(timeout=30)
    check("%d member updates, each ACTIVE (%.1f s, %.0f ms each)" % (UPDATES, took, 1000 * took / UPDATES),
          not failed_updates, failed_updates[:3])
    print("# wrk during the updates:\n# " + out.strip().replace("\n", "\n# "))
    requests = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    check("wrk made requests through the reloads", requests and int(requests.group(1)) > 0, out[-400:])
    check("no socket error (connect, read, write, timeout)", errors is None, errors and errors.group(1))
    check("no response other than 2xx", non2xx is None, non2xx and non2xx.group(1))
    st, body = request(api, "GET", "/pools/%s/members/%s" % (pool, member_ids[(UPDATES - 1) % 2]))
    check("the last weight is the member's", st == 200 and body["member"]["weight"] == 1 + ((UPDATES - 1) % 7),
          body)
    masters = haproxy_masters(lb["id"])
    check("one haproxy master serves the load balancer after the reloads", len(masters) == 1, masters)
    l7(api, lb, members, vip, active)


def l7(api, lb, members, vip, active):
    """L7 policies on the haproxy engine: /api/ to a pool of web2 alone, /admin rejected."""
    listener = lb["listeners"][0]["id"]
    host, port = members[1].split(":")
    st, body = request(api, "POST", "/pools", {"pool": {
        "name": "api", "loadbalancer_id": lb["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}})
    api_pool = (body or {}).get("pool", {}).get("id") if st == 201 else None
    ok = st == 201 and wait_for(active, timeout=30, interval=0.05)[0]
    st, member = request(api, "POST", "/pools/%s/members" % api_pool,
                         {"member": {"address": host, "protocol_port": int(port)}})
    ok = ok and st == 201 and wait_for(active, timeout=30, interval=0.05)[0]
    check("a second pool (web2 alone)", ok, (body, member))
    for policy in ({"action": "REDIRECT_TO_POOL", "redirect_pool_id": api_pool, "position": 1,
                    "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api/"}]},
                   {"action": "REJECT", "position": 2,
                    "rules": [{"type": "PATH", "compare_type": "EQUAL_TO", "value": "/admin"}]}):
        policy["listener_id"] = listener
        st, body = request(api, "POST", "/l7policies", {"l7policy": policy})
        ok = st == 201 and wait_for(active, timeout=30, interval=0.05)[0]
        check("l7policy %s (with its rule in the same POST)" % policy["action"], ok, body)

    def fetch(path):
        p = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "http://%s%s" % (vip, path)],
                           capture_output=True, text=True)
        body, _, code = p.stdout.rpartition("\n")
        return "%s %s" % (body.strip(), code)
    got = [fetch("/api/users") for _ in range(4)]
    check("GET /api/users goes to the api pool every time", got == ["you hit: web2 200"] * 4, got)
    got = {fetch("/") for _ in range(6)}
    check("GET / still alternates over the default pool", got == {"you hit: web1 200", "you hit: web2 200"}, got)
    got = fetch("/admin")
    check("GET /admin is rejected (403)", got.endswith(" 403"), got)


def haproxy_masters(lb_id):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            words = open("/proc/%s/cmdline" % pid, "rb").read().decode(errors="replace").split("\0")
            ppid = int(open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if os.path.basename(words[0]) == "haproxy" and "-W" in words and any("/%s/" % lb_id in w for w in words):
            found.append((int(pid), ppid))
    pids = {p for p, _ in found}
    return [p for p, ppid in found if ppid not in pids]


if __name__ == "__main__":
    sys.exit(main())
