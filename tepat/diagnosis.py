"""What a court should do about its check result, following steps 1-4 of the letter.

Badilum letter 720/DJU/TI1.1/III/2025 orders the search for why appeals do not sync: first
the server's time settings (step 1: PHP ``date.timezone``, the OS date and time), then its
connection to apis.mahkamahagung.go.id (step 2); when both are right, the queue at the
Supreme Court (step 3), escalated through the high court's Satgas SIPP (step 4).
``diagnose`` turns one ``HostResult`` into findings in that order, each naming who acts and
how, in English or in Bahasa Indonesia (the formal register of court correspondence).

Root causes come first; a failure that follows from another (NET-03 after NET-01) is folded
under its root cause instead of being reported as a second fault.

Example::

    >>> d = diagnose(host, lang="id")
    >>> print(d.text())
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from tepat.controls import CONTROLS
from tepat.results import ControlResult, HostResult

LANGS = ("en", "id")
API_HOST = "apis.mahkamahagung.go.id"

# Controls that `tepat fix` (deploy.py) puts right on the server itself: letter step 1.
_LOCAL = ("PHP-TZ-01", "OS-TZ-01", "OS-TZ-02", "OS-TZ-03", "NTP-01", "NTP-02", "NTP-03",
          "CLK-01", "SVC-01")
_NETWORK = ("NET-01", "NET-02", "NET-03", "NET-04")

# Short names of what each control looks at, for one-line summaries ("wrong: NTP sources").
CONTROL_NAMES: dict[str, tuple[str, str]] = {  # id -> (en, id)
    "PHP-TZ-01": ("PHP date.timezone", "date.timezone PHP"),
    "OS-TZ-01": ("OS time zone", "zona waktu sistem operasi"),
    "OS-TZ-02": ("/etc/timezone", "/etc/timezone"),
    "OS-TZ-03": ("hardware clock (RTC) mode", "mode jam perangkat keras (RTC)"),
    "NTP-01": ("chrony service", "layanan chrony"),
    "NTP-02": ("NTP sources", "sumber waktu NTP"),
    "NTP-03": ("NTP synchronisation", "sinkronisasi NTP"),
    "CLK-01": ("system clock", "jam sistem"),
    "NET-01": ("DNS", "DNS"),
    "NET-02": ("TCP 443", "TCP 443"),
    "NET-03": ("TLS", "TLS"),
    "NET-04": ("API answer", "jawaban API"),
    "DB-TZ-01": ("database time zone", "zona waktu basis data"),
    "SVC-01": ("service restarts", "mulai ulang layanan"),
}

_STATUS = {
    "compliant": ("compliant", "sesuai"),
    "non_compliant": ("non-compliant", "tidak sesuai"),
    "unreachable": ("unreachable", "tidak dapat dihubungi"),
    "pass": ("pass", "lulus"),
    "fail": ("fail", "gagal"),
    "skip": ("skipped", "dilewati"),
    "error": ("error", "galat"),
}


_REASONS = {
    "no_address": ("no address", "tanpa alamat"),
    "auth": ("authentication failed", "autentikasi gagal"),
    "host_key": ("host key changed", "kunci host berubah"),
    "no_route": ("no route", "tidak ada rute"),
    "timeout": ("timed out", "batas waktu habis"),
    "refused": ("connection refused", "koneksi ditolak"),
    "other": ("other error", "galat lain"),
}

# Long error text (a whole remote command's output) would drown the finding; the JSON
# report keeps it whole.
_MAX_DETAIL = 400


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[LANGS.index(lang)]


def status_label(status: str, lang: str = "en") -> str:
    """A host or control status as people read it: ``non_compliant`` -> "tidak sesuai"."""
    return _pick(_STATUS[status], lang) if status in _STATUS else status


def reason_label(reason: str | None, lang: str = "en") -> str:
    """Why a host was unreachable, as people read it: ``host_key`` -> "host key changed"."""
    return _pick(_REASONS.get(reason or "other", _REASONS["other"]), lang)


def control_name(control_id: str, lang: str = "en") -> str:
    """A control's short name: ``NTP-03`` -> "NTP synchronisation"."""
    pair = CONTROL_NAMES.get(control_id)
    return _pick(pair, lang) if pair else control_id


@dataclass
class Finding:
    """One root cause (or the all-clear), with what to do about it."""

    kind: str  # local_config | database | network | supreme_court | check_error | queue | unreachable
    step: str  # the letter's step it follows: "1", "2", "3-4", "" (host not checked)
    title: str  # what is wrong, one sentence
    action: str  # who does what
    controls: list[str] = field(default_factory=list)  # root-cause control ids
    folded: list[str] = field(default_factory=list)  # failures that follow from them
    details: list[str] = field(default_factory=list)  # "ID: detail" from the host (untrusted text)


@dataclass
class Diagnosis:
    court_id: str
    court_name: str
    pt: str
    status: str
    lang: str
    findings: list[Finding]

    @property
    def headline(self) -> str:
        """The first finding's title: the thing to look at first."""
        return self.findings[0].title if self.findings else ""

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self, indent: str = "") -> str:
        """Plain text, one numbered finding after another, for terminals and mail."""
        lines = []
        for n, f in enumerate(self.findings, 1):
            lines.append(f"{indent}{n}. {f.title}")
            lines.append(f"{indent}   {f.action}")
            lines.extend(f"{indent}   - {d}" for d in f.details)
        return "\n".join(lines)


def _en_id(lang: str, en: str, id_: str) -> str:
    return id_ if lang == "id" else en


def _root_of(c: ControlResult, failing: dict[str, ControlResult]) -> str:
    """The failing control that ``c`` ultimately follows from (``c.id`` when it is a root)."""
    seen = {c.id}
    current = c
    while True:
        parent = current.root_cause if current.root_cause in failing else None
        if parent is None:
            # The suite should name the root cause; if it did not, the registry's
            # dependencies still tell which failing control this one cannot work without.
            deps = CONTROLS[current.id].depends_on if current.id in CONTROLS else ()
            parent = next((d for d in deps if d in failing), None)
        if parent is None or parent in seen:
            return current.id
        seen.add(parent)
        current = failing[parent]


def _fix_command(host: HostResult, inventory: str | None, extra: str = "") -> str:
    """The command that fixes this court, run the way this check was run: on this machine
    (no inventory), through the same inventory, or by address (laptop mode: "host ADDR")."""
    # Without a court (a plain `tepat check` on this machine) the person must name theirs.
    court = (f'--court "{host.court_name}"' if host.pt else '--court "PN <your court>"')
    if inventory and inventory.startswith("host "):
        return f"`tepat fix {court} --host {inventory.removeprefix('host ')}{extra}`"
    if inventory and inventory != "local":
        return f"`tepat fix -i {inventory} {court}{extra}`"
    return f"`tepat fix {court}{extra}`"


def _pt(host: HostResult) -> str:
    return host.pt or "PT"


def diagnose(host: HostResult, lang: str = "en", inventory: str | None = None) -> Diagnosis:
    """The findings for one host, root causes first, in the order of the letter's steps.

    ``inventory`` is ``RunResult.inventory`` (a file, "local", or "host ADDR"): the fix
    command is then given the way the check was run.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")
    if host.status == "unreachable":
        findings = [_unreachable(host, lang, inventory)]
    else:
        findings = _findings(host, lang, inventory)
    return Diagnosis(host.court_id, host.court_name, host.pt, host.status, lang, findings)


def _findings(host: HostResult, lang: str, inventory: str | None) -> list[Finding]:
    failing = {c.id: c for c in host.controls if c.status in ("fail", "error")}
    if not failing:
        return [_queue(host, lang)]
    roots: dict[str, list[ControlResult]] = {}
    for c in host.controls:
        if c.id in failing:
            roots.setdefault(_root_of(c, failing), []).append(c)

    def group(ids: list[str]) -> tuple[list[str], list[str], list[str]]:
        """(root ids, folded ids, detail lines) for these roots, in registry order."""
        folded, details = [], []
        for rid in ids:
            for c in roots[rid]:
                if c.id == rid:
                    details.append(f"{c.id}: {_clip(c.detail)}" if c.detail else c.id)
                else:
                    folded.append(c.id)
                    details.append(
                        _en_id(lang, f"{c.id} (follows from {rid})", f"{c.id} (akibat {rid})")
                    )
        return ids, folded, details

    errors = [r for r in roots if failing[r].status == "error"]
    failed = [r for r in roots if r not in errors]
    findings: list[Finding] = []

    local = [r for r in failed if r in _LOCAL or r not in CONTROLS]
    if local:
        findings.append(_local_config(host, lang, inventory, *group(local)))
    if "DB-TZ-01" in failed:
        findings.append(_database(host, lang, inventory, *group(["DB-TZ-01"])))
    for rid in [r for r in _NETWORK if r in failed]:
        findings.append(_network(host, lang, rid, failing, *group([rid])))
    if errors:
        findings.append(_check_error(lang, *group(errors)))
    return findings


def _names(ids: list[str], lang: str) -> str:
    return ", ".join(control_name(i, lang) for i in ids)


def _local_config(host, lang, inventory, ids, folded, details) -> Finding:
    fix = _fix_command(host, inventory)
    action = _en_id(
        lang,
        f"Fix with {fix} (central IT or the court's technician), then run the check again.",
        f"Lakukan perbaikan dengan {fix} (oleh TI pusat atau teknisi pengadilan), lalu jalankan "
        "pemeriksaan kembali.",
    )
    if "CLK-01" in ids and "NTP-01" not in ids:
        action += _en_id(
            lang,
            " If the clock is still off after the fix, look for a process faking the time "
            "(FAKETIME, LD_PRELOAD).",
            " Apabila jam masih tidak tepat setelah perbaikan, periksa apakah ada proses yang "
            "memalsukan waktu (FAKETIME, LD_PRELOAD).",
        )
    return Finding(
        "local_config", "1",
        _en_id(
            lang,
            f"The server's time settings are wrong (letter step 1): {_names(ids, lang)}.",
            f"Pengaturan waktu pada server tidak sesuai (surat butir 1): {_names(ids, lang)}.",
        ),
        action, ids, folded, details,
    )


def _database(host, lang, inventory, ids, folded, details) -> Finding:
    fix = _fix_command(host, inventory, " --restart-database")
    return Finding(
        "database", "1",
        _en_id(
            lang,
            "The MariaDB/MySQL time zone disagrees with the court's local time (letter step 1b).",
            "Zona waktu basis data MariaDB/MySQL tidak sesuai dengan waktu setempat pengadilan "
            "(surat butir 1b).",
        ),
        _en_id(
            lang,
            "Set default-time-zone = SYSTEM in the database server's configuration and restart "
            f"the database in a maintenance window ({fix}).",
            "Atur default-time-zone = SYSTEM pada konfigurasi server basis data, lalu mulai "
            f"ulang basis data pada jam pemeliharaan ({fix}).",
        ),
        ids, folded, details,
    )


_HTTP_5XX = re.compile(r"\b(5\d\d)\b")


def _network(host, lang, rid, failing, ids, folded, details) -> Finding:
    admin = _en_id(lang, "The court's network administrator should ",
                   "Administrator jaringan pengadilan agar ")
    if rid == "NET-01":
        return Finding(
            "network", "2",
            _en_id(lang,
                   f"The server cannot resolve {API_HOST} (letter step 2: DNS).",
                   f"Server tidak dapat menemukan alamat {API_HOST} melalui DNS "
                   "(surat butir 2: DNS)."),
            admin + _en_id(
                lang,
                "check /etc/resolv.conf on the server and that the DNS servers it names answer "
                f"for public names (`getent hosts {API_HOST}`).",
                "memeriksa berkas /etc/resolv.conf pada server dan memastikan server DNS yang "
                f"tercantum di dalamnya dapat menjawab nama publik (`getent hosts {API_HOST}`)."),
            ids, folded, details,
        )
    if rid == "NET-02":
        return Finding(
            "network", "2",
            _en_id(lang,
                   f"The server finds {API_HOST} but cannot reach it on TCP port 443 "
                   "(letter step 2: TCP).",
                   f"Server dapat menemukan alamat {API_HOST}, tetapi tidak dapat terhubung ke "
                   "port TCP 443 (surat butir 2: TCP)."),
            admin + _en_id(
                lang,
                "allow outbound TCP 443 from the server to the API's addresses in the firewall, "
                "and check the default route and any HTTP proxy.",
                "membuka akses keluar TCP 443 dari server ke alamat API pada firewall, serta "
                "memeriksa rute bawaan (default route) dan proksi HTTP yang digunakan."),
            ids, folded, details,
        )
    if rid == "NET-03":
        action = admin + _en_id(
            lang,
            "update the CA certificates on the server (the ca-certificates package) and make "
            "sure no proxy or firewall intercepts HTTPS.",
            "memperbarui sertifikat CA pada server (paket ca-certificates) dan memastikan tidak "
            "ada proksi atau firewall yang menyadap lalu lintas HTTPS.")
        if "CLK-01" in failing:
            action += _en_id(
                lang,
                " The server's clock is also wrong (CLK-01): fix it first, since a wrong clock "
                "makes valid certificates look expired.",
                " Jam server juga tidak tepat (CLK-01): perbaiki terlebih dahulu, karena jam "
                "yang salah membuat sertifikat yang sah tampak kedaluwarsa.")
        return Finding(
            "network", "2",
            _en_id(lang,
                   f"The TLS (HTTPS) connection to {API_HOST} cannot be verified "
                   "(letter step 2: TLS).",
                   f"Koneksi TLS (HTTPS) ke {API_HOST} tidak dapat diverifikasi "
                   "(surat butir 2: TLS)."),
            action, ids, folded, details,
        )
    # NET-04: the API itself. A 5xx is the Supreme Court's side (letter step 3), anything
    # else (no HTTP answer, a proxy's page) is still the court's network.
    code = _HTTP_5XX.search(failing[rid].detail or "")
    if code:
        pt = _pt(host)
        return Finding(
            "supreme_court", "3-4",
            _en_id(lang,
                   f"The Supreme Court's API answers HTTP {code.group(1)}: the fault is on the "
                   "Supreme Court's side, not this court's server (letter step 3).",
                   f"API Mahkamah Agung menjawab HTTP {code.group(1)}: kendala berada di sisi "
                   "Mahkamah Agung, bukan pada server pengadilan ini (surat butir 3)."),
            _en_id(lang,
                   f"The court's leadership escalates through Satgas SIPP at {pt} to the Supreme "
                   "Court's Bureau of Law and Public Relations (letter step 4); meanwhile "
                   f"{pt} can register appeals manually (step 5).",
                   f"Pimpinan pengadilan agar berkoordinasi melalui Satgas SIPP {pt} dengan Biro "
                   "Hukum dan Hubungan Masyarakat Mahkamah Agung (surat butir 4); sementara itu "
                   f"{pt} dapat meregistrasi upaya hukum banding secara manual (butir 5)."),
            ids, folded, details,
        )
    return Finding(
        "network", "2",
        _en_id(lang,
               f"{API_HOST} gives no valid HTTP answer (letter step 2).",
               f"{API_HOST} tidak memberikan jawaban HTTP yang sah (surat butir 2)."),
        admin + _en_id(
            lang,
            "make sure no proxy or filter blocks or rewrites HTTPS requests to the API.",
            "memastikan tidak ada proksi atau penyaring yang memblokir atau mengubah permintaan "
            "HTTPS ke API."),
        ids, folded, details,
    )


def _check_error(lang, ids, folded, details) -> Finding:
    return Finding(
        "check_error", "",
        _en_id(lang,
               f"Some checks could not run: {_names(ids, lang)}.",
               f"Sebagian pemeriksaan tidak dapat dijalankan: {_names(ids, lang)}."),
        _en_id(lang,
               "Run the check again; if the error persists, look at the server directly (the "
               "detail says what failed).",
               "Jalankan pemeriksaan kembali; apabila galat tetap terjadi, periksa server secara "
               "langsung (rinciannya menunjukkan bagian yang gagal)."),
        ids, folded, details,
    )


def _queue(host: HostResult, lang: str) -> Finding:
    pt = _pt(host)
    return Finding(
        "queue", "3-4",
        _en_id(lang,
               f"All checks pass: the server's time settings and its connection to {API_HOST} "
               "are as the letter asks (steps 1 and 2).",
               f"Seluruh kontrol terpenuhi: pengaturan waktu server dan koneksinya ke {API_HOST} "
               "telah sesuai dengan surat (butir 1 dan 2)."),
        _en_id(lang,
               "If appeals still don't arrive, the cause is the queue at the Supreme Court: "
               f"escalate through Satgas SIPP at {pt} (letter steps 3-4). Follow the queue in "
               "SIPP's menu Monitoring Sync Antrian.",
               "Apabila upaya hukum banding masih belum terkirim, penyebabnya adalah antrian di "
               "server Mahkamah Agung: pimpinan pengadilan agar berkoordinasi melalui Satgas "
               f"SIPP {pt} (surat butir 3 dan 4). Pantau antrian pada menu Monitoring Sync "
               "Antrian di SIPP."),
    )


def _unreachable(host: HostResult, lang: str, inventory: str | None = None) -> Finding:
    addr = host.address or "?"
    reason = host.reason or "other"
    court = host.court_id
    texts: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
        "no_address": (
            ("No address for this court in the inventory: it was not checked.",
             "Alamat server pengadilan ini belum tercantum dalam inventaris, sehingga server "
             "tidak dapat diperiksa."),
            (f"Central IT: add its address to inventories/production.hosts.yaml "
             f"(courts: {court}: {{address: ...}}), then enrol its host key (`tepat enrol`).",
             f"TI pusat agar menambahkan alamat server pada berkas "
             f"inventories/production.hosts.yaml (courts: {court}: {{address: ...}}), lalu "
             "mendaftarkan kunci host-nya (`tepat enrol`)."),
        ),
        "auth": (
            (f"SSH login to {addr} was refused (authentication failed).",
             f"Login SSH ke {addr} ditolak (autentikasi gagal)."),
            ("Central IT: check the SSH user and key set for this court in "
             "production.hosts.yaml, and that the public key is in that user's "
             "~/.ssh/authorized_keys on the server (the court's technician can check this).",
             "TI pusat agar memeriksa pengguna dan kunci SSH untuk pengadilan ini pada "
             "production.hosts.yaml, serta memastikan kunci publiknya tercantum dalam "
             "~/.ssh/authorized_keys pengguna tersebut di server (dapat diperiksa oleh teknisi "
             "pengadilan)."),
        ),
        "host_key": (
            (f"The server at {addr} shows a different host key than the one pinned: "
             "not connected.",
             f"Server pada {addr} menunjukkan kunci host yang berbeda dari kunci yang tersimpan: "
             "koneksi tidak dilanjutkan."),
            ("Do not connect and do not accept the new key blindly: the server may have been "
             "reinstalled, or someone sits in between. Verify the new fingerprint with the "
             "court's technician (e.g. by phone, `ssh-keygen -lf "
             "/etc/ssh/ssh_host_ed25519_key.pub` on the server), then re-enrol it "
             "(`tepat enrol`).",
             "Jangan terhubung dan jangan menerima kunci baru begitu saja: server mungkin telah "
             "diinstal ulang, atau ada pihak lain di tengah koneksi. Cocokkan sidik jari "
             "(fingerprint) kunci baru dengan teknisi pengadilan (misalnya melalui telepon, "
             "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` pada server), lalu daftarkan "
             "ulang (`tepat enrol`)."),
        ),
        "no_route": (
            (f"No network route to {addr}.",
             f"Tidak ada rute jaringan ke {addr}."),
            ("Central IT: check the VPN or bastion to the court's network and the address in "
             "production.hosts.yaml; the court's network administrator: check that the server "
             "is on and its link is up.",
             "TI pusat agar memeriksa VPN atau bastion menuju jaringan pengadilan serta alamat "
             "pada production.hosts.yaml; administrator jaringan pengadilan agar memastikan "
             "server menyala dan jaringannya tersambung."),
        ),
        "timeout": (
            (f"The connection to {addr} timed out.",
             f"Koneksi ke {addr} melewati batas waktu (timeout)."),
            ("The server may be off, or a firewall drops SSH: ask the court to check that the "
             "server is on and that SSH from central IT is allowed; on a slow link, run the "
             "check again later.",
             "Server mungkin dalam keadaan mati, atau firewall menahan koneksi SSH: mintalah "
             "pengadilan memastikan server menyala dan akses SSH dari TI pusat diizinkan; pada "
             "jaringan yang lambat, jalankan pemeriksaan kembali kemudian."),
        ),
        "refused": (
            (f"{addr} refused the SSH connection.",
             f"{addr} menolak koneksi SSH."),
            ("The server is on but SSH does not listen on the configured port: the court's "
             "technician should check `systemctl status ssh`, and central IT the port in "
             "production.hosts.yaml.",
             "Server menyala tetapi layanan SSH tidak menerima koneksi pada port yang "
             "dikonfigurasi: teknisi pengadilan agar memeriksa `systemctl status ssh`, dan TI "
             "pusat agar memeriksa port pada production.hosts.yaml."),
        ),
        "other": (
            (f"The server at {addr} could not be checked.",
             f"Server pada {addr} tidak dapat diperiksa."),
            ("See the error below; run the check again for this court alone to see it in full.",
             "Lihat pesan galat di bawah; jalankan pemeriksaan kembali khusus untuk pengadilan "
             "ini untuk melihat pesan lengkapnya."),
        ),
    }
    if reason == "auth" and inventory and inventory.startswith("host "):
        # Laptop mode: no hosts file involved, the person typed the user and password.
        texts["auth"] = (texts["auth"][0], (
            "Check the user name and password (or --ssh-key) you gave; the account must be "
            "allowed to log in over SSH (PasswordAuthentication, AllowUsers in sshd_config).",
            "Periksa kembali nama pengguna dan kata sandi (atau --ssh-key) yang dimasukkan; akun "
            "tersebut harus diizinkan masuk melalui SSH (PasswordAuthentication, AllowUsers pada "
            "sshd_config)."))
    title, action = texts.get(reason, texts["other"])
    return Finding(
        "unreachable", "", _pick(title, lang), _pick(action, lang),
        details=[_clip(host.error)] if host.error else [],
    )
