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


def call(base, method, path, body=None, token=None):
    """One Keystone v3 call: (headers, JSON body or None)."""
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req, timeout=30) as r:
        data = r.read()
        return r.headers, (json.loads(data) if data else None)


def admin_token(base, password):
    headers, _ = call(base, "POST", "/v3/auth/tokens", {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    return headers["X-Subject-Token"]


def register(base, token, kind, url):
    """A service of type `kind` with its public, internal and admin endpoints at `url`."""
    svc = call(base, "POST", "/v3/services", {"service": {"type": kind, "name": kind, "enabled": True}},
               token)[1]["service"]["id"]
    for itf in ("public", "internal", "admin"):
        call(base, "POST", "/v3/endpoints", {"endpoint": {"service_id": svc, "interface": itf,
                                                          "region_id": "RegionOne", "url": url}}, token)


def main():
    ks, password, sets = sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3])
    lb = sys.argv[4] if len(sys.argv) > 4 else None
    if ks.endswith("/v3"):
        ks = ks[:-3]
    t = admin_token(ks, password)
    if lb:
        register(ks, t, "load-balancer", lb)
    roles = {r["name"]: r["id"] for r in call(ks, "GET", "/v3/roles", token=t)[1]["roles"]}
    for r in ("load-balancer_admin", "load-balancer_member", "load-balancer_observer",
              "load-balancer_global_observer"):
        if r not in roles:
            roles[r] = call(ks, "POST", "/v3/roles", {"role": {"name": r}}, t)[1]["role"]["id"]
    out = []

    def account(name, ks_roles, types=None):
        pid = call(ks, "POST", "/v3/projects", {"project": {"name": "p-" + name, "domain_id": "default"}},
                   t)[1]["project"]["id"]
        uid = call(ks, "POST", "/v3/users", {"user": {"name": name, "domain_id": "default",
                                                      "password": "secret"}}, t)[1]["user"]["id"]
        for r in ks_roles:
            call(ks, "PUT", "/v3/projects/%s/users/%s/roles/%s" % (pid, uid, roles[r]), token=t)
        e = {"username": name, "project_name": "p-" + name, "password": "secret", "roles": ks_roles}
        if types:
            e["types"] = types
        out.append(e)

    for s in range(sets):
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


if __name__ == "__main__":
    main()
