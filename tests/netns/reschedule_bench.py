#!/usr/bin/env python3
"""Rescheduling benchmark (issue 21): the client-visible outage of each load balancer when a host
holding PER_HOST of them dies, in the lab of tests/netns/hosts.py (3 hosts in namespaces on an
underlay bridge, VXLAN, probes). One looping client thread per VIP in a client probe (requests every
100 ms, 0.5 s timeouts) measures, per load balancer, the longest gap between two answers. Prints
p50/p99/max of the moved load balancers against neutron-lbaas's ~150 s and Octavia's ~60 s, and
the other load balancers' failed requests (expected 0).

Needs root. Environment: OSTIA_BIN, NEUTRON, PER_HOST (default 50). Not part of scripts/test
(it takes minutes); run it by hand: sudo python3 tests/netns/reschedule_bench.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hosts as lab_mod  # noqa: E402

PER_HOST = int(os.environ.get("PER_HOST", "50"))

LOOPER = r"""
import json, os, sys, threading, time, urllib.request
vips, stop, out = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
worst, fails = {}, {}
def loop(v):
    last, w, f = time.monotonic(), 0.0, 0
    while not os.path.exists(stop):
        try:
            urllib.request.urlopen("http://%s/" % v, timeout=0.5).read()
            now = time.monotonic()
            w, last = max(w, now - last), now
        except Exception:
            f += 1
        time.sleep(0.1)
    worst[v], fails[v] = w, f
threads = [threading.Thread(target=loop, args=(v,)) for v in vips]
for t in threads: t.start()
for t in threads: t.join()
json.dump({"worst": worst, "fails": fails}, open(out, "w"))
"""


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def main():
    if os.geteuid() != 0:
        print("skip - the rescheduling benchmark needs root")
        return 0
    lab_mod.HOSTS, lab_mod.LBS = 3, 3 * PER_HOST
    tmp = tempfile.mkdtemp(prefix="ostia-resched-")
    lab_mod.LabRun.tmp = tmp
    lab = lab_mod.Lab(tmp)
    try:
        return bench(lab, tmp)
    finally:
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


def bench(lab, tmp):
    m = lab_mod
    cp = os.path.join(tmp, "cp")
    controllers = "%s:%d" % (m.host_ip(0), m.HM)
    lab.spawn(m.host_ns(0), [m.OSTIA_BIN, "up", "--auth", "noauth", "--data-dir", cp, "--amphora", "netns",
                             "--host", "host-0", "--local-ip", m.host_ip(0), "--health-bind", controllers,
                             "--api-bind", "127.0.0.1:%d" % m.API, "--network-bind", "127.0.0.1:%d" % m.NET,
                             "--key-manager-bind", "127.0.0.1:0", "--identity-bind", "127.0.0.1:0"], "up.log")
    m.wait_for(lambda: (m.neutron("net-list").returncode == 0, None))
    for i in (1, 2):
        data = os.path.join(tmp, "host-%d" % i)
        os.makedirs(data)
        shutil.copy(os.path.join(cp, "heartbeat.key"), data)
        shutil.copytree(os.path.join(cp, "pki"), os.path.join(data, "pki"))
        lab.agents[i] = lab.spawn(m.host_ns(i), [m.OSTIA_BIN, "agent", "--host", "host-%d" % i, "--local-ip",
                                                 m.host_ip(i), "--controller-ip-port-list", controllers,
                                                 "--data-dir", data], "agent-%d.log" % i)
    m.wait_for(lambda: (len([r for r in (m.njson("agent-list") or []) if r.get("alive") == ":-)"]) == 3, None))
    m.neutron("net-create", "private")
    m.neutron("subnet-create", "--name", "private-subnet", "private", "10.0.0.0/16")
    web = json.loads(m.ostia_cli("probe-create", "private", "--host", "host-1").stdout)
    client = json.loads(m.ostia_cli("probe-create", "private", "--host", "host-0").stdout)
    lab.spawn(web["namespace"], [m.OSTIA_BIN, "backend", "--name", "web", "--bind", web["ip_address"] + ":80"],
              "web.log")
    graph = {"loadbalancer": {"vip_subnet_id": None, "listeners": [{"protocol": "HTTP", "protocol_port": 80,
             "default_pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                              "members": [{"address": web["ip_address"], "protocol_port": 80}]}}]}}
    subnet = (m.njson("subnet-show", "private-subnet") or {}).get("id")
    graph["loadbalancer"]["vip_subnet_id"] = subnet
    started = time.monotonic()
    ids = []
    for _ in range(m.LBS):
        p = m.in_ns(m.host_ns(0), "curl", "-s", "-X", "POST", "-H", "Content-Type: application/json", "-d",
                    json.dumps(graph), "http://127.0.0.1:%d/v2/lbaas/loadbalancers" % m.API, check_rc=False)
        ids.append(json.loads(p.stdout)["loadbalancer"]["id"])

    def all_active():
        _, body = m.api("GET", "/v2/lbaas/loadbalancers?fields=provisioning_status&fields=id&fields=vip_address")
        rows = (body or {}).get("loadbalancers", [])
        return sum(r["provisioning_status"] == "ACTIVE" for r in rows) == m.LBS, rows

    ok, rows = m.wait_for(all_active, timeout=600, interval=1)
    print("# %d load balancers ACTIVE in %.1f s (%s)" % (m.LBS, time.monotonic() - started, ok))
    vip_of = {r["id"]: r["vip_address"] for r in rows}
    _, body = m.api("GET", "/v2/octavia/amphorae")
    amphorae = [a for a in (body or {}).get("amphorae", []) if a.get("status") == "ALLOCATED"]
    agents = {r["id"]: r["host"] for r in (m.njson("agent-list") or [])}
    on = {a["loadbalancer_id"]: agents.get(a.get("compute_id")) for a in amphorae}
    victims = [lb for lb, h in on.items() if h == "host-2"]
    doomed = [a["id"] for a in amphorae if agents.get(a.get("compute_id")) == "host-2"]
    print("# per host: %s" % {h: list(on.values()).count(h) for h in set(on.values())})
    stop, out = os.path.join(tmp, "stop"), os.path.join(tmp, "out.json")
    looper = subprocess.Popen(["ip", "netns", "exec", client["namespace"], "python3", "-c", LOOPER,
                               ",".join(vip_of.values()), stop, out])
    time.sleep(3)
    lab.agents[2].kill()
    for amp in doomed:
        for pid in m.sh("ip", "netns", "pids", "amphora-" + amp, check_rc=False).stdout.split():
            m.sh("kill", "-9", pid, check_rc=False)
    m.in_ns(m.LAB, "ip", "link", "set", "u2", "down")
    for amp in doomed:
        m.sh("ip", "netns", "del", "amphora-" + amp, check_rc=False)
    killed = time.monotonic()

    def moved():
        _, body = m.api("GET", "/v2/octavia/amphorae")
        live = [a for a in (body or {}).get("amphorae", []) if a.get("status") == "ALLOCATED"]
        here = {a["loadbalancer_id"]: agents.get(a.get("compute_id")) for a in live}
        return all(here.get(lb) not in (None, "host-2") for lb in victims), here

    ok, _ = m.wait_for(moved, timeout=300, interval=0.5)
    print("# all %d moved: %s after %.1f s" % (len(victims), ok, time.monotonic() - killed))
    time.sleep(3)
    open(stop, "w").close()
    looper.wait(timeout=60)
    seen = json.load(open(out))
    moved_out = [seen["worst"][vip_of[lb]] for lb in victims]
    others = [lb for lb in vip_of if lb not in victims]
    print("reschedule: %d LBs on the dead host; outage p50 %.2f s, p99 %.2f s, max %.2f s "
          "(neutron-lbaas ~150 s: x%.0f; Octavia ~60 s: x%.0f); %d other LBs, %d failed requests"
          % (len(victims), percentile(moved_out, 0.5), percentile(moved_out, 0.99), max(moved_out or [0]),
             150 / max(percentile(moved_out, 0.99), 0.01), 60 / max(percentile(moved_out, 0.99), 0.01),
             len(others), sum(seen["fails"][vip_of[lb]] for lb in others)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
