#!/usr/bin/env python3
"""Seed 003's HA flow on amphora hosts (issue 22): `ostia up --loadbalancer-topology
ACTIVE_STANDBY` (the seed's `loadbalancer_topology = ACTIVE_STANDBY`), in the lab of
tests/netns/hosts.py (a control-plane host and two `ostia agent` hosts in namespaces, VXLAN).

Checks, with the real `neutron` and `openstack` CLIs: one load balancer gets two amphorae,
MASTER and BACKUP, on different hosts, each in its namespace `amphora-<id>` with a VRRP
address of its own; the VIP is on the MASTER only (`ip addr` inside each). A client loops
through the VIP and through its floating IP, a new connection every ~20 ms; the MASTER's
namespace is killed three times: each time the client's longest outage is printed,
`openstack loadbalancer amphora list` shows the survivor as MASTER and the rebuilt one as
BACKUP, and the recorded roles match who holds the VIP; two clients stuck to their members
(SOURCE_IP) stay with them through the new MASTER (shared stick tables). What happens to an
established connection through the dead MASTER is printed. Then the BACKUP dies (the MASTER's
client sees nothing), both die at once (both rebuilt, the VIP served again), and with one
eligible host a new pair goes on it. Deleting the load balancer frees its VRRP ports and
namespaces.

Needs root (skips without it). Environment: OSTIA_BIN, NEUTRON, OPENSTACK, OSTIA_ENGINE (native,
the default, or haproxy: `--default-engine haproxy`, each amphora's haproxy sharing its stick
tables through Octavia's peers section).
"""
import json
import os
import shutil
import subprocess
import sys
import time

os.environ.setdefault("HOSTS", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hosts as lab_  # noqa: E402 - the lab, its checks and its helpers
from hosts import check, host_ip, host_ns, namespaces, neutron, njson, sh, wait_for  # noqa: E402

HOME = os.path.expanduser("~")
OPENSTACK = os.environ.get("OPENSTACK") or os.path.join(HOME, ".cache/ostia-venv/bin/openstack")
KILLS = 3
ENGINE = os.environ.get("OSTIA_ENGINE", "native")

LOOPER = r"""
import json, os, socket, sys, time
targets, stop, out = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
last = {t: None for t in targets}
worst, fails, ok = {t: 0.0 for t in targets}, {t: 0 for t in targets}, {t: 0 for t in targets}
outages = {t: [] for t in targets}
while not os.path.exists(stop):
    for t in targets:
        try:
            s = socket.create_connection((t, 80), timeout=0.3)
            s.settimeout(0.5)
            s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
            body = s.recv(4096)
            s.close()
            if not body.startswith(b"HTTP/1."):
                raise OSError("no answer")
            now = time.monotonic()
            if last[t] is not None and now - last[t] > 0.2:
                outages[t].append(round(now - last[t], 3))
            if last[t] is not None:
                worst[t] = max(worst[t], now - last[t])
            last[t] = now
            ok[t] += 1
        except Exception:
            fails[t] += 1
    time.sleep(0.02)
json.dump({"worst": worst, "fails": fails, "ok": ok, "outages": outages}, open(out, "w"))
"""


def openstack(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update({"OS_CLIENT_CONFIG_FILE": os.path.join(lab_.LabRun.tmp, "clouds.yaml"), "OS_CLOUD": "ostia"})
    p = subprocess.run(["ip", "netns", "exec", host_ns(0), OPENSTACK] + list(args), capture_output=True,
                       text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    return p


def amphora_list(lb_id):
    p = openstack("loadbalancer", "amphora", "list", "--loadbalancer", lb_id, "-f", "json")
    try:
        return json.loads(p.stdout) if p.returncode == 0 else None
    except ValueError:
        return None


def vip_holder(amphorae, vip):
    """Which amphora's namespace has the VIP (`ip addr` inside each)."""
    held = []
    for a in amphorae:
        out = sh("ip", "netns", "exec", "amphora-" + a["id"], "ip", "-o", "addr", check_rc=False).stdout
        if (" %s/" % vip) in out:
            held.append(a["id"])
    return held


def main():
    return lab_.lab_main(run, ((lab_.OSTIA_BIN, "OSTIA_BIN"), (lab_.NEUTRON, "NEUTRON"), (OPENSTACK, "OPENSTACK")),
                         "ACTIVE_STANDBY on amphora hosts", "ostia-ha-", (("keepalived", "keepalived"),))


def start(lab, tmp):
    cp = os.path.join(tmp, "cp")
    controllers = "%s:%d" % (host_ip(0), lab_.HM)
    lab.spawn(host_ns(0), [lab_.OSTIA_BIN, "up", "--auth", "noauth", "--data-dir", cp, "--amphora", "netns",
                           "--loadbalancer-topology", "ACTIVE_STANDBY", "--default-engine", ENGINE,
                           "--host", "host-0", "--local-ip", host_ip(0), "--health-bind", controllers,
                           "--api-bind", "127.0.0.1:%d" % lab_.API, "--network-bind", "127.0.0.1:%d" % lab_.NET,
                           "--key-manager-bind", "127.0.0.1:0", "--identity-bind", "127.0.0.1:0"],
              "ostia-up.log")
    with open(os.path.join(tmp, "clouds.yaml"), "w") as f:
        f.write("clouds:\n  ostia:\n    auth_type: none\n"
                "    load_balancer_endpoint_override: http://127.0.0.1:%d\n"
                "    network_endpoint_override: http://127.0.0.1:%d\n" % (lab_.API, lab_.NET))
    ok, _ = wait_for(lambda: (neutron("net-list").returncode == 0, None))
    if not check("ostia up --amphora netns --loadbalancer-topology ACTIVE_STANDBY answers inside host-0", ok):
        return False
    for i in range(1, lab_.HOSTS):
        data = os.path.join(tmp, "host-%d" % i)
        os.makedirs(data)
        shutil.copy(os.path.join(cp, "heartbeat.key"), data)
        shutil.copytree(os.path.join(cp, "pki"), os.path.join(data, "pki"))
        lab.agents[i] = lab.spawn(host_ns(i), [lab_.OSTIA_BIN, "agent", "--host", "host-%d" % i, "--local-ip",
                                               host_ip(i), "--controller-ip-port-list", controllers,
                                               "--data-dir", data], "agent-%d.log" % i)

    def agents_alive():
        rows = njson("agent-list") or []
        alive = sorted(r["host"] for r in rows if r.get("alive") == ":-)")
        return alive == ["host-%d" % i for i in range(lab_.HOSTS)], rows

    ok, rows = wait_for(agents_alive)
    return check("neutron agent-list: %d live agents" % lab_.HOSTS, ok, rows)


def build(probes):
    r = neutron("net-create", "private")
    check("net-create private", r.returncode == 0, r.stderr)
    r = neutron("subnet-create", "--name", "private-subnet", "private", "10.0.0.0/24")
    check("subnet-create private-subnet 10.0.0.0/24", r.returncode == 0, r.stderr)
    for name in ("web1", "web2", "client"):
        p = lab_.ostia_cli("probe-create", "private", "--host", "host-0")
        try:
            probes[name] = json.loads(p.stdout)
        except ValueError:
            probes[name] = {}
        check("ostia probe-create private --host host-0 (%s)" % name, p.returncode == 0, p.stdout + p.stderr)
    lb = njson("lbaas-loadbalancer-create", "--name", "lb", "private-subnet") or {}

    def active():
        r = neutron("lbaas-loadbalancer-show", "lb", "-f", "value", "-c", "provisioning_status")
        return r.stdout.strip() in ("ACTIVE", "ERROR"), r.stdout.strip()

    ok, status = wait_for(active, timeout=60)
    check("lbaas-loadbalancer-create lb: ACTIVE", ok and status == "ACTIVE", status)
    for step in (("lbaas-listener-create", "--name", "l", "--loadbalancer", "lb", "--protocol", "HTTP",
                  "--protocol-port", "80"),
                 ("lbaas-pool-create", "--name", "p", "--lb-algorithm", "ROUND_ROBIN", "--listener", "l",
                  "--protocol", "HTTP"),
                 ("lbaas-member-create", "--subnet", "private-subnet", "--address",
                  probes["web1"].get("ip_address", "-"), "--protocol-port", "80", "p"),
                 ("lbaas-member-create", "--subnet", "private-subnet", "--address",
                  probes["web2"].get("ip_address", "-"), "--protocol-port", "80", "p")):
        r = neutron(*step)
        ok, status = wait_for(active, timeout=60)
        check("%s: ACTIVE" % step[0], r.returncode == 0 and status == "ACTIVE", r.stderr + status)
    return lb


def hosts_by_id():
    return {r["id"]: r["host"] for r in njson("agent-list") or []}


def roles_true(lb, gone=()):
    """(ok, detail): two amphorae in service, none of `gone` (killed: failed over), one MASTER
    one BACKUP, the VIP held by the MASTER alone."""
    amps = [a for a in amphora_list(lb["id"]) or [] if a.get("status") not in ("DELETED", "PENDING_DELETE")]
    roles = sorted(a.get("role") for a in amps)
    if roles != ["BACKUP", "MASTER"] or any(a.get("status") != "ALLOCATED" or a["id"] in gone for a in amps):
        return False, amps
    master = [a["id"] for a in amps if a["role"] == "MASTER"]
    held = vip_holder(amps, lb["vip_address"])
    return held == master, {"amphorae": amps, "vip_on": held}


def run(lab, tmp):
    if not start(lab, tmp):
        return
    probes = {}
    lb = build(probes)
    for name in ("web1", "web2"):
        pr = probes.get(name, {})
        if pr.get("namespace"):
            lab.spawn(pr["namespace"], [lab_.OSTIA_BIN, "backend", "--name", name, "--bind",
                                        pr["ip_address"] + ":80"], "%s.log" % name)
    client = probes.get("client", {}).get("namespace")
    ok, detail = wait_for(lambda: roles_true(lb), timeout=30)
    check("openstack loadbalancer amphora list: a MASTER and a BACKUP, the VIP on the MASTER only (ip addr)",
          ok, detail)
    amps = amphora_list(lb["id"]) or []
    full = {}
    for a in amps:
        p = openstack("loadbalancer", "amphora", "show", a["id"], "-f", "json")
        full[a["id"]] = json.loads(p.stdout) if p.returncode == 0 else {}
    names = hosts_by_id()
    on = {names.get(f.get("compute_id")) for f in full.values()}
    check("the two amphorae are on two hosts: %s" % sorted(map(str, on)), len(on) == 2 and None not in on, full)
    check("each has its own VRRP address on the VIP's subnet, ha_ip is the VIP, priorities 100/90",
          len({f.get("vrrp_ip") for f in full.values()}) == 2
          and all(f.get("ha_ip") == lb["vip_address"] and f.get("vrrp_ip", "").startswith("10.0.0.")
                  for f in full.values())
          and sorted(f.get("vrrp_priority") for f in full.values()) == [90, 100], full)
    check("ip netns shows amphora-<id> for both", all(os.path.exists("/run/netns/amphora-" + a) for a in full))
    url = "http://%s/" % lb["vip_address"]
    seen = set()
    for _ in range(8):
        seen.add(lab_.curl(client, url))
    check("curl through the VIP alternates between web1 and web2", len(seen - {None}) == 2, seen)
    outside = lab_.floating_ip(lab, lb, probes)
    # SOURCE_IP persistence: the client probe sticks to one member, on either amphora.
    r = openstack("loadbalancer", "pool", "set", "--session-persistence", "type=SOURCE_IP", "p")
    ok, status = wait_for(lambda: (neutron("lbaas-loadbalancer-show", "lb", "-f", "value", "-c",
                                            "provisioning_status").stdout.strip() == "ACTIVE", None), timeout=60)
    check("openstack loadbalancer pool set --session-persistence type=SOURCE_IP", r.returncode == 0 and ok, r.stderr)
    seen = {lab_.curl(client, url) for _ in range(6)}
    check("the client probe sticks to one member (%s)" % sorted(map(str, seen)), len(seen) == 1 and None not in seen,
          seen)

    survivor = None
    for n in range(1, KILLS + 1):
        survivor = kill_master(lab, tmp, lb, client, outside, n, survivor)
    kill_backup(tmp, lb, client)
    kill_both(lb, client)
    one_host(lab)

    # The VRRP ports go with the load balancer, and its namespaces.
    code, _ = lab_.api("DELETE", "/v2/lbaas/loadbalancers/%s?cascade=true" % lb["id"])
    check("DELETE the load balancer with cascade: 204", code == "204", code)

    def gone():
        ports = [p for p in njson("port-list") or [] if (p.get("name") or "").startswith("octavia-lb-vrrp-")]
        left = namespaces("amphora-") - lab.before
        return not ports and not left, (ports, sorted(left))

    ok, detail = wait_for(gone, timeout=60)
    check("its VRRP ports and amphora namespaces are gone with it", ok, detail)


def show_keepalived(tmp):
    """What the amphorae's keepalived said (kept in the logs of a failed run)."""
    for root, _, files in os.walk(tmp):
        if "keepalived.log" in files:
            with open(os.path.join(root, "keepalived.log")) as f:
                lines = [line.rstrip() for line in f if "STATE" in line or "advert" in line or "Stop" in line
                         or "Reload" in line]
            with open(os.path.join(root, "keepalived.conf")) as f:
                conf = f.read().split()
            lines.append("conf: priority %s, unicast_src_ip %s, peer %s" % (
                conf[conf.index("priority") + 1], conf[conf.index("unicast_src_ip") + 1],
                conf[conf.index("unicast_peer") + 2]))
            print("# keepalived of %s:\n#   %s" % (os.path.basename(root), "\n#   ".join(lines[-12:])))


def kill_master(lab, tmp, lb, client, outside, n, survivor):
    """Kills the MASTER's namespace (its processes, then the namespace) under a looping client;
    the BACKUP takes over, the record follows, the rebuilt one is BACKUP. Returns the new
    MASTER."""
    before = [a for a in amphora_list(lb["id"]) or [] if a.get("status") == "ALLOCATED"]
    master = [a["id"] for a in before if a.get("role") == "MASTER"]
    backup = [a["id"] for a in before if a.get("role") == "BACKUP"]
    if not check("kill %d: a MASTER and a BACKUP before" % n, len(master) == 1 and len(backup) == 1, before):
        return None
    if survivor and not check("kill %d: the last survivor is still MASTER (the rebuilt BACKUP did not "
                              "preempt it)" % n, master == [survivor], before):
        show_keepalived(tmp)
    targets = [lb["vip_address"]]
    if outside:
        targets.append(outside[0])
    stop, out = os.path.join(tmp, "looper-%d.stop" % n), os.path.join(tmp, "looper-%d.json" % n)
    loopers = [subprocess.Popen(["ip", "netns", "exec", client, "python3", "-c", LOOPER, lb["vip_address"],
                                 stop, out + ".vip"])]
    if outside:
        loopers.append(subprocess.Popen(["ip", "netns", "exec", outside[1], "python3", "-c", LOOPER, outside[0],
                                         stop, out + ".fip"]))
    # An established connection through the MASTER, to see what becomes of it.
    held = subprocess.Popen(["ip", "netns", "exec", client, "python3", "-c", HELD, lb["vip_address"], stop],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    # Two clients, each stuck to a member (through the VIP, and from outside through the
    # floating IP): round robin gives them different members.
    clients = [(client, "http://%s/" % lb["vip_address"])]
    if outside:
        clients.append((outside[1], "http://%s/" % outside[0]))
    stuck = [(ns_, url_, lab_.curl(ns_, url_)) for ns_, url_ in clients]
    ns = "amphora-" + master[0]
    killed = time.monotonic()
    lab_.kill_namespace(ns)

    def survivor_master():
        amps = amphora_list(lb["id"]) or []
        roles = {a["id"]: a.get("role") for a in amps}
        return roles.get(backup[0]) == "MASTER", roles

    ok, roles = wait_for(survivor_master, timeout=20, interval=0.1)
    took = time.monotonic() - killed
    check("kill %d: amphora list shows the BACKUP %s as MASTER after %.2f s" % (n, backup[0][:8], took), ok, roles)
    # The one stuck to web2 asks first: a new MASTER with an empty table would send the first
    # client it sees to the first member.
    stuck.sort(key=lambda s: s[2] != "you hit: web2")
    after = [(s[2], {lab_.curl(s[0], s[1]) for _ in range(4)}) for s in stuck]
    check("kill %d: each client stays with its member through the new MASTER (stick tables shared): %s"
          % (n, after), all(seen == {member} and member for member, seen in after), after)
    ok, detail = wait_for(lambda: roles_true(lb, gone=master), timeout=60)
    rebuilt = [a["id"] for a in (detail.get("amphorae", []) if isinstance(detail, dict) else [])
               if a["id"] not in (master[0], backup[0])]
    check("kill %d: the rebuilt amphora is BACKUP, roles match who holds the VIP (ip addr) after %.1f s"
          % (n, time.monotonic() - killed), ok and len(rebuilt) == 1, detail)
    time.sleep(1.0)
    open(stop, "w").close()
    for p in loopers:
        p.wait(timeout=30)
    try:
        held_out = held.communicate(timeout=30)[0].strip()
    except subprocess.TimeoutExpired:
        held.kill()
        held_out = "no answer"
    for suffix, what in ((".vip", "VIP %s" % lb["vip_address"]), (".fip", "floating IP")):
        try:
            with open(out + suffix) as f:
                seen = json.load(f)
        except (OSError, ValueError):
            continue
        t = list(seen["worst"])[0]
        print("# kill %d, through the %s: longest outage %.3f s (%d ok, %d failed; outages %s)"
              % (n, what, seen["worst"][t], seen["ok"][t], seen["fails"][t], seen["outages"][t]))
        check("kill %d: the client through the %s served again within 3 s" % (n, what),
              seen["ok"][t] > 0 and seen["worst"][t] < 3, seen)
    print("# kill %d: an established connection through the dead MASTER: %s" % (n, held_out))
    return backup[0]


def kill_backup(tmp, lb, client):
    """The BACKUP dies: it is rebuilt, and the MASTER's clients see nothing."""
    amps = [a for a in amphora_list(lb["id"]) or [] if a.get("status") == "ALLOCATED"]
    master = [a["id"] for a in amps if a.get("role") == "MASTER"]
    backup = [a["id"] for a in amps if a.get("role") == "BACKUP"]
    if not check("kill the BACKUP: a MASTER and a BACKUP before", len(master) == 1 and len(backup) == 1, amps):
        return
    stop, out = os.path.join(tmp, "looper-backup.stop"), os.path.join(tmp, "looper-backup.json")
    looper = subprocess.Popen(["ip", "netns", "exec", client, "python3", "-c", LOOPER, lb["vip_address"], stop, out])
    time.sleep(1.0)
    ns = "amphora-" + backup[0]
    lab_.kill_namespace(ns)
    ok, detail = wait_for(lambda: roles_true(lb, gone=backup), timeout=60)
    master_after = [a["id"] for a in detail.get("amphorae", []) if a.get("role") == "MASTER"] \
        if isinstance(detail, dict) else []
    check("kill the BACKUP: it is rebuilt as BACKUP, the MASTER stays MASTER", ok and master_after == master, detail)
    open(stop, "w").close()
    looper.wait(timeout=30)
    with open(out) as f:
        seen = json.load(f)
    t = lb["vip_address"]
    check("kill the BACKUP: the client through the VIP saw no failure (%d ok, longest gap %.3f s)"
          % (seen["ok"][t], seen["worst"][t]), seen["fails"][t] == 0 and seen["ok"][t] > 0, seen)


def one_host(lab):
    """With one eligible host, a new ACTIVE_STANDBY load balancer gets both amphorae there."""
    for i in range(1, lab_.HOSTS):
        neutron("agent-update", "--admin-state-down", hosts_by_id_rev().get("host-%d" % i, "-"))
    lb2 = njson("lbaas-loadbalancer-create", "--name", "lb2", "private-subnet") or {}

    def active():
        r = neutron("lbaas-loadbalancer-show", "lb2", "-f", "value", "-c", "provisioning_status")
        return r.stdout.strip() in ("ACTIVE", "ERROR"), r.stdout.strip()

    ok, status = wait_for(active, timeout=60)
    amps = []
    for a in amphora_list(lb2.get("id", "-")) or []:
        p = openstack("loadbalancer", "amphora", "show", a["id"], "-f", "json")
        amps.append(json.loads(p.stdout) if p.returncode == 0 else {})
    on = {hosts_by_id().get(a.get("compute_id")) for a in amps}
    check("one eligible host: lb2 ACTIVE with its MASTER and BACKUP both on host-0 (%s)" % sorted(map(str, on)),
          ok and status == "ACTIVE" and sorted(a.get("role") for a in amps) == ["BACKUP", "MASTER"]
          and on == {"host-0"}, amps)
    lab_.api("DELETE", "/v2/lbaas/loadbalancers/%s?cascade=true" % lb2.get("id", "-"))
    for i in range(1, lab_.HOSTS):
        r = openstack("network", "agent", "set", "--enable", hosts_by_id_rev().get("host-%d" % i, "-"))
        check("openstack network agent set --enable host-%d" % i, r.returncode == 0, r.stderr)


def hosts_by_id_rev():
    return {host: agent_id for agent_id, host in hosts_by_id().items()}


def kill_both(lb, client):
    """Both amphorae die at once: each is rebuilt, the first alone takes the VIP, and the
    pair ends with a true MASTER and BACKUP again."""
    amps = [a for a in amphora_list(lb["id"]) or [] if a.get("status") == "ALLOCATED"]
    killed = time.monotonic()
    for a in amps:
        ns = "amphora-" + a["id"]
        lab_.kill_namespace(ns)
    url = "http://%s/" % lb["vip_address"]
    ok, _ = wait_for(lambda: (lab_.curl(client, url) is not None, None), timeout=60)
    check("both killed at once: the VIP answers again after %.1f s" % (time.monotonic() - killed), ok)

    ok, detail = wait_for(lambda: roles_true(lb, gone={a["id"] for a in amps}), timeout=90)
    check("both killed at once: two new amphorae, MASTER and BACKUP, roles match who holds the VIP "
          "(%.1f s)" % (time.monotonic() - killed), ok, detail)


HELD = r"""
import os, socket, sys, time
vip, stop = sys.argv[1], sys.argv[2]
s = socket.create_connection((vip, 80), timeout=2)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(4096)
while not os.path.exists(stop):
    time.sleep(0.05)
try:
    s.settimeout(2)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    got = s.recv(4096)
    print("kept (answered %r)" % got.split(b"\r\n")[0] if got else "lost (closed by the new MASTER)")
except Exception as e:
    print("lost (%s)" % type(e).__name__)
"""


if __name__ == "__main__":
    sys.exit(main())
