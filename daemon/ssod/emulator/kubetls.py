"""The Kubernetes API stub's TLS: a self-signed certificate for 127.0.0.1, made once per process.

kubectl runs exec plugins only for ``https`` servers, so the stub needs a certificate its
kubeconfig can trust (``certificate-authority-data``). It is made with the ``openssl`` command
(an EC P-256 key, valid two days, ``subjectAltName`` 127.0.0.1 and localhost) in a private
temporary directory that is removed once the context has loaded it; the key stays in memory.
"""

from __future__ import annotations

import functools
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple


class ServerTls(NamedTuple):
    """The server's TLS context and its certificate in PEM (the kubeconfig's CA)."""

    context: ssl.SSLContext
    certificate_pem: bytes


def available() -> bool:
    """Whether a certificate can be made here (the ``openssl`` command exists)."""
    return shutil.which("openssl") is not None


@functools.cache
def server_tls() -> ServerTls:
    """This process's certificate and server context (made on first use)."""
    with tempfile.TemporaryDirectory(prefix="ssod-kube-tls-") as tmp:
        key, cert = Path(tmp) / "key.pem", Path(tmp) / "cert.pem"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", str(key), "-out", str(cert), "-days", "2",
                "-subj", "/CN=ssod-emulator-kube-apiserver",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return ServerTls(context, cert.read_bytes())
