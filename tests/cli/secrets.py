#!/usr/bin/env python3
"""The key manager with the real `openstack secret …` commands (python-barbicanclient) against
`ostia up` with its built-in identity (the catalog names the key manager): store certificates
and keys, list, read a payload back, make certificate containers, and hand them to
`openstack loadbalancer listener create --protocol TERMINATED_HTTPS` with SNI certificates;
curl through TLS gets each name's certificate (checked with `openssl s_client -servername`)
and the member's answer, over h2 too; a PKCS12 secret and a key under a passphrase serve too;
TLS 1.0 is refused. MANDATORY client certificates refuse a client without one and tell the
member the DN (X-SSL-*); an HTTPS pool re-encrypts to an `openssl s_server` verified by its CA,
is DOWN with 503s under another CA, and serves again without one. A ref that does not load is
refused with Octavia's 400; deleting a secret removes it.

Environment: OSTIA_BIN (ostia binary), OPENSTACK (the `openstack` command), OSTIA_ENGINE
(native, the default, or haproxy: `ostia up --default-engine haproxy`, every load balancer served
by a haproxy of its own).
Prints `ok - …` / `not ok - …` per check and `N passed, N failed`; exits 1 on failure.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from certs import make_cert  # noqa: E402
from seed_003 import OSTIA_BIN, check, finish, free_port, get, wait_for  # noqa: E402

HOME = os.path.expanduser("~")
OPENSTACK = os.environ.get("OPENSTACK") or os.path.join(HOME, ".cache/ostia-venv/bin/openstack")
ENGINE = os.environ.get("OSTIA_ENGINE", "native")


class Run:
    def __init__(self, p):
        self.rc, self.out, self.err, self.ok = p.returncode, p.stdout, p.stderr, p.returncode == 0

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError:
            return None

    def detail(self):
        return "rc=%s out=%r err=%r" % (self.rc, self.out[-400:], self.err[-400:])


def main():
    for path, name in ((OSTIA_BIN, "OSTIA_BIN"), (OPENSTACK, "OPENSTACK")):
        if not os.access(path, os.X_OK):
            print("not ok - %s=%s is executable" % (name, path))
            print("0 passed, 1 failed")
            return 1
    tmp = tempfile.mkdtemp(prefix="ostia-secrets-")
    api, net, idp, hm, kmp = (free_port() for _ in range(5))
    log = open(os.path.join(tmp, "ostia.log"), "w")
    server = subprocess.Popen(
        [OSTIA_BIN, "up", "--data-dir", os.path.join(tmp, "data"),
         "--api-bind", "127.0.0.1:%d" % api, "--network-bind", "127.0.0.1:%d" % net,
         "--identity-bind", "127.0.0.1:%d" % idp, "--health-bind", "127.0.0.1:%d" % hm,
         "--key-manager-bind", "127.0.0.1:%d" % kmp,
         "--default-engine", ENGINE],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    clouds = os.path.join(tmp, "data", "clouds.yaml")
    backends = []

    def osc(*args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update({"OS_CLIENT_CONFIG_FILE": clouds, "OS_CLOUD": "ostia"})
        return Run(subprocess.run([OPENSTACK] + list(args), capture_output=True, text=True, timeout=120,
                                  env=env, stdin=subprocess.DEVNULL))

    try:
        ok, _ = wait_for(lambda: (get("http://127.0.0.1:%d/v3" % idp)[0] == 200 and os.path.exists(clouds), None))
        if not check("ostia up answers with its identity and wrote clouds.yaml", ok):
            return 1
        cert_pem, key_pem = make_cert(tmp, "www.example.com")
        api_cert_pem, api_key_pem = make_cert(tmp, "api.example.com")

        r = osc("secret", "store", "--name", "www-cert", "--secret-type", "certificate",
                "--payload-content-type", "text/plain", "--payload", cert_pem, "-f", "json")
        cert = (r.json() or {}).get("Secret href", "")
        check("openstack secret store --name www-cert (the certificate)",
              r.ok and cert.startswith("http://127.0.0.1:%d/v1/secrets/" % kmp), r.detail())
        r = osc("secret", "store", "--name", "www-key", "--secret-type", "private",
                "--payload-content-type", "text/plain", "--payload", key_pem, "-f", "value", "-c", "Secret href")
        key = r.out.strip()
        check("openstack secret store --name www-key (the key)", r.ok and key.startswith("http"), r.detail())
        r = osc("secret", "list", "-f", "json")
        names = sorted(s.get("Name") for s in r.json() or [])
        check("openstack secret list shows both", r.ok and names == ["www-cert", "www-key"], r.detail())
        r = osc("secret", "get", cert, "--payload", "-f", "value")
        check("openstack secret get --payload gives the certificate back",
              r.ok and r.out.strip() == cert_pem.strip(), r.detail())
        r = osc("secret", "get", cert, "-f", "json")
        check("openstack secret get: ACTIVE, type certificate", r.ok and (r.json() or {}).get("Status") == "ACTIVE"
              and (r.json() or {}).get("Secret type") == "certificate", r.detail())
        r = osc("secret", "container", "create", "--name", "www", "--type", "certificate",
                "--secret", "certificate=%s" % cert, "--secret", "private_key=%s" % key, "-f", "json")
        container = (r.json() or {}).get("Container href", "")
        check("openstack secret container create --type certificate", r.ok and "/v1/containers/" in container,
              r.detail())

        refs = []
        for name, pem in (("api-cert", api_cert_pem), ("api-key", api_key_pem)):
            r = osc("secret", "store", "--name", name, "--payload-content-type", "text/plain", "--payload", pem,
                    "-f", "value", "-c", "Secret href")
            refs.append(r.out.strip())
        r = osc("secret", "container", "create", "--name", "api", "--type", "certificate",
                "--secret", "certificate=%s" % refs[0], "--secret", "private_key=%s" % refs[1], "-f", "json")
        api_container = (r.json() or {}).get("Container href", "")
        check("a second container for api.example.com", r.ok and api_container, r.detail())

        r = osc("loadbalancer", "create", "--name", "lb", "--vip-subnet-id", "ostia-local-subnet", "--wait",
                "-f", "json")
        lb = (r.json() or {}).get("id", "")
        vip = (r.json() or {}).get("vip_address", "")
        check("loadbalancer create --wait", r.ok and lb, r.detail())
        r = osc("loadbalancer", "listener", "create", "--name", "https", "--protocol", "TERMINATED_HTTPS",
                "--protocol-port", "8443", "--default-tls-container-ref", container,
                "--sni-container-refs", api_container, "--wait", lb, "-f", "json")
        check("listener create --protocol TERMINATED_HTTPS --default-tls-container-ref --sni-container-refs --wait",
              r.ok and (r.json() or {}).get("default_tls_container_ref") == container
              and (r.json() or {}).get("provisioning_status") == "ACTIVE", r.detail())
        web_addr = "127.0.0.1:%d" % free_port()
        backends.append(subprocess.Popen([OSTIA_BIN, "backend", "--name", "web", "--bind", web_addr],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        r = osc("loadbalancer", "pool", "create", "--name", "p", "--listener", "https", "--protocol", "HTTP",
                "--lb-algorithm", "ROUND_ROBIN", "--wait")
        check("pool create --listener https", r.ok, r.detail())
        host, port = web_addr.rsplit(":", 1)
        r = osc("loadbalancer", "member", "create", "--address", host, "--protocol-port", port, "--wait", "p")
        check("member create (a backend on %s)" % web_addr, r.ok, r.detail())

        def curl(name):
            p = subprocess.run(["curl", "-sk", "--max-time", "5", "--resolve", "%s:8443:%s" % (name, vip),
                                "https://%s:8443/" % name], capture_output=True, text=True)
            return p.stdout

        def subject(name, *extra):
            p = subprocess.run(["openssl", "s_client", "-connect", "%s:8443" % vip, "-servername", name] + list(extra),
                               input="", capture_output=True, text=True, timeout=10)
            return p.stdout + p.stderr

        for name in ("www.example.com", "api.example.com"):
            ok, body = wait_for(lambda: ("you hit: web" in curl(name), curl(name)), timeout=20)
            check("curl --resolve %s https://%s:8443/ reaches the member" % (name, name), ok, body)
            out = subject(name)
            check("openssl s_client -servername %s gets the certificate of %s" % (name, name),
                  "subject=CN = %s" % name in out or "subject=CN=%s" % name in out, out[-600:])
        p = subprocess.run(["curl", "-sk", "--http2", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_version}",
                            "--resolve", "www.example.com:8443:%s" % vip, "https://www.example.com:8443/"],
                           capture_output=True, text=True)
        check("curl --http2 negotiates h2 (ALPN) and gets the member's answer", p.stdout.strip() == "2",
              p.stdout + p.stderr)
        out = subject("other.example.net")
        check("an unknown name gets the default certificate", "CN = www.example.com" in out
              or "CN=www.example.com" in out, out[-600:])
        out = subject("www.example.com", "-tls1")
        check("TLS 1.0 is refused (tls_versions TLSv1.2, TLSv1.3 by default)",
              "CN = www.example.com" not in out and "CN=www.example.com" not in out, out[-600:])
        # A PKCS12 bundle as one secret (as Octavia takes it), and a container whose key is
        # under a passphrase, added as SNI certificates by updating the listener.
        shop_cert, shop_key = make_cert(tmp, "shop.example.com")
        for name, pem in (("shop.pem", shop_cert), ("shop.key", shop_key)):
            open(os.path.join(tmp, name), "w").write(pem)
        p12 = subprocess.run(["openssl", "pkcs12", "-export", "-in", os.path.join(tmp, "shop.pem"), "-inkey",
                              os.path.join(tmp, "shop.key"), "-passout", "pass:"], capture_output=True, check=True)
        r = osc("secret", "store", "--name", "shop-p12", "--payload-content-type", "application/octet-stream",
                "--payload-content-encoding", "base64", "--payload", base64.b64encode(p12.stdout).decode(),
                "-f", "value", "-c", "Secret href")
        p12_ref = r.out.strip()
        check("openstack secret store a PKCS12 bundle (base64, application/octet-stream)", r.ok and p12_ref,
              r.detail())
        pay_cert, pay_key = make_cert(tmp, "pay.example.com")
        locked = subprocess.run(["openssl", "pkey", "-aes256", "-passout", "pass:s3cret"], input=pay_key,
                                capture_output=True, text=True, check=True).stdout
        refs = []
        for name, kind, payload in (("pay-cert", "certificate", pay_cert), ("pay-key", "private", locked),
                                    ("pay-pass", "passphrase", "s3cret")):
            r = osc("secret", "store", "--name", name, "--secret-type", kind, "--payload-content-type", "text/plain",
                    "--payload", payload, "-f", "value", "-c", "Secret href")
            refs.append(r.out.strip())
        r = osc("secret", "container", "create", "--name", "pay", "--type", "certificate",
                "--secret", "certificate=%s" % refs[0], "--secret", "private_key=%s" % refs[1],
                "--secret", "private_key_passphrase=%s" % refs[2], "-f", "json")
        pay_container = (r.json() or {}).get("Container href", "")
        check("a container whose key is under a passphrase (private_key_passphrase)", r.ok and pay_container,
              r.detail())
        r = osc("loadbalancer", "listener", "set", "--sni-container-refs", api_container, p12_ref, pay_container,
                "--wait", "https")
        check("listener set --sni-container-refs <container> <PKCS12 secret> <container with passphrase>", r.ok,
              r.detail())
        for name in ("shop.example.com", "pay.example.com", "api.example.com"):
            out = subject(name)
            check("openssl s_client -servername %s gets its certificate" % name,
                  "subject=CN = %s" % name in out or "subject=CN=%s" % name in out, out[-600:])
        ok, body = wait_for(lambda: ("you hit: web" in curl("shop.example.com"), curl("shop.example.com")),
                            timeout=20)
        check("curl through the PKCS12 certificate reaches the member", ok, body)
        r = osc("secret", "store", "--name", "junk", "--payload-content-type", "application/octet-stream",
                "--payload-content-encoding", "base64", "--payload", base64.b64encode(b"not a bundle").decode(),
                "-f", "value", "-c", "Secret href")
        r = osc("loadbalancer", "listener", "create", "--protocol", "TERMINATED_HTTPS", "--protocol-port", "9443",
                "--default-tls-container-ref", r.out.strip(), lb)
        check("a secret that is no PKCS12 bundle: 'Could not retrieve certificate'",
              not r.ok and "Could not retrieve certificate" in r.err, r.detail())
        client_certificates(osc, tmp, lb, vip, container, web_addr, backends)
        https_pool(osc, tmp, lb, vip, backends)
        missing = container.rsplit("/", 1)[0] + "/6f1b1b6e-0c9e-4a43-9a4c-2f1f0b3c1a10"
        r = osc("loadbalancer", "listener", "create", "--protocol", "TERMINATED_HTTPS", "--protocol-port", "9443",
                "--default-tls-container-ref", missing, lb)
        check("a ref that does not load: 'Could not retrieve certificate'",
              not r.ok and "Could not retrieve certificate" in r.err, r.detail())
        refused_configuration(osc, log.name, curl)
        r = osc("secret", "delete", key)
        check("openstack secret delete <key>", r.ok, r.detail())
        r = osc("secret", "list", "-f", "json")
        names = sorted(s.get("Name") for s in r.json() or [])
        check("openstack secret list no longer shows it",
              r.ok and "www-key" not in names and "www-cert" in names and "shop-p12" in names, r.detail())
    finally:
        code = finish(server, log, tmp, backends)
    return code


def refused_configuration(osc, log_path, curl):
    """A cipher list OpenSSL does not know (the API takes any outside its prohibit list): the data
    plane refuses it, the listener goes ERROR with the reason in the worker's log, and the
    listener keeps serving what it served."""
    r = osc("loadbalancer", "listener", "set", "--tls-ciphers", "NOT-A-CIPHER", "https")
    check("listener set --tls-ciphers NOT-A-CIPHER is accepted by the API", r.ok, r.detail())

    def status():
        r = osc("loadbalancer", "listener", "show", "https", "-f", "value", "-c", "provisioning_status")
        return (r.out.strip() == "ERROR", r.out.strip())
    ok, last = wait_for(status, timeout=20)
    check("... the data plane refuses it: the listener goes ERROR", ok, last)
    text = open(log_path, errors="replace").read()
    reason = ("unable to set SSL cipher list to 'NOT-A-CIPHER'" if ENGINE == "haproxy" else "NOT-A-CIPHER")
    check("... with the reason in the worker's log (%s)" % reason, reason in text, text[-800:])
    body = curl("www.example.com")
    check("... and the listener serves its previous configuration", "you hit: web" in body, body)


def openssl(tmp, *args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=tmp)


def make_ca(tmp, name):
    """A CA `name` (name.pem, name.key in tmp): its certificate PEM."""
    openssl(tmp, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".pem", "-days", "30", "-subj", "/CN=" + name)
    return open(os.path.join(tmp, name + ".pem")).read()


def issue(tmp, ca, name, subject, server=False):
    """name.pem/name.key signed by `ca`; a server certificate names `subject`'s CN in its SAN."""
    openssl(tmp, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", subject)
    ext = os.path.join(tmp, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\n" % subject.split("CN=")[1].split("/")[0] if server
                else "extendedKeyUsage=clientAuth\n")
    openssl(tmp, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "30", "-extfile", ext)


def store(osc, name, pem):
    r = osc("secret", "store", "--name", name, "--payload-content-type", "text/plain", "--payload", pem,
            "-f", "value", "-c", "Secret href")
    return r.out.strip()


def client_certificates(osc, tmp, lb, vip, container, web_addr, backends):
    """MANDATORY client certificates: refused without one, and the DN reaches the member."""
    ca_ref = store(osc, "client-ca", make_ca(tmp, "client-ca"))
    issue(tmp, "client-ca", "client-1", "/CN=client-1/O=Ostia")
    r = osc("loadbalancer", "listener", "create", "--name", "mtls", "--protocol", "TERMINATED_HTTPS",
            "--protocol-port", "9443", "--default-tls-container-ref", container, "--client-authentication",
            "MANDATORY", "--client-ca-tls-container-ref", ca_ref, "--insert-headers",
            "X-SSL-Client-DN=true,X-SSL-Client-CN=true,X-SSL-Client-Verify=true", "--wait", lb)
    check("listener create --client-authentication MANDATORY --client-ca-tls-container-ref --insert-headers",
          r.ok, r.detail())
    host, port = web_addr.rsplit(":", 1)
    r = osc("loadbalancer", "pool", "create", "--name", "p-mtls", "--listener", "mtls", "--protocol", "HTTP",
            "--lb-algorithm", "ROUND_ROBIN", "--wait")
    r2 = osc("loadbalancer", "member", "create", "--address", host, "--protocol-port", port, "--wait", "p-mtls")
    check("pool and member behind it", r.ok and r2.ok, r.detail() + r2.detail())

    def curl(*extra):
        return subprocess.run(["curl", "-sk", "--max-time", "5", "--resolve", "www.example.com:9443:%s" % vip]
                              + list(extra) + ["https://www.example.com:9443/headers"],
                              capture_output=True, text=True, cwd=tmp)

    ok, p = wait_for(lambda: (lambda p: ("x-ssl-client-dn" in p.stdout, p))(
        curl("--cert", "client-1.pem", "--key", "client-1.key")), timeout=20)
    check("curl --cert <client-1>: the member gets X-SSL-Client-DN /CN=client-1/O=Ostia",
          "x-ssl-client-dn: /CN=client-1/O=Ostia" in p.stdout and "x-ssl-client-cn: client-1" in p.stdout
          and "x-ssl-client-verify: 0" in p.stdout, p.stdout + p.stderr)
    p = curl()
    check("curl without a client certificate is refused in the handshake", p.returncode != 0 and not p.stdout,
          "rc=%s %s" % (p.returncode, p.stdout))


def https_pool(osc, tmp, lb, vip, backends):
    """An HTTPS pool re-encrypts to an openssl s_server; under another CA the member goes DOWN
    under its HTTPS monitor and requests get 503; without a CA nothing is verified again."""
    member_ca = store(osc, "member-ca", make_ca(tmp, "member-ca"))
    other_ca = store(osc, "other-ca", make_ca(tmp, "other-ca"))
    issue(tmp, "member-ca", "member", "/CN=member.example.com", server=True)
    port = free_port()
    backends.append(subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert",
                                      "member.pem", "-key", "member.key", "-www", "-quiet"], cwd=tmp,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL))
    r = osc("loadbalancer", "listener", "create", "--name", "reenc", "--protocol", "HTTP", "--protocol-port",
            "8081", "--wait", lb)
    r2 = osc("loadbalancer", "pool", "create", "--name", "p-tls", "--listener", "reenc", "--protocol", "HTTP",
             "--lb-algorithm", "ROUND_ROBIN", "--enable-tls", "--ca-tls-container-ref", member_ca, "--wait")
    check("pool create --enable-tls --ca-tls-container-ref <the member's CA>", r.ok and r2.ok,
          r.detail() + r2.detail())
    r = osc("loadbalancer", "healthmonitor", "create", "--type", "HTTPS", "--delay", "1", "--timeout", "1",
            "--max-retries", "1", "--max-retries-down", "1", "--url-path", "/", "--wait", "p-tls")
    r2 = osc("loadbalancer", "member", "create", "--name", "s_server", "--address", "127.0.0.1",
             "--protocol-port", str(port), "--wait", "p-tls")
    check("an HTTPS health monitor and the openssl s_server member", r.ok and r2.ok, r.detail() + r2.detail())

    def get():
        p = subprocess.run(["curl", "-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                            "http://%s:8081/" % vip], capture_output=True, text=True)
        return p.stdout.strip()

    def member_status():
        r = osc("loadbalancer", "member", "show", "p-tls", "s_server", "-f", "value", "-c", "operating_status")
        return r.out.strip()

    ok, code = wait_for(lambda: (get() == "200", get()), timeout=20)
    check("HTTP to the listener is re-encrypted to the member, verified by its CA: 200", ok, code)
    ok, status = wait_for(lambda: (member_status() == "ONLINE", member_status()), timeout=20)
    check("the member is ONLINE under the HTTPS monitor", ok, status)
    r = osc("loadbalancer", "pool", "set", "--ca-tls-container-ref", other_ca, "--wait", "p-tls")
    ok, status = wait_for(lambda: (member_status() == "ERROR", member_status()), timeout=20)
    check("pool set --ca-tls-container-ref <another CA>: the member goes DOWN (ERROR)", r.ok and ok, status)
    check("… and requests get 503", get() == "503", get())
    r = osc("loadbalancer", "pool", "unset", "--ca-tls-container-ref", "--wait", "p-tls")
    ok, status = wait_for(lambda: (member_status() == "ONLINE" and get() == "200", member_status()), timeout=20)
    check("pool unset --ca-tls-container-ref: nothing verified, ONLINE and 200 again", r.ok and ok,
          status + r.detail())


if __name__ == "__main__":
    sys.exit(main())
