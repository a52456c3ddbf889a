#!/usr/bin/env python3
"""A control plane of many processes on one database (issue 12's first steps): two `ostia api`,
one `ostia worker`, one `ostia health-manager` and one `ostia housekeeping` share
OSTIA_DATABASE (PostgreSQL in `scripts/test`). A load balancer created through either API is
seen by the other, goes ACTIVE and ONLINE, and serves its VIP. A worker killed with SIGKILL
loses nothing: a load balancer asked for while it is dead waits in PENDING_CREATE and goes
ACTIVE once a new worker runs. A delete through one API is seen by the other.

Environment: OSTIA_BIN, OSTIA_DATABASE (sqlite://PATH or postgres://…).
Prints `ok - …` / `not ok - …` per check and `N passed, N failed`; exits 1 on failure.
"""
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chaos import request  # noqa: E402
from seed_003 import OSTIA_BIN, check, finish, free_port, get, wait_for  # noqa: E402

DATABASE = os.environ.get("OSTIA_DATABASE", "")


def call(method, url, body=None):
    return request(url, method, "", body)


def main():
    tmp = tempfile.mkdtemp(prefix="ostia-processes-")
    if not DATABASE:
        print("not ok - OSTIA_DATABASE names the shared database")
        print("0 passed, 1 failed")
        return 1
    common = ["--data-dir", os.path.join(tmp, "data"), "--database", DATABASE]
    hm = free_port()
    log = open(os.path.join(tmp, "ostia.log"), "w")
    procs = {}

    def spawn(name, *args):
        procs[name] = subprocess.Popen([OSTIA_BIN] + list(args) + common, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)

    apis = []
    for i in (1, 2):
        api, net, km = free_port(), free_port(), free_port()
        spawn("api%d" % i, "api", "--auth", "noauth", "--api-bind", "127.0.0.1:%d" % api, "--network-bind",
              "127.0.0.1:%d" % net, "--key-manager-bind", "127.0.0.1:%d" % km, "--health-bind",
              "127.0.0.1:%d" % hm, "--no-vip-interface")
        apis.append(("http://127.0.0.1:%d/v2/lbaas" % api, "http://127.0.0.1:%d" % net))
    web = "127.0.0.1:%d" % free_port()
    backend = subprocess.Popen([OSTIA_BIN, "backend", "--name", "web", "--bind", web],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def worker():
        spawn("worker", "worker", "--health-bind", "127.0.0.1:%d" % hm)

    try:
        ok, _ = wait_for(lambda: (all(get(a[0].rsplit("/", 2)[0] + "/")[0] == 200 for a in apis), None), timeout=30)
        if not check("two `ostia api` processes answer on one database", ok):
            return 1
        worker()
        spawn("hm", "health-manager", "--health-bind", "127.0.0.1:%d" % hm)
        spawn("hk", "housekeeping")
        status, subnets = call("GET", apis[0][1] + "/v2.0/subnets?name=ostia-local-subnet")
        subnet = subnets["subnets"][0]["id"]
        host, port = web.rsplit(":", 1)

        def create(api, name):
            body = {"loadbalancer": {"name": name, "vip_subnet_id": subnet, "listeners": [{
                "name": "web", "protocol": "HTTP", "protocol_port": 8080, "default_pool": {
                    "name": "pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                    "healthmonitor": {"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1},
                    "members": [{"address": host, "protocol_port": int(port)}]}}]}}
            status, lb = call("POST", api + "/loadbalancers", body)
            return (lb or {}).get("loadbalancer", {}) if status == 201 else {}

        def seen(api, lb_id):
            status, body = call("GET", api + "/loadbalancers/%s" % lb_id)
            lb = (body or {}).get("loadbalancer", {}) if status == 200 else {}
            return lb.get("provisioning_status"), lb.get("operating_status")

        lbs = [create(apis[0][0], "via-api-1"), create(apis[1][0], "via-api-2")]
        check("a load balancer created through each API", all(lb.get("id") for lb in lbs), lbs)
        for lb in lbs:
            for i, (api, _) in enumerate(apis, 1):
                ok, last = wait_for(lambda: (seen(api, lb["id"]) == ("ACTIVE", "ONLINE"), seen(api, lb["id"])))
                check("%s is ACTIVE and ONLINE seen through api %d" % (lb["name"], i), ok, last)
            ok, body = wait_for(lambda: (get("http://%s:8080/" % lb["vip_address"])[1].strip() == "you hit: web",
                                         get("http://%s:8080/" % lb["vip_address"])))
            check("%s serves its VIP %s" % (lb["name"], lb["vip_address"]), ok, body)

        procs["worker"].send_signal(signal.SIGKILL)
        procs["worker"].wait()
        late = create(apis[1][0], "while-no-worker")
        check("with the worker killed (SIGKILL) a create is accepted and waits in PENDING_CREATE",
              late.get("id") and seen(apis[0][0], late["id"])[0] == "PENDING_CREATE", late)
        worker()
        ok, last = wait_for(lambda: (seen(apis[0][0], late["id"]) == ("ACTIVE", "ONLINE"),
                                     seen(apis[0][0], late["id"])), timeout=30)
        check("a new worker takes the job: ACTIVE and ONLINE", ok, last)

        status, _ = call("DELETE", apis[0][0] + "/loadbalancers/%s?cascade=true" % lbs[1]["id"])
        ok, last = wait_for(lambda: (call("GET", apis[1][0] + "/loadbalancers/%s" % lbs[1]["id"])[0] == 404,
                                     call("GET", apis[1][0] + "/loadbalancers/%s" % lbs[1]["id"])))
        check("a cascade delete through api 1 is gone through api 2 too", status == 204 and ok, last)
    finally:
        code = finish(procs.pop("api1"), log, tmp, list(procs.values()) + [backend])
    return code


if __name__ == "__main__":
    sys.exit(main())
