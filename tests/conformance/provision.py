#!/usr/bin/env python3
"""Provision tempest's pre-provisioned accounts through a Keystone v3 admin API (a real
Keystone or Ostia's built-in identity) and print accounts.yaml.

    provision.py IDENTITY_URL ADMIN_PASSWORD SETS [LB_ENDPOINT]

With LB_ENDPOINT the load-balancer service and its endpoints are registered in the catalog
(a real Keystone needs that; the built-in identity lists this Ostia already). Stdlib only.
"""
import json
import sys
import urllib.request

KS, PASSWORD, SETS = sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3])
LB = sys.argv[4] if len(sys.argv) > 4 else None
if KS.endswith("/v3"):
    KS = KS[:-3]


def call(method, path, body=None, token=None):
    req = urllib.request.Request(KS + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req, timeout=30) as r:
        data = r.read()
        return r.headers, (json.loads(data) if data else None)


headers, _ = call("POST", "/v3/auth/tokens", {"auth": {"identity": {"methods": ["password"], "password": {
    "user": {"name": "admin", "domain": {"id": "default"}, "password": PASSWORD}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
T = headers["X-Subject-Token"]

if LB:
    svc = call("POST", "/v3/services", {"service": {"type": "load-balancer", "name": "octavia",
                                                     "enabled": True}}, T)[1]["service"]["id"]
    for itf in ("public", "internal", "admin"):
        call("POST", "/v3/endpoints", {"endpoint": {"service_id": svc, "interface": itf,
                                                    "region_id": "RegionOne", "url": LB}}, T)

roles = {r["name"]: r["id"] for r in call("GET", "/v3/roles", token=T)[1]["roles"]}
for r in ("load-balancer_admin", "load-balancer_member", "load-balancer_observer",
          "load-balancer_global_observer"):
    if r not in roles:
        roles[r] = call("POST", "/v3/roles", {"role": {"name": r}}, T)[1]["role"]["id"]

out = []


def account(name, ks_roles, types=None):
    pid = call("POST", "/v3/projects", {"project": {"name": "p-" + name, "domain_id": "default"}},
               T)[1]["project"]["id"]
    uid = call("POST", "/v3/users", {"user": {"name": name, "domain_id": "default",
                                              "password": "secret"}}, T)[1]["user"]["id"]
    for r in ks_roles:
        call("PUT", "/v3/projects/%s/users/%s/roles/%s" % (pid, uid, roles[r]), token=T)
    e = {"username": name, "project_name": "p-" + name, "password": "secret", "roles": ks_roles}
    if types:
        e["types"] = types
    out.append(e)


for s in range(SETS):
    for i in (1, 2):
        account("ta-admin-%d-%d" % (s, i), ["admin"], ["admin"])
    account("ta-observer-%d" % s, ["reader", "load-balancer_observer"])
    account("ta-gobserver-%d" % s, ["reader", "load-balancer_global_observer"])
    account("ta-primary-%d" % s, ["member"])
    for i in (1, 2):
        account("ta-member-%d-%d" % (s, i), ["member", "load-balancer_member"])
    account("ta-lbadmin-%d" % s, ["member", "load-balancer_admin"])
for e in out:
    print("- " + json.dumps(e))
