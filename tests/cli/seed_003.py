#!/usr/bin/env python3
"""Replay seed 003's network and LBaaS v2 steps with the real `neutron` CLI (python-neutronclient
9.0.0) against a local Ostia (`--auth noauth`, the client's `OS_AUTH_TYPE=none`): networks,
subnets, a router with its gateway and interface, `lbaas-*` objects, real backends, curl
through the VIP, and floating IPs (refused before the router interface exists, as Neutron
refuses them).

By default on loopback CIDRs. With SEED_NETNS=<name> (the script then runs inside that network
namespace, which its caller created) on the seed's own 172.17.0.0/16 and 10.0.0.0/24; after
Ostia stops, none of the addresses it served is left on an interface.

Environment: OSTIA_BIN (ostia binary), NEUTRON (the `neutron` command), SEED_NETNS.
Prints `ok - …` / `not ok - …` per check and `N passed, N failed`; exits 1 on failure.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HOME = os.path.expanduser("~")
OSTIA_BIN = os.environ.get("OSTIA_BIN") or os.path.join(HOME, ".cache/ostia-target/debug/ostia")
NEUTRON = os.environ.get("NEUTRON") or os.path.join(HOME, ".cache/ostia-neutron-venv/bin/neutron")
RESULTS = {"passed": 0, "failed": 0}
NETNS = os.environ.get("SEED_NETNS")
PUB, PRIV = ("172.17.", "10.0.0.") if NETNS else ("127.60.", "127.61.0.")
PUBLIC, PRIVATE = PUB + "0.0/16", PRIV + "0/24"


def check(desc, cond, detail=""):
    if cond:
        RESULTS["passed"] += 1
        print("ok - %s" % desc)
    else:
        RESULTS["failed"] += 1
        print("not ok - %s%s" % (desc, (": " + str(detail)[:800]) if detail else ""))
    return bool(cond)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Run:
    def __init__(self, p):
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr
        self.ok = p.returncode == 0

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError:
            return None

    def detail(self):
        return "rc=%s out=%r err=%r" % (self.rc, self.out[-400:], self.err[-400:])


def neutron(endpoint, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update({"OS_AUTH_TYPE": "none", "OS_ENDPOINT": endpoint})
    p = subprocess.run([NEUTRON] + list(args), capture_output=True, text=True, timeout=60,
                       env=env, stdin=subprocess.DEVNULL)
    return Run(p)


def wait_for(fn, timeout=20.0, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = fn()
        if ok:
            return True, last
        time.sleep(interval)
    return False, last


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except Exception as e:  # noqa: BLE001 - any failure is "no answer"
        return None, str(e)


def in_own_namespace():
    """SEED_NETNS names the namespace this process runs in (never the host's)."""
    out = subprocess.run(["ip", "netns", "identify", str(os.getpid())], capture_output=True, text=True)
    return out.stdout.strip() == NETNS


def enter_checks(backend_addresses):
    """In SEED_NETNS mode: refuses to run outside that namespace, and puts the backends'
    addresses on its lo. True when the run may go on."""
    if not NETNS:
        return True
    if not in_own_namespace():
        print("not ok - SEED_NETNS=%s but this process is not in that namespace" % NETNS)
        print("0 passed, 1 failed")
        return False
    print("# inside network namespace %s, on the seed's own CIDRs" % NETNS)
    for addr in backend_addresses:
        subprocess.run(["ip", "addr", "add", addr + "/32", "dev", "lo"], check=True)
    return True


def local_addresses():
    out = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines()}


def nothing_left(served):
    """After Ostia stops: none of the addresses it served is on an interface, ostia0 is gone."""
    served = sorted(a for a in served if a)
    left = [a for a in served if a in local_addresses()]
    check("after ostia stops none of its addresses (%s) is left on an interface" % ", ".join(served),
          not left, left)
    link = subprocess.run(["ip", "link", "show", "ostia0"], capture_output=True)
    check("after ostia stops its ostia0 interface is gone", link.returncode != 0)


def start_ostia(tmp, *extra):
    """`ostia up --auth noauth` on free loopback ports, with `extra` arguments; returns (server,
    log, api port, network endpoint, health manager port)."""
    api, net, idp, hm = free_port(), free_port(), free_port(), free_port()
    log = open(os.path.join(tmp, "ostia.log"), "w")
    server = subprocess.Popen(
        [OSTIA_BIN, "up", "--auth", "noauth", "--data-dir", os.path.join(tmp, "data"),
         "--api-bind", "127.0.0.1:%d" % api, "--network-bind", "127.0.0.1:%d" % net,
         "--identity-bind", "127.0.0.1:%d" % idp, "--health-bind", "127.0.0.1:%d" % hm,
         "--key-manager-bind", "127.0.0.1:0", *extra],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return server, log, api, "http://127.0.0.1:%d" % net, hm


def finish(server, log, tmp, processes, after_stop=None):
    """Stops everything the run started (then runs `after_stop`), keeps the server log only on
    failure, prints the tally."""
    for p in processes:
        p.kill()
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()
    if after_stop:
        after_stop()
    if RESULTS["failed"]:
        print("# server log: %s" % os.path.join(tmp, "ostia.log"))
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 1 if RESULTS["failed"] else 0


def agent_checks(n, tmp, hm):
    """An `ostia agent` with the data dir's key shows in `neutron agent-list`, is switched off by
    `agent-update`, goes dead when stopped and is then deleted."""
    agent = subprocess.Popen(
        [OSTIA_BIN, "agent", "--host", "lbaas-host-1", "--local-ip", "127.0.0.1",
         "--controller-ip-port-list", "127.0.0.1:%d" % hm, "--data-dir", os.path.join(tmp, "data")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        def listed(alive):
            r = n("agent-list", "-f", "json")
            rows = [a for a in (r.json() or []) if a.get("host") == "lbaas-host-1"]
            return bool(rows) and rows[0].get("alive") == alive, rows or r.detail()

        ok, rows = wait_for(lambda: listed(":-)"))
        if not check("neutron agent-list: lbaas-host-1 is a live Loadbalancerv2 agent",
                     ok and rows[0].get("agent_type") == "Loadbalancerv2 agent"
                     and rows[0].get("binary") == "neutron-lbaasv2-agent", rows):
            return
        agent_id = rows[0]["id"]
        r = n("agent-update", "--admin-state-down", agent_id)
        shown = n("agent-show", agent_id, "-f", "json").json() or {}
        check("agent-update --admin-state-down", r.ok and shown.get("admin_state_up") in (False, "False"),
              r.detail() + str(shown))
        r = n("lbaas-loadbalancer-list-on-agent", agent_id, "-f", "json")
        check("lbaas-loadbalancer-list-on-agent: none on it", r.ok and r.json() == [], r.detail())
        r = n("lbaas-agent-hosting-loadbalancer", "lb1")
        check("lbaas-agent-hosting-loadbalancer lb1: none (it runs in the control plane)",
              not r.ok and "No active agent found for loadbalancer" in r.err, r.detail())
        r = n("agent-delete", agent_id)
        check("agent-delete of a live agent is refused", not r.ok and "is alive" in r.err, r.detail())
        agent.terminate()
        agent.wait(timeout=10)
        ok, rows = wait_for(lambda: listed("xxx"))
        check("agent-list: xxx once it stopped reporting", ok, rows)
        r = n("agent-delete", agent_id)
        check("agent-delete of the dead agent", r.ok and n("agent-list", "-f", "json").json() == [],
              r.detail())
    finally:
        agent.kill()


def main():
    for path, name in ((OSTIA_BIN, "OSTIA_BIN"), (NEUTRON, "NEUTRON")):
        if not os.access(path, os.X_OK):
            print("not ok - %s=%s is executable" % (name, path))
            print("0 passed, 1 failed")
            return 1
    if not enter_checks([PRIV + "6", PRIV + "3"]):
        return 1
    tmp = tempfile.mkdtemp(prefix="ostia-seed003-")
    server, log, _, endpoint, hm = start_ostia(tmp)
    backends = []
    lb, fip = {}, {}
    try:
        ok, _ = wait_for(lambda: (get(endpoint + "/")[0] == 200, None))
        if not check("ostia up answers on the network endpoint", ok):
            return 1
        n = lambda *a: neutron(endpoint, *a)  # noqa: E731

        r = n("net-create", "public", "--router:external", "--provider:physical_network", "public",
              "--provider:network_type", "flat", "-f", "json")
        check("net-create public --router:external", r.ok and r.json().get("router:external") in (True, "True"),
              r.detail())
        r = n("subnet-create", "--name", "public-subnet", "--gateway", PUB + "0.254", "--allocation-pool",
              "start=%s56.200,end=%s56.254" % (PUB, PUB), "--dns-nameserver", "127.0.0.53", "--disable-dhcp",
              "public", PUBLIC, "-f", "json")
        check("subnet-create public-subnet with gateway, pool, DNS, no DHCP", r.ok, r.detail())
        r = n("net-create", "private", "--provider:network_type", "vxlan")
        check("net-create private", r.ok, r.detail())
        r = n("subnet-create", "--name", "private-subnet", "--gateway", PRIV + "1", "--allocation-pool",
              "start=%s2,end=%s254" % (PRIV, PRIV), "private", PRIVATE)
        check("subnet-create private-subnet", r.ok, r.detail())
        r = n("router-create", "router1")
        check("router-create router1", r.ok, r.detail())
        r = n("router-gateway-set", "router1", "public")
        check("router-gateway-set router1 public", r.ok, r.detail())

        r = n("lbaas-loadbalancer-create", "--name", "lb1", "private-subnet", "-f", "json")
        lb = r.json() or {}
        if not check("lbaas-loadbalancer-create --name lb1 private-subnet", r.ok and lb.get("id"), r.detail()):
            return 1

        def lb_active():
            r = n("lbaas-loadbalancer-show", "lb1", "-f", "value", "-c", "provisioning_status")
            return r.out.strip() == "ACTIVE", r.detail()

        ok, detail = wait_for(lb_active)
        check("lbaas-loadbalancer-show lb1: ACTIVE", ok, detail)
        agent_checks(n, tmp, hm)
        vip, vip_port = lb.get("vip_address"), lb.get("vip_port_id")

        r = n("floatingip-create", "public", "-f", "json")
        fip = r.json() or {}
        check("floatingip-create public", r.ok and fip.get("floating_ip_address", "").startswith(PUB + "56."),
              r.detail())
        r = n("floatingip-associate", fip.get("id", ""), vip_port or "")
        check("floatingip-associate before router-interface-add is refused (not reachable)",
              not r.ok and "not reachable" in (r.out + r.err), r.detail())
        r = n("router-interface-add", "router1", "subnet=private-subnet")
        check("router-interface-add router1 subnet=private-subnet", r.ok, r.detail())

        steps = [
            ("lbaas-listener-create", "--name", "listener1", "--loadbalancer", "lb1", "--protocol", "HTTP",
             "--protocol-port", "80"),
            ("lbaas-pool-create", "--name", "pool1", "--lb-algorithm", "ROUND_ROBIN", "--listener",
             "listener1", "--protocol", "HTTP"),
            ("lbaas-member-create", "--subnet", "private-subnet", "--address", PRIV + "6",
             "--protocol-port", "80", "pool1"),
            ("lbaas-member-create", "--subnet", "private-subnet", "--address", PRIV + "3",
             "--protocol-port", "80", "pool1"),
            ("lbaas-healthmonitor-create", "--delay", "5", "--max-retries", "4", "--timeout", "10",
             "--type", "HTTP", "--url-path", "/", "--pool", "pool1"),
        ]
        for step in steps:
            r = n(*step)
            check(" ".join(step[:1] + step[1:3]), r.ok, r.detail())
            ok, detail = wait_for(lb_active)
            check("lb1 ACTIVE again", ok, detail)
        r = n("lbaas-pool-show", "pool1", "-f", "json")
        members = (r.json() or {}).get("members")
        check("lbaas-pool-show pool1 lists two members", r.ok and members is not None
              and len(json.loads(members) if isinstance(members, str) else members) == 2, r.detail())

        for name, addr in (("web1", PRIV + "6:80"), ("web2", PRIV + "3:80")):
            backends.append(subprocess.Popen([OSTIA_BIN, "backend", "--name", name, "--bind", addr],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = "http://%s/" % vip

        def both():
            seen = set()
            for _ in range(6):
                st, body = get(url)
                if st == 200:
                    seen.add(body.strip())
            return len(seen) == 2, seen

        ok, seen = wait_for(both, timeout=30)
        check("curl to the VIP %s alternates between web1 and web2" % vip, ok, seen)

        r = n("floatingip-associate", fip.get("id", ""), vip_port or "")
        check("floatingip-associate <fip> <vip port> after the interface exists", r.ok, r.detail())
        r = n("floatingip-list", "-f", "json")
        listed = [f for f in (r.json() or []) if f.get("id") == fip.get("id")]
        check("floatingip-list shows the VIP as fixed address", listed and listed[0].get("fixed_ip_address") == vip,
              r.detail())
        url = "http://%s/" % fip.get("floating_ip_address")
        ok, seen = wait_for(both, timeout=30)
        check("curl to the floating IP %s alternates between web1 and web2" % fip.get("floating_ip_address"),
              ok, seen)
    finally:
        served = {lb.get("vip_address"), fip.get("floating_ip_address")}
        code = finish(server, log, tmp, backends, (lambda: nothing_left(served)) if NETNS else None)
    return code

if __name__ == "__main__":
    sys.exit(main())
