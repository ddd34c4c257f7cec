"""A local RFC 3161 time-stamping authority for tests: ``openssl ts -reply`` behind a small HTTP handler on
127.0.0.1, with its own CA and TSA certificates made by openssl in the test's folder (no internet)."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIG = """[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {folder}
serial = {folder}/serial
crypto_device = builtin
signer_cert = {folder}/tsa.pem
signer_key = {folder}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_authority(folder: Path, name: str = "tgvault test", *, chain: bool = False) -> None:
    """A CA (``ca.pem``) and a TSA certificate signed by it (``tsa.pem``, key ``tsa.key``), and ``tsa.cnf``.

    With ``chain``, the TSA certificate is signed by an intermediate CA (``intermediate.pem``, signed by
    the CA) and every reply embeds the whole chain (``certs =``), as many public TSAs send it."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
        "-subj", f"/CN={name} CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={name} TSA",
        cwd=folder,
    )  # fmt: skip
    (folder / "tsa.ext").write_text(
        "basicConstraints=CA:FALSE\nextendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n"
    )
    issuer = "ca"
    if chain:
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "intermediate.key", "-out", "intermediate.csr",
            "-subj", f"/CN={name} intermediate CA", cwd=folder,
        )  # fmt: skip
        (folder / "intermediate.ext").write_text(
            "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
        )
        _openssl(
            "x509", "-req", "-in", "intermediate.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "intermediate.pem", "-days", "30", "-extfile", "intermediate.ext", cwd=folder,
        )  # fmt: skip
        issuer = "intermediate"
    _openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", f"{issuer}.pem", "-CAkey", f"{issuer}.key", "-CAcreateserial",
        "-out", "tsa.pem", "-days", "30", "-extfile", "tsa.ext", cwd=folder,
    )  # fmt: skip
    (folder / "serial").write_text("01\n")
    config = CONFIG.format(folder=folder)
    if chain:
        config += f"certs = {folder}/intermediate.pem\n"
    (folder / "tsa.cnf").write_text(config)


@dataclass
class LocalTsa:
    """A running local TSA: its URL, its CA certificate, and the requests it answered."""

    url: str
    ca_file: Path
    answered: int = 0


@contextmanager
def local_tsa(folder: Path, *, chain: bool = False) -> Iterator[LocalTsa]:
    """Serve ``openssl ts -reply`` over HTTP on 127.0.0.1 until the block ends (``chain``: see
    :func:`make_authority`)."""
    make_authority(folder, chain=chain)
    tsa = LocalTsa(url="", ca_file=folder / "ca.pem")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock, tempfile.TemporaryDirectory(dir=folder) as work:
                (Path(work) / "q.tsq").write_bytes(query)
                _openssl(
                    "ts", "-reply", "-config", str(folder / "tsa.cnf"), "-queryfile", "q.tsq", "-out", "r.tsr",
                    cwd=Path(work),
                )  # fmt: skip
                reply = (Path(work) / "r.tsr").read_bytes()
                tsa.answered += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsr"
    try:
        yield tsa
    finally:
        server.shutdown()
        server.server_close()
