"""Self-signed certificates for the CLI tests, made with the real `openssl` command."""
import os
import subprocess


def make_cert(directory, name):
    """A P-256 certificate for `name` (CN and DNS SAN) and its key: (certificate PEM, key PEM)."""
    key, crt = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "30", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=DNS:" + name], check=True, capture_output=True)
    return open(crt).read(), open(key).read()
