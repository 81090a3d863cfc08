"""NET-01..04: the route to apis.mahkamahagung.go.id, layer by layer (letter step 2).

DNS (getent, the host's own resolution), TCP 443, a verified TLS handshake with the system
trust store (curl) and with PHP's own curl/openssl (what SIPP uses), and an HTTP answer. A
5xx answer is trouble on the Supreme Court's side (letter step 3), not the court's. When a
system PHP's curl extension made its request with libcurl's default CA bundle, that request
was also the system store's test and the collector does not repeat it with the curl command.
"""
from __future__ import annotations

from hostfacts import CURL_TLS_ERRORS

def test_NET_01(facts, target, verdict):
    """NET-01: the host resolves apis.mahkamahagung.go.id (getent: /etc/hosts, then DNS)."""
    api = target.data.get("api_host")
    net = facts.net
    if net.resolved:
        return verdict.ok(f"{api} -> {', '.join(net.resolved)}")
    why = {2: "name not found", 124: "lookup timed out"}.get(net.dns_rc, f"getent exit {net.dns_rc}")
    verdict.fail(f"{api} does not resolve on the host ({why}"
                 + (f": {net.dns_error}" if net.dns_error else "") + "); check /etc/resolv.conf")


def test_NET_02(facts, target, verdict):
    """NET-02: the host reaches apis.mahkamahagung.go.id on TCP 443."""
    api = target.data.get("api_host")
    http = facts.net.http
    if http is None:
        if facts.net.no_curl and facts.net.php_via:
            if facts.net.php_errno == 0 or facts.net.php_code:
                return verdict.ok(f"connected to {api}:443 (PHP; curl is not installed)")
        verdict.cannot("curl is not installed on the host: TCP 443 was not tested")
    if http.connected:
        return verdict.ok(f"connected to {http.ip or api}:443")
    verdict.fail(f"no TCP connection to {api}:443 ({', '.join(facts.net.resolved)}): "
                 f"{http.error or 'curl exit ' + str(http.rc)}")


def test_NET_03(facts, target, verdict):
    """NET-03: a verified TLS handshake succeeds with the system trust store and PHP's curl."""
    net = facts.net
    http = net.http
    seen, bad = [], False
    if http is None:
        seen.append("system store: not tested (curl not installed)")
    elif http.rc in CURL_TLS_ERRORS or (http.rc != 0 and http.code == 0 and http.connected):
        bad = True
        seen.append(f"system store: {CURL_TLS_ERRORS.get(http.rc, 'TLS failed')} ({http.error})")
    else:
        seen.append("system store: verified" + (" (PHP's curl used it)" if http.via == "php" else ""))
    if not net.php_via:
        seen.append("PHP: not installed")
    elif net.php_errno == 0:
        seen.append(f"PHP {net.php_via}: verified")
    else:
        bad = True
        seen.append(f"PHP {net.php_via}: failed ({net.php_error or 'error ' + str(net.php_errno)})")
    if bad:
        verdict.fail("; ".join(seen) + "; if the certificate is 'not yet valid' or 'expired', check the clock (CLK-01)")
    if http is None and not net.php_via:
        verdict.cannot("neither curl nor PHP is installed: TLS was not tested")
    verdict.ok("; ".join(seen))


def test_NET_04(facts, target, verdict):
    """NET-04: the API answers HTTP requests (a 5xx is trouble on the Supreme Court's side)."""
    http = facts.net.http
    if http is None:
        if facts.net.php_code:
            http_code = facts.net.php_code
        else:
            verdict.cannot("curl is not installed on the host: no HTTP request was made")
    else:
        http_code = http.code
    if http_code == 0:
        verdict.fail(f"no HTTP answer ({http.error if http else 'PHP'})")
    if http_code >= 500:
        pt = target.data.get("pt") or "the court's PT"
        verdict.fail(f"HTTP {http_code}: trouble on the Supreme Court's side, not this court's "
                     f"server; escalate through Satgas SIPP at {pt} (letter steps 3-4)")
    verdict.ok(f"HTTP {http_code}")
