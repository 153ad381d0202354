"""Certificates for the TLS tests, made with the openssl command line in a folder of the test's:
a CA of its own, server certificates it signs, and self-signed ones (which no CA vouches for).

    make_ca(folder)                                              # ca.pem, ca.key
    issue(folder, "localhost", "DNS:localhost,IP:127.0.0.1")     # localhost.pem, .key: by the CA
    self_signed(folder, "selfsigned", "DNS:localhost,IP:127.0.0.1")
"""
import os
import subprocess


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Postern Test CA",
            "-keyout", "ca.key", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)


def issue(folder, name, subject_alt_name, common_name=None):
    """<name>.pem and <name>.key, a server certificate for subject_alt_name signed by the CA."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={common_name or name}", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", cwd=folder)
    with open(os.path.join(folder, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={subject_alt_name}\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=folder)


def self_signed(folder, name, subject_alt_name, common_name="localhost"):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={common_name}",
            "-addext", f"subjectAltName={subject_alt_name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
            cwd=folder)
