#!/usr/bin/env python3
"""Replay seed 000 (Neutron LBaaS v1) with the real `neutron` CLI (python-neutronclient 9.0.0)
against a local Ostia (`--auth noauth`, the client's `OS_AUTH_TYPE=none`): a pool on the
subnet, three members, an HTTP monitor associated with the pool, a VIP, curl through it,
members leaving and joining as their servers stop and start, a floating IP on the VIP port and
curl through it. Then what v1 refuses, what the Octavia API sees of the same objects, and the
teardown.

By default on loopback CIDRs. With SEED_NETNS=<name> (the script then runs inside that network
namespace, which its caller created) on the seed's own 192.168.100.0/24 and 192.168.1.0/24:
the backends' addresses go on the namespace's lo, Ostia puts VIPs and floating IPs on its
`ostia0` (or lo), and after Ostia stops none of them is left.

Environment: OSTIA_BIN (ostia binary), NEUTRON (the `neutron` command), SEED_NETNS.
Prints `ok - …` / `not ok - …` per check and `N passed, N failed`; exits 1 on failure.
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_003 import (NETNS, NEUTRON, OSTIA_BIN, check, enter_checks, finish, get, neutron,  # noqa: E402
                      nothing_left, start_ostia, wait_for)

if NETNS:
    SAKURA, EXTERNAL, NET = "192.168.100.0/24", "192.168.1.0/24", "192.168.100."
else:
    SAKURA, EXTERNAL, NET = "127.62.100.0/24", "127.20.0.0/16", "127.62.100."
WEB = [NET + "165", NET + "166", NET + "167"]
CHOSEN = NET + "200"


def lb_api(api, path):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (api, path), headers={"X-Project-Id": "admin"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read().decode())
    except Exception as e:  # noqa: BLE001 - any failure is "no answer"
        return None, str(e)


def main():
    for path, name in ((OSTIA_BIN, "OSTIA_BIN"), (NEUTRON, "NEUTRON")):
        if not os.access(path, os.X_OK):
            print("not ok - %s=%s is executable" % (name, path))
            print("0 passed, 1 failed")
            return 1
    if not enter_checks(WEB):
        return 1
    tmp = tempfile.mkdtemp(prefix="ostia-seed000-")
    server, log, api, endpoint, _ = start_ostia(tmp)
    backends = {}
    vip, fip = {}, {}

    def start_backend(i):
        backends[i] = subprocess.Popen(
            [OSTIA_BIN, "backend", "--name", "web-server-%d" % (i + 1), "--bind", "%s:80" % WEB[i]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    try:
        ok, _ = wait_for(lambda: (get(endpoint + "/")[0] == 200, None))
        if not check("ostia up answers on the network endpoint", ok):
            return 1
        n = lambda *a: neutron(endpoint, *a)  # noqa: E731
        for i in range(3):
            start_backend(i)

        r = n("net-create", "sakura-network")
        check("net-create sakura-network", r.ok, r.detail())
        r = n("subnet-create", "--name", "sakura-subnet", "--allocation-pool",
              "start=%s2,end=%s254" % (NET, NET), "--dns-nameserver", "127.0.0.53",
              "sakura-network", SAKURA, "-f", "json")
        subnet = r.json() or {}
        check("subnet-create sakura-subnet", r.ok and subnet.get("id"), r.detail())
        r = n("subnet-show", subnet.get("id", ""), "-f", "json")
        check("subnet-show <id>: cidr and gateway", r.ok and (r.json() or {}).get("cidr") == SAKURA
              and (r.json() or {}).get("gateway_ip") == NET + "1", r.detail())

        r = n("lb-pool-create", "--name", "http-pool", "--lb-method", "ROUND_ROBIN", "--protocol", "HTTP",
              "--subnet-id", "sakura-subnet", "-f", "json")
        pool = r.json() or {}
        check("lb-pool-create --name http-pool --lb-method ROUND_ROBIN --protocol HTTP --subnet-id sakura-subnet",
              r.ok and pool.get("lb_method") == "ROUND_ROBIN" and pool.get("subnet_id") == subnet.get("id")
              and pool.get("status") in ("PENDING_CREATE", "ACTIVE") and pool.get("vip_id") in ("", None),
              r.detail())
        # Back to back, as the seed types them: v1 never refused a change for a busy pool.
        for addr in WEB:
            r = n("lb-member-create", "--address", addr, "--protocol-port", "80", "http-pool")
            check("lb-member-create --address %s --protocol-port 80 http-pool" % addr, r.ok, r.detail())

        def members_active():
            r = n("lb-member-list", "-f", "json")
            rows = r.json() or []
            return len(rows) == 3 and all(m.get("status") == "ACTIVE" for m in rows), r.detail()

        ok, detail = wait_for(members_active)
        check("lb-member-list: three members, weight 1, ACTIVE", ok, detail)
        r = n("lb-pool-show", "http-pool", "-f", "json")
        shown = r.json() or {}
        members = shown.get("members") or ""
        check("lb-pool-show http-pool lists the three members", r.ok and len(str(members).split()) == 3
              or (isinstance(members, list) and len(members) == 3), r.detail())

        r = n("lb-healthmonitor-create", "--delay", "5", "--type", "HTTP", "--max-retries", "3", "--timeout", "2",
              "-f", "json")
        mon = r.json() or {}
        check("lb-healthmonitor-create --delay 5 --type HTTP --max-retries 3 --timeout 2 (GET / 200)",
              r.ok and mon.get("http_method") == "GET" and mon.get("url_path") == "/"
              and str(mon.get("expected_codes")) == "200", r.detail())
        r = n("lb-healthmonitor-associate", mon.get("id", ""), "http-pool")
        check("lb-healthmonitor-associate <monitor> http-pool", r.ok and "Associated" in r.out, r.detail())
        r = n("lb-pool-show", "http-pool", "-f", "json")
        shown = r.json() or {}
        check("lb-pool-show: health_monitors and health_monitors_status name the monitor",
              r.ok and mon.get("id", "?") in str(shown.get("health_monitors"))
              and mon.get("id", "?") in str(shown.get("health_monitors_status")), r.detail())

        r = n("lb-vip-create", "--name", "http-vip", "--protocol-port", "80", "--protocol", "HTTP",
              "--subnet-id", "sakura-subnet", "http-pool", "-f", "json")
        vip = r.json() or {}
        check("lb-vip-create --name http-vip --protocol-port 80 --protocol HTTP --subnet-id sakura-subnet http-pool",
              r.ok and str(vip.get("address", "")).startswith(NET) and vip.get("port_id")
              and str(vip.get("connection_limit")) == "-1", r.detail())

        def vip_active():
            r = n("lb-vip-show", "http-vip", "-f", "json")
            return (r.json() or {}).get("status") == "ACTIVE", r.detail()

        ok, detail = wait_for(vip_active)
        check("lb-vip-show http-vip: ACTIVE", ok, detail)
        r = n("lb-vip-list", "-f", "json")
        check("lb-vip-list shows http-vip", r.ok and [v.get("name") for v in r.json() or []] == ["http-vip"],
              r.detail())

        def spread(url, want):
            def probe():
                seen = set()
                for _ in range(9):
                    st, body = get(url)
                    if st == 200:
                        seen.add(body.strip().replace("you hit: ", ""))
                return seen == want, seen
            return probe

        all3 = {"web-server-1", "web-server-2", "web-server-3"}
        url = "http://%s/" % vip.get("address")
        ok, seen = wait_for(spread(url, all3), timeout=30)
        check("curl to the VIP %s reaches all three web servers" % vip.get("address"), ok, seen)

        # Faster checks than the seed's 5 s, so that a stopped server leaves in seconds.
        r = n("lb-healthmonitor-update", mon.get("id", ""), "--delay", "1", "--timeout", "1")
        check("lb-healthmonitor-update <monitor> --delay 1 --timeout 1", r.ok, r.detail())
        r = n("lb-healthmonitor-show", mon.get("id", ""), "-f", "json")
        check("lb-healthmonitor-show: delay 1, associated with http-pool",
              r.ok and str((r.json() or {}).get("delay")) == "1" and pool.get("id", "?") in r.out, r.detail())
        backends[2].kill()
        backends[2].wait()
        ok, seen = wait_for(spread(url, all3 - {"web-server-3"}), timeout=30)
        check("web-server-3 stopped: the VIP answers from the other two only", ok, seen)

        def member_status(addr, want):
            def probe():
                r = n("lb-member-list", "-f", "json")
                rows = [m for m in r.json() or [] if m.get("address") == addr]
                return bool(rows) and rows[0].get("status") == want, r.detail()
            return probe

        ok, detail = wait_for(member_status(WEB[2], "INACTIVE"), timeout=30)
        check("lb-member-list: the stopped server's member is INACTIVE", ok, detail)
        start_backend(2)
        ok, seen = wait_for(spread(url, all3), timeout=30)
        check("web-server-3 started again: it is back behind the VIP", ok, seen)

        if NETNS:
            # The seed's floating IPs come from 192.168.1.0/24: an external network of that range.
            external, router = "ext-net", "router1"
            r = n("net-create", external, "--router:external")
            check("net-create ext-net --router:external", r.ok, r.detail())
            r = n("subnet-create", "--name", "ext-subnet", "--disable-dhcp", external, EXTERNAL)
            check("subnet-create ext-subnet %s" % EXTERNAL, r.ok, r.detail())
            r = n("router-create", router)
            check("router-create router1", r.ok, r.detail())
            r = n("router-gateway-set", router, external)
            check("router-gateway-set router1 ext-net", r.ok, r.detail())
        else:
            # Out of the box: `provider` (127.20.0.0/16) behind `ostia-router`.
            external, router = "provider", "ostia-router"
        r = n("router-interface-add", router, "sakura-subnet")
        check("router-interface-add %s sakura-subnet" % router, r.ok, r.detail())
        r = n("floatingip-create", external, "-f", "json")
        fip = r.json() or {}
        check("floatingip-create %s" % external, r.ok and fip.get("id"), r.detail())
        r = n("floatingip-list", "-f", "json")
        check("floatingip-list shows it unassociated", r.ok and any(
            f.get("id") == fip.get("id") and not f.get("port_id") for f in r.json() or []), r.detail())
        r = n("floatingip-associate", fip.get("id", ""), vip.get("port_id", ""))
        check("floatingip-associate <fip> <VIP port_id>", r.ok, r.detail())
        r = n("floatingip-list", "-f", "json")
        check("floatingip-list: fixed_ip_address is the VIP", r.ok and any(
            f.get("id") == fip.get("id") and f.get("fixed_ip_address") == vip.get("address")
            for f in r.json() or []), r.detail())
        furl = "http://%s/" % fip.get("floating_ip_address")
        ok, seen = wait_for(spread(furl, all3), timeout=30)
        check("curl to the floating IP %s reaches all three web servers" % fip.get("floating_ip_address"), ok, seen)

        # The same objects through the Octavia API.
        st, body = lb_api(api, "/v2/lbaas/pools/%s" % pool.get("id"))
        check("Octavia API: the v1 pool is an Octavia pool with three members and the monitor",
              st == 200 and len(body["pool"]["members"]) == 3 and body["pool"]["healthmonitor_id"],
              body)
        st, body = lb_api(api, "/v2/lbaas/listeners/%s" % vip.get("id"))
        check("Octavia API: the VIP is a listener HTTP:80 whose default pool is http-pool",
              st == 200 and body["listener"]["protocol_port"] == 80
              and body["listener"]["default_pool_id"] == pool.get("id"), body)
        r = n("lb-pool-stats", "http-pool", "-f", "json")
        check("lb-pool-stats http-pool counts the requests", r.ok and int((r.json() or {}).get(
            "total_connections", 0)) > 0, r.detail())

        # What v1 refuses.
        r = n("lb-vip-create", "--name", "again", "--protocol-port", "81", "--protocol", "HTTP",
              "--subnet-id", "sakura-subnet", "http-pool")
        check("a second VIP for http-pool: 'Another Vip already exists'", not r.ok
              and "Another Vip already exists" in r.out + r.err, r.detail())
        r = n("lb-pool-delete", "http-pool")
        check("lb-pool-delete with its VIP: 'still in use'", not r.ok and "still in use" in r.out + r.err,
              r.detail())
        r = n("lb-member-create", "--address", WEB[0], "--protocol-port", "eighty", "http-pool")
        check("lb-member-create --protocol-port eighty: 400", not r.ok and r.rc == 1, r.detail())
        r = n("lb-healthmonitor-create", "--delay", "5", "--type", "HTTP", "--max-retries", "11", "--timeout", "2")
        check("lb-healthmonitor-create --max-retries 11: 'not in range 1 through 10'", not r.ok
              and "1 through 10" in r.out + r.err, r.detail())
        r = n("lb-pool-create", "--name", "bad", "--lb-method", "RANDOM", "--protocol", "HTTP",
              "--subnet-id", "sakura-subnet")
        check("lb-pool-create --lb-method RANDOM is refused by the client or the server", not r.ok, r.detail())
        r = n("lb-healthmonitor-associate", mon.get("id", ""), "http-pool")
        check("associating the monitor twice: 409 already associated", not r.ok
              and "already associated" in r.out + r.err, r.detail())

        # A VIP with a chosen address on a pool of its own: the load balancer moves there.
        r = n("lb-pool-create", "--name", "tcp-pool", "--lb-method", "LEAST_CONNECTIONS", "--protocol", "TCP",
              "--subnet-id", "sakura-subnet")
        check("lb-pool-create tcp-pool", r.ok, r.detail())
        r = n("lb-member-create", "--address", WEB[0], "--protocol-port", "80", "tcp-pool")
        check("lb-member-create in tcp-pool", r.ok, r.detail())
        r = n("lb-vip-create", "--name", "x", "--protocol-port", "81", "--protocol", "HTTP",
              "--subnet-id", "sakura-subnet", "tcp-pool")
        check("a VIP whose protocol differs from the pool's: 400 'does not match'",
              not r.ok and "does not match" in r.out + r.err, r.detail())
        r = n("lb-vip-create", "--name", "tcp-vip", "--protocol-port", "8080", "--protocol", "TCP",
              "--address", CHOSEN, "--subnet-id", "sakura-subnet", "tcp-pool", "-f", "json")
        tvip = r.json() or {}
        check("lb-vip-create --address %s: the VIP has that address" % CHOSEN,
              r.ok and tvip.get("address") == CHOSEN, r.detail())
        ok, seen = wait_for(spread("http://%s:8080/" % CHOSEN, {"web-server-1"}), timeout=30)
        check("curl to the chosen address reaches tcp-pool's member", ok, seen)

        # Teardown, bottom up as v1 wants it.
        for step in (("lb-vip-delete", "tcp-vip"), ("lb-pool-delete", "tcp-pool"),
                     ("floatingip-disassociate", fip.get("id", "")),
                     ("lb-vip-delete", "http-vip"),
                     ("lb-healthmonitor-disassociate", mon.get("id", ""), "http-pool"),
                     ("lb-healthmonitor-delete", mon.get("id", "")),
                     ("lb-pool-delete", "http-pool")):
            r = n(*step)
            check(" ".join(step[:1] + step[1:2] if len(step) < 3 else step[:1] + ("<monitor>", step[2])),
                  r.ok, r.detail())

        def gone():
            st, body = lb_api(api, "/v2/lbaas/loadbalancers")
            live = [lb for lb in (body or {}).get("loadbalancers", []) if lb["provisioning_status"] != "DELETED"] \
                if st == 200 else None
            return live == [], body

        ok, detail = wait_for(gone, timeout=30)
        check("after lb-pool-delete the Octavia API shows no load balancer", ok, detail)
        r = n("lb-pool-list", "-f", "json")
        check("lb-pool-list is empty", r.ok and (r.json() or []) == [], r.detail())
        r = n("lb-healthmonitor-list", "-f", "json")
        check("lb-healthmonitor-list is empty", r.ok and (r.json() or []) == [], r.detail())
    finally:
        served = {vip.get("address"), fip.get("floating_ip_address"), CHOSEN}
        code = finish(server, log, tmp, list(backends.values()),
                      (lambda: nothing_left(served)) if NETNS else None)
    return code

if __name__ == "__main__":
    sys.exit(main())
