"""The lab's API stand-in and slow-link relay, run for real on loopback (no root needed)."""
from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import subprocess
import sys
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from cryptography import x509

from tepat import PROJECT_ROOT
from tepat.lab.pki import API_HOST, ensure_pki


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def pki(tmp_path):
    return ensure_pki(tmp_path / "pki")


def test_certificate_is_for_the_api_and_backdated(pki):
    cert = x509.load_pem_x509_certificate(pki["cert"].read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [API_HOST]
    # A host whose clock is hours behind must still accept it.
    assert cert.not_valid_before_utc < dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)


@pytest.fixture
def api(tmp_path, pki):
    port = _free_port()
    fail = tmp_path / "fail"
    fail.write_text("")
    proc = subprocess.Popen([sys.executable, "-m", "tepat.lab.api", "--bind", "127.0.0.1",
                             "--port", str(port), "--cert", str(pki["cert"]), "--key", str(pki["key"]),
                             "--fail-file", str(fail)], cwd=PROJECT_ROOT, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        yield port, fail
    finally:
        proc.terminate()
        proc.wait(5)


def _get(port: int, ca: Path) -> tuple[int, dict, dict]:
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=API_HOST) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {API_HOST}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


def test_api_answers_json_with_a_true_date_over_verified_tls(api, pki):
    port, _ = api
    before = time.time()
    status, headers, body = _get(port, pki["ca_cert"])
    assert status == 200 and body["status"] == "ok"
    assert before - 2 <= parsedate_to_datetime(headers["Date"]).timestamp() <= time.time() + 2


def test_api_refuses_verification_without_the_lab_ca(api, tmp_path):
    port, _ = api
    other = ensure_pki(tmp_path / "other")
    with pytest.raises(ssl.SSLCertVerificationError):
        _get(port, other["ca_cert"])


def test_api_answers_503_to_listed_sources(api, pki):
    port, fail = api
    fail.write_text("127.0.0.1\n")
    status, _, body = _get(port, pki["ca_cert"])
    assert status == 503 and body["status"] == "error"


def test_relay_forwards_every_byte_and_delays_it(tmp_path):
    echo_port, relay_port = _free_port(), _free_port()
    server = socket.socket()
    server.bind(("127.0.0.1", echo_port))
    server.listen()
    relay = subprocess.Popen([sys.executable, "-m", "tepat.lab.relay", "--listen", f"127.0.0.1:{relay_port}",
                              "--target", f"127.0.0.1:{echo_port}", "--delay-ms", "100"], cwd=PROJECT_ROOT)
    try:
        _wait_port(relay_port)
        server.accept()[0].close()  # the upstream side of _wait_port's probe
        client = socket.create_connection(("127.0.0.1", relay_port), timeout=10)
        upstream, _ = server.accept()
        payload = bytes(range(256)) * 4096  # 1 MiB
        start = time.monotonic()
        client.sendall(b"x")
        assert upstream.recv(1) == b"x"
        one_way = time.monotonic() - start
        assert one_way >= 0.1  # a lower bound: the delay exists
        upstream.sendall(payload)
        upstream.close()
        got = b""
        while chunk := client.recv(65536):
            got += chunk
        assert got == payload
        client.close()
    finally:
        relay.terminate()
        relay.wait(5)
        server.close()
