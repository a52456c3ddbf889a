#!/usr/bin/env python3
"""Amphora hosts in network namespaces this script makes (issue 21): a lab namespace with an
underlay bridge (192.168.50.0/24), host namespaces on it - host-0 runs the control plane
(`ostia up --amphora netns --host host-0`), the others `ostia agent` - and the seed's private
network 10.0.0.0/24 across them over VXLAN. Backends and the client are probes
(`ostia probe-create`); the real `neutron` CLI drives Ostia.

Checks: load balancers are spread over the hosts, `ip netns` shows one `amphora-<id>` per
amphora, round robin through every VIP from a client probe, `neutron
lbaas-agent-hosting-loadbalancer` names each one's host; a load balancer on a haproxy-engine
flavor runs its haproxy inside its amphora's namespace and serves; deleting a load balancer leaves no
namespace, veth or bridge behind; an agent with a wrong key is never registered.

Private addresses exist only inside the namespaces made here; everything made is removed at
the end, failed or not. Needs root: says so and skips without it.

Environment: OSTIA_BIN, NEUTRON (as tests/cli/seed_*.py), HOSTS (default 3), LBS (default 6).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HOME = os.path.expanduser("~")
OSTIA_BIN = os.environ.get("OSTIA_BIN") or os.path.join(HOME, ".cache/ostia-target/debug/ostia")
NEUTRON = os.environ.get("NEUTRON") or os.path.join(HOME, ".cache/ostia-neutron-venv/bin/neutron")
HOSTS = int(os.environ.get("HOSTS", "3"))
LBS = int(os.environ.get("LBS", "6"))
TAG = "%x" % (os.getpid() % 0xfffff)
LAB = "ostia-lab-" + TAG
RESULTS = {"passed": 0, "failed": 0}
API, NET, HM = 9876, 9696, 5555


def host_ns(i):
    return "ostia-h%d-%s" % (i, TAG)


def host_ip(i):
    return "192.168.50.%d" % (10 + i)


def check(desc, cond, detail=""):
    if cond:
        RESULTS["passed"] += 1
        print("ok - %s" % desc)
    else:
        RESULTS["failed"] += 1
        print("not ok - %s%s" % (desc, (": " + str(detail)[:800]) if detail else ""))
    return bool(cond)


def sh(*args, check_rc=True, timeout=60):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s: %s %s" % (" ".join(args), p.stdout, p.stderr))
    return p


def in_ns(ns, *args, **kw):
    return sh("ip", "netns", "exec", ns, *args, **kw)


def namespaces(prefix):
    out = sh("ip", "netns", "list").stdout
    return {line.split()[0] for line in out.splitlines() if line.startswith(prefix)}


def kill_namespace(ns):
    """SIGKILL to everything inside namespace `ns`, then the namespace: as its machine dies."""
    for pid in sh("ip", "netns", "pids", ns, check_rc=False).stdout.split():
        sh("kill", "-9", pid, check_rc=False)
    sh("ip", "netns", "del", ns, check_rc=False)


def wait_for(fn, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = fn()
        if ok:
            return True, last
        time.sleep(interval)
    return False, last


class Lab:
    """The namespaces, links and processes of one run; `close` removes all of them."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        self.agents = {}
        self.router, self.fip = None, None
        self.made = [LAB]
        self.before = namespaces("amphora-") | namespaces("qprobe-") | namespaces("qrouter-")
        sh("ip", "netns", "add", LAB)
        in_ns(LAB, "ip", "link", "set", "lo", "up")
        in_ns(LAB, "ip", "link", "add", "underlay", "type", "bridge")
        in_ns(LAB, "ip", "link", "set", "underlay", "up")
        for i in range(HOSTS):
            ns = host_ns(i)
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            in_ns(ns, "ip", "link", "set", "lo", "up")
            # One end in the host, the other on the lab's underlay bridge.
            in_ns(LAB, "ip", "link", "add", "u%d" % i, "type", "veth", "peer", "name", "eth0", "netns", ns)
            in_ns(LAB, "ip", "link", "set", "u%d" % i, "master", "underlay", "up")
            in_ns(ns, "ip", "addr", "add", host_ip(i) + "/24", "dev", "eth0")
            in_ns(ns, "ip", "link", "set", "eth0", "up")

    def spawn(self, ns, args, log):
        out = open(os.path.join(self.tmp, log), "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + args, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        # Amphora processes outlive their agents: stop them, then their namespaces.
        sh("pkill", "-f", "--", "amphora --dir %s" % self.tmp, check_rc=False)
        made = namespaces("amphora-") | namespaces("qprobe-") | namespaces("qrouter-")
        for ns in sorted(made - self.before):
            kill_namespace(ns)
        for ns in reversed(self.made):
            kill_namespace(ns)


def neutron(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update({"OS_AUTH_TYPE": "none", "OS_ENDPOINT": "http://127.0.0.1:%d" % NET})
    p = subprocess.run(["ip", "netns", "exec", host_ns(0), NEUTRON] + list(args), capture_output=True,
                       text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    return p


def njson(*args):
    p = neutron(*(list(args) + ["-f", "json"]))
    try:
        return json.loads(p.stdout) if p.returncode == 0 else None
    except ValueError:
        return None


def ostia_cli(*args):
    data = os.path.join(LabRun.tmp, "cp")
    return in_ns(host_ns(0), OSTIA_BIN, *args, "--data-dir", data, check_rc=False)


def curl(ns, url):
    p = sh("ip", "netns", "exec", ns, "curl", "-s", "-m", "2", url, check_rc=False, timeout=10)
    return p.stdout.strip() if p.returncode == 0 else None


class LabRun:
    tmp = None


def lab_main(run, tools, what, prefix, programs=()):
    """Runs `run(lab, tmp)` in a new lab and removes the lab after, whatever happened. `tools`:
    (path, variable) pairs that must be executable; `programs`: (program, Debian package)."""
    for path, name in tools:
        if not os.access(path, os.X_OK):
            print("not ok - %s=%s is executable" % (name, path))
            print("0 passed, 1 failed")
            return 1
    if os.geteuid() != 0:
        print("skip - %s: needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)" % what)
        return 0
    for program, package in programs:
        if shutil.which(program) is None:
            print("not ok - %s is installed (Debian package %s)" % (program, package))
            print("0 passed, 1 failed")
            return 1
    tmp = tempfile.mkdtemp(prefix=prefix)
    LabRun.tmp = tmp
    lab = Lab(tmp)
    try:
        run(lab, tmp)
    except Exception as e:  # noqa: BLE001 - a broken lab is a failed check, and is cleaned up
        check("the lab runs to the end", False, repr(e))
    finally:
        if os.environ.get("KEEP"):
            print("# KEEP: the lab is left running (tag %s, logs %s)" % (TAG, tmp))
            return 1
        lab.close()
        left = sorted((namespaces("amphora-") | namespaces("qprobe-") | namespaces("qrouter-")) - lab.before) + \
            sorted(namespaces("ostia-lab-" + TAG) | namespaces("ostia-h"))
        check("nothing the lab made is left (namespaces)", not [n for n in left if TAG in n or
                                                                 n.startswith(("amphora-", "qprobe-", "qrouter-"))],
              left)
    if RESULTS["failed"]:
        print("# logs in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 1 if RESULTS["failed"] else 0


def main():
    return lab_main(run, ((OSTIA_BIN, "OSTIA_BIN"), (NEUTRON, "NEUTRON")), "amphora hosts in network namespaces",
                    "ostia-hosts-")


def run(lab, tmp):
    cp = os.path.join(tmp, "cp")
    controllers = "%s:%d" % (host_ip(0), HM)
    lab.spawn(host_ns(0), [OSTIA_BIN, "up", "--auth", "noauth", "--data-dir", cp, "--amphora", "netns",
                           "--host", "host-0", "--local-ip", host_ip(0), "--health-bind", controllers,
                           "--api-bind", "127.0.0.1:%d" % API, "--network-bind", "127.0.0.1:%d" % NET,
                           "--key-manager-bind", "127.0.0.1:0", "--identity-bind", "127.0.0.1:0"],
              "ostia-up.log")
    ok, _ = wait_for(lambda: (neutron("net-list").returncode == 0, None))
    if not check("ostia up --amphora netns --host host-0 answers inside host-0", ok):
        return
    # The other hosts get the control plane's keys, as an operator copies them.
    for i in range(1, HOSTS):
        data = os.path.join(tmp, "host-%d" % i)
        os.makedirs(data)
        shutil.copy(os.path.join(cp, "heartbeat.key"), data)
        shutil.copytree(os.path.join(cp, "pki"), os.path.join(data, "pki"))
        lab.agents[i] = lab.spawn(host_ns(i), [OSTIA_BIN, "agent", "--host", "host-%d" % i, "--local-ip",
                                               host_ip(i), "--controller-ip-port-list", controllers,
                                               "--data-dir", data], "agent-%d.log" % i)
    # A stranger: its own key, never registered.
    stranger = os.path.join(tmp, "stranger")
    os.makedirs(stranger)
    with open(os.path.join(stranger, "heartbeat.key"), "w") as f:
        f.write("not-the-key")
    shutil.copytree(os.path.join(cp, "pki"), os.path.join(stranger, "pki"))
    lab.spawn(host_ns(HOSTS - 1), [OSTIA_BIN, "agent", "--host", "stranger", "--local-ip", host_ip(HOSTS - 1),
                                   "--bind", "%s:9444" % host_ip(HOSTS - 1),
                                   "--controller-ip-port-list", controllers, "--data-dir", stranger],
              "stranger.log")

    def agents_alive():
        rows = njson("agent-list") or []
        alive = sorted(r["host"] for r in rows if r.get("alive") == ":-)")
        return alive == ["host-%d" % i for i in range(HOSTS)], rows

    ok, rows = wait_for(agents_alive)
    check("neutron agent-list: %d live Loadbalancerv2 agents, the stranger is not among them" % HOSTS,
          ok and all(r.get("agent_type") == "Loadbalancerv2 agent" for r in rows), rows)

    r = neutron("net-create", "private")
    check("net-create private", r.returncode == 0, r.stderr)
    r = neutron("subnet-create", "--name", "private-subnet", "private", "10.0.0.0/24")
    check("subnet-create private-subnet 10.0.0.0/24", r.returncode == 0, r.stderr)

    # Backends and a client: probes on the private network, each on a host of its own.
    probes = {}
    # Not on the last host, which is killed later.
    for name, host in (("web1", 1 % HOSTS if HOSTS < 3 else 1), ("web2", 0), ("client", 0)):
        p = ostia_cli("probe-create", "private", "--host", "host-%d" % host)
        try:
            probes[name] = json.loads(p.stdout)
        except ValueError:
            probes[name] = {}
        check("ostia probe-create private --host host-%d (%s)" % (host, name),
              p.returncode == 0 and probes[name].get("namespace", "").startswith("qprobe-"),
              p.stdout + p.stderr)
    for name in ("web1", "web2"):
        pr = probes.get(name, {})
        if pr.get("namespace"):
            lab.spawn(pr["namespace"], [OSTIA_BIN, "backend", "--name", name, "--bind", pr["ip_address"] + ":80"],
                      "%s.log" % name)
    client = probes.get("client", {}).get("namespace")

    lbs = []
    for n in range(LBS):
        name = "lb%d" % n
        lb = njson("lbaas-loadbalancer-create", "--name", name, "private-subnet") or {}
        lbs.append(lb)

        def active(name=name):
            r = neutron("lbaas-loadbalancer-show", name, "-f", "value", "-c", "provisioning_status")
            return r.stdout.strip() in ("ACTIVE", "ERROR"), r.stdout.strip()

        ok, status = wait_for(active, timeout=60)
        check("%s ACTIVE" % name, ok and status == "ACTIVE", status)
        for step in (("lbaas-listener-create", "--name", name + "-l", "--loadbalancer", name, "--protocol",
                      "HTTP", "--protocol-port", "80"),
                     ("lbaas-pool-create", "--name", name + "-p", "--lb-algorithm", "ROUND_ROBIN", "--listener",
                      name + "-l", "--protocol", "HTTP"),
                     ("lbaas-member-create", "--subnet", "private-subnet", "--address",
                      probes.get("web1", {}).get("ip_address", "10.0.0.250"), "--protocol-port", "80", name + "-p"),
                     ("lbaas-member-create", "--subnet", "private-subnet", "--address",
                      probes.get("web2", {}).get("ip_address", "10.0.0.251"), "--protocol-port", "80", name + "-p")):
            r = neutron(*step)
            ok, status = wait_for(active, timeout=60)
            if not (r.returncode == 0 and status == "ACTIVE"):
                check("%s %s" % (name, step[0]), False, r.stderr + status)

    hosting = {}
    for lb in lbs:
        agent = njson("lbaas-agent-hosting-loadbalancer", lb.get("id", "-")) or []
        hosting[lb.get("id")] = agent[0]["host"] if agent else None
    per_host = {}
    for h in hosting.values():
        per_host[h] = per_host.get(h, 0) + 1
    even = LBS // HOSTS
    check("lbaas-agent-hosting-loadbalancer names a host for each LB, spread %s" % per_host,
          None not in per_host and sorted(per_host.values()) == [even] * HOSTS, hosting)
    amphorae = namespaces("amphora-") - lab.before
    check("ip netns shows one amphora-<id> per load balancer (%d)" % len(amphorae), len(amphorae) == LBS,
          sorted(amphorae))

    for lb in lbs:
        url = "http://%s/" % lb.get("vip_address")

        def both(url=url):
            seen = set()
            for _ in range(6):
                body = curl(client, url) if client else None
                if body:
                    seen.add(body)
            return len(seen) == 2, seen

        ok, seen = wait_for(both, timeout=30)
        check("curl from the client probe to %s (%s) alternates between web1 and web2"
              % (url, hosting.get(lb.get("id"))), ok, seen)

    outside = floating_ip(lab, lbs[0], probes)
    if HOSTS >= 3 and client:
        kill_host(lab, tmp, lbs, hosting, client)
        if outside:
            fip, ns = outside
            seen = {curl(ns, "http://%s/" % fip) for _ in range(6)}
            check("after the move the floating IP %s still alternates" % fip, len(seen - {None}) == 2, seen)
    haproxy_engine(probes, client)
    delete_everything(lab, lbs, probes)


def haproxy_engine(probes, client):
    """A load balancer on a flavor whose engine is haproxy: its amphora's haproxy runs inside the
    amphora's namespace on its host, round robin through its VIP, nothing left after its delete."""
    code, fp = api("POST", "/v2/lbaas/flavorprofiles", {"flavorprofile": {
        "name": "haproxy", "provider_name": "amphora", "flavor_data": json.dumps({"engine": "haproxy"})}})
    code2, flavor = api("POST", "/v2/lbaas/flavors", {"flavor": {
        "name": "haproxy", "flavor_profile_id": (fp or {}).get("flavorprofile", {}).get("id")}})
    if not check("a flavor whose profile says engine haproxy", code == "201" and code2 == "201", (fp, flavor)):
        return
    subnet = (njson("subnet-show", "private-subnet") or {}).get("id")
    members = [{"address": probes.get(n, {}).get("ip_address", "10.0.0.250"), "protocol_port": 80}
               for n in ("web1", "web2")]
    code, body = api("POST", "/v2/lbaas/loadbalancers", {"loadbalancer": {
        "name": "hap", "vip_subnet_id": subnet, "flavor_id": flavor["flavor"]["id"], "listeners": [{
            "protocol": "HTTP", "protocol_port": 80, "default_pool": {
                "name": "hap-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": members}}]}})
    if not check("POST a load balancer graph on the haproxy flavor: 201", code == "201", body):
        return
    lb = body["loadbalancer"]

    def active():
        code, b = api("GET", "/v2/lbaas/loadbalancers/%s" % lb["id"])
        status = (b or {}).get("loadbalancer", {}).get("provisioning_status") if code == "200" else None
        return status in ("ACTIVE", "ERROR"), status
    ok, status = wait_for(active, timeout=60)
    check("it goes ACTIVE on a host", ok and status == "ACTIVE", status)
    code, amps = api("GET", "/v2/octavia/amphorae?loadbalancer_id=%s" % lb["id"])
    amp = ((amps or {}).get("amphorae") or [{}])[0].get("id", "-")
    pids = sh("ip", "netns", "pids", "amphora-" + amp, check_rc=False).stdout.split()
    masters = []
    for pid in pids:
        try:
            words = open("/proc/%s/cmdline" % pid, "rb").read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if os.path.basename(words[0]) == "haproxy" and any("/%s/haproxy.cfg" % lb["id"] in w for w in words):
            masters.append(pid)
    check("haproxy runs inside the amphora's namespace amphora-%s, its config under .../%s/"
          % (amp[:8], lb["id"][:8]), masters, pids)
    url = "http://%s/" % lb["vip_address"]

    def both():
        seen = {curl(client, url) for _ in range(6)} - {None}
        return len(seen) == 2, seen
    ok, seen = wait_for(both, timeout=30)
    check("curl from the client probe through the haproxy engine alternates between web1 and web2", ok, seen)
    code, _ = api("DELETE", "/v2/lbaas/loadbalancers/%s?cascade=true" % lb["id"])
    ok, _ = wait_for(lambda: (not any(os.path.exists("/proc/%s" % p) for p in masters), None), timeout=30)
    check("after its delete (%s) no haproxy of it is left" % code, code == "204" and ok, masters)


def floating_ip(lab, lb, probes):
    """Seed 003's floating-IP flow on hosts: an external network, a router (a `qrouter-<id>`
    namespace on host-0 with NAT), a floating IP on the first VIP, answering a probe on the
    external network. Returns (floating IP, that probe's namespace)."""
    r = neutron("net-create", "public", "--router:external", "--provider:network_type", "flat",
                "--provider:physical_network", "public")
    check("net-create public --router:external", r.returncode == 0, r.stderr)
    r = neutron("subnet-create", "--name", "public-subnet", "--gateway", "172.24.4.1", "--allocation-pool",
                "start=172.24.4.200,end=172.24.4.254", "--disable-dhcp", "public", "172.24.4.0/24")
    check("subnet-create public-subnet 172.24.4.0/24", r.returncode == 0, r.stderr)
    router = njson("router-create", "router1") or {}
    r = neutron("router-gateway-set", "router1", "public")
    check("router-gateway-set router1 public", r.returncode == 0, r.stderr)
    r = neutron("router-interface-add", "router1", "subnet=private-subnet")
    check("router-interface-add router1 private-subnet", r.returncode == 0, r.stderr)
    p = ostia_cli("probe-create", "public", "--host", "host-%d" % (1 % HOSTS))
    try:
        probes["outside"] = json.loads(p.stdout)
    except ValueError:
        probes["outside"] = {}
    outside = probes["outside"].get("namespace")
    check("ostia probe-create public (a client outside)", p.returncode == 0 and outside, p.stdout + p.stderr)
    fip = njson("floatingip-create", "public") or {}
    r = neutron("floatingip-associate", fip.get("id", "-"), lb.get("vip_port_id", "-"))
    check("floatingip-associate %s to %s's VIP port" % (fip.get("floating_ip_address"), lb.get("name")),
          r.returncode == 0, r.stderr)
    check("ip netns shows qrouter-<router id>",
          wait_for(lambda: ("qrouter-" + router.get("id", "-") in namespaces("qrouter-"), None), timeout=15)[0])
    url = "http://%s/" % fip.get("floating_ip_address")

    def both():
        seen = {curl(outside, url) for _ in range(6)} if outside else set()
        return len(seen - {None}) == 2, seen

    ok, seen = wait_for(both, timeout=30)
    check("curl from the outside probe to the floating IP %s alternates between web1 and web2"
          % fip.get("floating_ip_address"), ok, seen)
    lab.router, lab.fip = router.get("id"), fip
    return (fip.get("floating_ip_address"), outside) if ok else None


LOOPER = r"""
import json, os, sys, time, urllib.request
vips, stop, out = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
last = {v: time.monotonic() for v in vips}
worst, fails = {v: 0.0 for v in vips}, {v: 0 for v in vips}
while not os.path.exists(stop):
    for v in vips:
        try:
            urllib.request.urlopen("http://%s/" % v, timeout=0.5).read()
            now = time.monotonic()
            worst[v], last[v] = max(worst[v], now - last[v]), now
        except Exception:
            fails[v] += 1
    time.sleep(0.05)
json.dump({"worst": worst, "fails": fails}, open(out, "w"))
"""


def api(method, path, body=None):
    data = ["-H", "Content-Type: application/json", "-d", json.dumps(body)] if body is not None else []
    p = in_ns(host_ns(0), "curl", "-s", "-X", method, *data, "http://127.0.0.1:%d%s" % (API, path), "-w",
              "\n%{http_code}", check_rc=False)
    body, _, code = p.stdout.rpartition("\n")
    try:
        return code, json.loads(body) if body else None
    except ValueError:
        return code, body


def kill_host(lab, tmp, lbs, hosting, client):
    """Kills the last host (its agent, its amphorae's processes and namespaces, its underlay
    link): the load balancers it held serve again from the others, the others see nothing; then
    it comes back and deletes what it no longer owns."""
    n = HOSTS - 1
    victim_host = "host-%d" % n
    vips = [lb.get("vip_address") for lb in lbs]
    by_vip = {lb.get("vip_address"): lb.get("id") for lb in lbs}
    stop, out = os.path.join(tmp, "looper.stop"), os.path.join(tmp, "looper.json")
    looper = subprocess.Popen(["ip", "netns", "exec", client, "python3", "-c", LOOPER, ",".join(vips), stop, out])
    time.sleep(1.5)
    victims = [i for i, h in hosting.items() if h == victim_host]
    doomed = []
    for lb_id in victims:
        _, body = api("GET", "/v2/octavia/amphorae?loadbalancer_id=%s" % lb_id)
        doomed += [a["id"] for a in (body or {}).get("amphorae", []) if a.get("status") != "DELETED"]
    killed_at = time.monotonic()
    agent = lab.agents[n]
    agent.kill()
    agent.wait()
    for amp in doomed:
        ns = "amphora-" + amp
        for pid in sh("ip", "netns", "pids", ns, check_rc=False).stdout.split():
            sh("kill", "-9", pid, check_rc=False)
    in_ns(LAB, "ip", "link", "set", "u%d" % n, "down")
    for amp in doomed:
        sh("ip", "netns", "del", "amphora-" + amp, check_rc=False)
    print("# killed %s at t=0 with %d amphorae" % (victim_host, len(doomed)))

    def moved():
        hosts = {}
        for lb_id in victims:
            agent = njson("lbaas-agent-hosting-loadbalancer", lb_id) or []
            hosts[lb_id] = agent[0]["host"] if agent else None
        return all(h not in (None, victim_host) for h in hosts.values()), hosts

    ok, hosts = wait_for(moved, timeout=60)
    check("every load balancer of %s moved to another host (%.1f s): %s"
          % (victim_host, time.monotonic() - killed_at, hosts), ok, hosts)
    time.sleep(2)
    open(stop, "w").close()
    looper.wait(timeout=30)
    try:
        with open(out) as f:
            seen = json.load(f)
    except (OSError, ValueError):
        seen = {"worst": {}, "fails": {}}
    for vip in vips:
        lb_id = by_vip[vip]
        print("# %s on %s: longest outage %.2f s, %d failed requests"
              % (vip, hosting.get(lb_id), seen["worst"].get(vip, -1), seen["fails"].get(vip, -1)))
    moved_worst = [seen["worst"].get(v, 99) for v in vips if by_vip[v] in victims]
    check("the moved load balancers served again within 10 s (longest outage %.2f s)"
          % max(moved_worst or [0]), moved_worst and max(moved_worst) < 10, seen)
    others = [v for v in vips if by_vip[v] not in victims]
    check("load balancers on the other hosts saw no failed request",
          all(seen["fails"].get(v, 1) == 0 for v in others), seen)

    # The host comes back: it deletes what it no longer owns, and serves nothing twice.
    in_ns(LAB, "ip", "link", "set", "u%d" % n, "up")
    data = os.path.join(tmp, "host-%d" % n)
    lab.agents[n] = lab.spawn(host_ns(n), [OSTIA_BIN, "agent", "--host", victim_host, "--local-ip", host_ip(n),
                                           "--controller-ip-port-list", "%s:%d" % (host_ip(0), HM),
                                           "--data-dir", data], "agent-%d-back.log" % n)

    def clean():
        left = os.listdir(os.path.join(data, "host", "amphorae"))
        stale = [a for a in doomed if os.path.exists("/run/netns/amphora-" + a)]
        rows = njson("agent-list") or []
        alive = any(r["host"] == victim_host and r.get("alive") == ":-)" for r in rows)
        return alive and not left and not stale, (alive, left, stale)

    ok, detail = wait_for(clean, timeout=30)
    check("%s came back alive and holds none of its old amphorae" % victim_host, ok, detail)
    for lb in lbs:
        url = "http://%s/" % lb.get("vip_address")
        seen = {curl(client, url) for _ in range(6)}
        check("after the host came back %s still alternates" % url, seen == {"you hit: web1", "you hit: web2"}
              or len(seen - {None}) == 2, seen)


def host_links(i, prefix):
    out = in_ns(host_ns(i), "ip", "-o", "link", "show").stdout
    return [line.split(": ")[1].split("@")[0] for line in out.splitlines() if line.split(": ")[1].startswith(prefix)]


def delete_everything(lab, lbs, probes):
    """Deleting load balancers and probes leaves no namespace, veth, bridge or VXLAN device."""
    first = lbs[0]
    code, _ = api("DELETE", "/v2/lbaas/loadbalancers/%s?cascade=true" % first.get("id"))
    check("DELETE the first load balancer with cascade: 204", code == "204", code)
    if lab.router:
        qrouter = "qrouter-" + lab.router

        def no_nat():
            rules = sh("ip", "netns", "exec", qrouter, "nft", "list", "ruleset", check_rc=False).stdout
            return "dnat to %s" % first.get("vip_address") not in rules and "ostia-router" in rules, rules

        ok, rules = wait_for(no_nat, timeout=20)
        check("its floating IP's NAT rules left the router with it", ok, rules)
        for step in (("floatingip-delete", (lab.fip or {}).get("id", "-")),
                     ("router-interface-delete", "router1", "subnet=private-subnet"),
                     ("router-gateway-clear", "router1"), ("router-delete", "router1")):
            r = neutron(*step)
            check(" ".join(step[:1] + (step[1][:9],)), r.returncode == 0, r.stderr)
        ok, _ = wait_for(lambda: (qrouter not in namespaces("qrouter-"), None), timeout=20)
        check("the router's namespace is gone with it", ok)
    for lb in lbs[1:]:
        api("DELETE", "/v2/lbaas/loadbalancers/%s?cascade=true" % lb.get("id"))

    def no_amphorae():
        now = namespaces("amphora-") - lab.before
        return not now, sorted(now)

    ok, now = wait_for(no_amphorae, timeout=60)
    check("every amphora namespace is gone with its load balancer", ok, now)
    for name, probe in probes.items():
        p = ostia_cli("probe-delete", probe.get("port_id", "-"))
        check("ostia probe-delete (%s)" % name, p.returncode == 0, p.stderr)
    r = ostia_cli("probe-list")
    check("ostia probe-list is empty", r.returncode == 0 and json.loads(r.stdout or "null") == [], r.stdout + r.stderr)

    def bare():
        left = {i: host_links(i, ("tap", "brq", "vxlan-")) for i in range(HOSTS)}
        return not any(left.values()) and not (namespaces("qprobe-") - lab.before), left

    ok, left = wait_for(bare, timeout=30)
    check("no veth, bridge or VXLAN device is left on any host", ok, left)


if __name__ == "__main__":
    sys.exit(main())
