#!/usr/bin/env python3
"""Keystone mode with certificates in another Barbican: a real Keystone, Ostia A (`--auth
keystone`, the load balancers) and Ostia B whose key manager is the one the catalog names
(`key-manager`), standing in for a cloud's Barbican (the same v1 wire API). A user stores a
certificate and key in B with `openstack secret store`, makes a container, and creates a
TERMINATED_HTTPS listener on A with that ref: A reads it from B with the user's token, the
amphora serves it (checked with curl and `openssl s_client`). A ref under an address that is
not the catalog's key manager is never fetched, and another project's user cannot use the
container: both get Octavia's 400.

Environment: OSTIA_BIN, OPENSTACK, OSTIA_KEYSTONE_VENV (keystone + gunicorn).
Prints `ok - …` / `not ok - …` per check and `N passed, N failed`; exits 1 on failure.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
from certs import make_cert  # noqa: E402
from provision import admin_token, call, register  # noqa: E402
from seed_003 import OSTIA_BIN, check, finish, free_port, get, wait_for  # noqa: E402

HOME = os.path.expanduser("~")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPENSTACK = os.environ.get("OPENSTACK") or os.path.join(HOME, ".cache/ostia-venv/bin/openstack")
KS_VENV = os.environ.get("OSTIA_KEYSTONE_VENV") or os.path.join(HOME, ".cache/ostia-conformance/ks")


def provision(ks, endpoints):
    """Two projects with a member each; the catalog's services at `endpoints` {type: url}."""
    t = admin_token(ks, "secret")
    for kind, url in endpoints.items():
        register(ks, t, kind, url)
    roles = {r["name"]: r["id"] for r in call(ks, "GET", "/v3/roles", token=t)[1]["roles"]}
    for name in ("tls", "other"):
        pid = call(ks, "POST", "/v3/projects", {"project": {"name": "p-" + name, "domain_id": "default"}},
                   t)[1]["project"]["id"]
        uid = call(ks, "POST", "/v3/users", {"user": {"name": name, "domain_id": "default", "password": "secret"}},
                   t)[1]["user"]["id"]
        for role in ("member", "reader"):
            call(ks, "PUT", "/v3/projects/%s/users/%s/roles/%s" % (pid, uid, roles[role]), token=t)


def main():
    for path, name in ((OSTIA_BIN, "OSTIA_BIN"), (OPENSTACK, "OPENSTACK"),
                       (os.path.join(KS_VENV, "bin/gunicorn"), "OSTIA_KEYSTONE_VENV")):
        if not os.access(path, os.X_OK):
            print("not ok - %s=%s is executable" % (name, path))
            print("0 passed, 1 failed")
            return 1
    tmp = tempfile.mkdtemp(prefix="ostia-barbican-")
    ksp = free_port()
    ks = "http://127.0.0.1:%d" % ksp
    keystone = subprocess.Popen([os.path.join(ROOT, "tests/conformance/keystone"), os.path.join(tmp, "ks"),
                                 str(ksp)], env=dict(os.environ, OSTIA_KEYSTONE_VENV=KS_VENV),
                                stdin=subprocess.DEVNULL, start_new_session=True)
    log = open(os.path.join(tmp, "ostia.log"), "w")
    ports = {side: [free_port() for _ in range(4)] for side in "ab"}

    def ostia(side, *extra):
        api, net, hm, km = ports[side]
        return subprocess.Popen(
            [OSTIA_BIN, "up", "--data-dir", os.path.join(tmp, side), "--auth", "keystone", "--keystone-url",
             ks + "/v3", "--api-bind", "127.0.0.1:%d" % api, "--network-bind", "127.0.0.1:%d" % net,
             "--health-bind", "127.0.0.1:%d" % hm, "--key-manager-bind", "127.0.0.1:%d" % km] + list(extra),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    servers, backends = [], []
    barbican = "http://127.0.0.1:%d" % ports["b"][3]

    def osc(user, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update({"OS_AUTH_URL": ks + "/v3", "OS_USERNAME": user, "OS_PASSWORD": "secret",
                    "OS_PROJECT_NAME": "p-" + user, "OS_USER_DOMAIN_NAME": "Default",
                    "OS_PROJECT_DOMAIN_NAME": "Default", "OS_IDENTITY_API_VERSION": "3",
                    "OS_REGION_NAME": "RegionOne"})
        p = subprocess.run([OPENSTACK] + list(args), capture_output=True, text=True, timeout=120, env=env,
                           stdin=subprocess.DEVNULL)
        return p.returncode == 0, p.stdout, p.stderr

    try:
        ok, _ = wait_for(lambda: (get(ks + "/v3")[0] == 200, None), timeout=90)
        if not check("a real Keystone answers", ok):
            return 1
        provision(ks, {"load-balancer": "http://127.0.0.1:%d" % ports["a"][0],
                       "network": "http://127.0.0.1:%d" % ports["a"][1], "key-manager": barbican})
        # B only keeps secrets; A runs the load balancers.
        servers.append(ostia("b", "--amphora", "noop", "--network-driver", "noop"))
        servers.append(ostia("a"))
        ok, _ = wait_for(lambda: (all(get("http://127.0.0.1:%d/" % ports[s][0])[0] == 200 for s in "ab"), None))
        check("Ostia A (load balancers) and Ostia B (the catalog's key manager) answer", ok)

        cert_pem, key_pem = make_cert(tmp, "secure.example.com")
        refs = []
        for name, pem in (("cert", cert_pem), ("key", key_pem)):
            ok, out, err = osc("tls", "secret", "store", "--name", name, "--payload-content-type", "text/plain",
                               "--payload", pem, "-f", "value", "-c", "Secret href")
            refs.append(out.strip())
        check("openstack secret store puts both in the catalog's key manager (B)",
              all(r.startswith(barbican + "/v1/secrets/") for r in refs), "%r %s" % (refs, err))
        ok, out, err = osc("tls", "secret", "container", "create", "--name", "secure", "--type", "certificate",
                           "--secret", "certificate=%s" % refs[0], "--secret", "private_key=%s" % refs[1],
                           "-f", "value", "-c", "Container href")
        container = out.strip()
        check("openstack secret container create in B", ok and container.startswith(barbican), err)

        ok, out, err = osc("tls", "loadbalancer", "create", "--name", "lb", "--vip-subnet-id",
                           "ostia-local-subnet", "--wait", "-f", "json")
        lb = json.loads(out) if ok else {}
        check("loadbalancer create --wait on A", lb.get("provisioning_status") == "ACTIVE", err)
        ok, out, err = osc("tls", "loadbalancer", "listener", "create", "--name", "https", "--protocol",
                           "TERMINATED_HTTPS", "--protocol-port", "8443", "--default-tls-container-ref", container,
                           "--wait", "lb", "-f", "json")
        check("listener create --default-tls-container-ref <B's container>: A reads it with the user's token",
              ok and json.loads(out).get("provisioning_status") == "ACTIVE", out + err)
        web = "127.0.0.1:%d" % free_port()
        backends.append(subprocess.Popen([OSTIA_BIN, "backend", "--name", "web", "--bind", web],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ok, _, err = osc("tls", "loadbalancer", "pool", "create", "--name", "p", "--listener", "https",
                         "--protocol", "HTTP", "--lb-algorithm", "ROUND_ROBIN", "--wait")
        host, port = web.rsplit(":", 1)
        ok2, _, err2 = osc("tls", "loadbalancer", "member", "create", "--address", host, "--protocol-port", port,
                           "--wait", "p")
        check("pool and member", ok and ok2, err + err2)
        vip = lb.get("vip_address", "")

        def curl():
            p = subprocess.run(["curl", "-sk", "--max-time", "5", "--resolve", "secure.example.com:8443:%s" % vip,
                                "https://secure.example.com:8443/"], capture_output=True, text=True)
            return p.stdout

        ok, body = wait_for(lambda: ("you hit: web" in curl(), curl()), timeout=20)
        check("curl https://secure.example.com:8443/ reaches the member", ok, body)
        p = subprocess.run(["openssl", "s_client", "-connect", "%s:8443" % vip, "-servername", "secure.example.com"],
                           input="", capture_output=True, text=True, timeout=10)
        check("openssl s_client sees the certificate stored in B",
              "CN = secure.example.com" in p.stdout or "CN=secure.example.com" in p.stdout, p.stdout[-500:])

        elsewhere = "http://127.0.0.1:%d/v1/containers/%s" % (ports["a"][3], container.rsplit("/", 1)[1])
        ok, out, err = osc("tls", "loadbalancer", "listener", "create", "--protocol", "TERMINATED_HTTPS",
                           "--protocol-port", "9443", "--default-tls-container-ref", elsewhere, "lb")
        check("a ref under an address that is not the catalog's key manager: 400, never fetched",
              not ok and "Could not retrieve certificate" in err, out + err)
        ok, out, err = osc("other", "loadbalancer", "create", "--name", "lb2", "--vip-subnet-id",
                           "ostia-local-subnet", "--wait", "-f", "value", "-c", "id")
        ok, out, err = osc("other", "loadbalancer", "listener", "create", "--protocol", "TERMINATED_HTTPS",
                           "--protocol-port", "8443", "--default-tls-container-ref", container, "lb2")
        check("another project's user cannot use the container: 400 'Could not retrieve certificate'",
              not ok and "Could not retrieve certificate" in err, out + err)
    finally:
        for s in servers[1:]:
            s.terminate()
            s.wait(timeout=10)
        try:
            os.killpg(keystone.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        keystone.wait(timeout=10)
        code = finish(servers[0] if servers else keystone, log, tmp, backends)
    return code


if __name__ == "__main__":
    sys.exit(main())
