"""What makes a lab host one court's compliant SIPP server: files written into its overlay.

Everything here runs on the machine before the host boots, on the host's merged overlay
directory. Paths inside the overlay are never followed through symlinks (an absolute link in
the guest, like /etc/localtime, would otherwise point at the *machine's* files).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tepat.lab.image import PHP_VERSION
from tepat.lab.pki import API_HOST
from tepat.lab.sampler import MACHINE_ADDRESS, SUBNET_PREFIX, LabHost

PHP_SAPIS = ("cli", "fpm", "apache2")
CA_NAME = "tepat-lab-ca"
MULTI_USER_WANTS = "etc/systemd/system/multi-user.target.wants"


@dataclass
class LabSecrets:
    """What every host shares: the lab's SSH public key, password hash and CA."""

    ssh_public_key: str
    password_hash: str  # crypt(3) SHA-512, for the tepat and technician accounts
    ca_pem: str
    ca_hash: str  # OpenSSL subject hash of the CA


@dataclass
class HostFiles:
    """A host's root file system (its merged overlay) seen from the machine."""

    root: Path

    def path(self, relative: str) -> Path:
        """``relative`` inside the host; refuses a path whose directories are symlinks."""
        target = self.root / relative.lstrip("/")
        current = self.root
        for part in Path(relative.lstrip("/")).parts[:-1]:
            current = current / part
            if current.is_symlink():
                raise ValueError(f"{relative}: {current} is a symlink inside the host")
        return target

    def read(self, relative: str) -> str:
        return self.path(relative).read_text()

    def exists(self, relative: str) -> bool:
        return os.path.lexists(self.path(relative))

    def write(self, relative: str, content: str, mode: int = 0o644, owner: tuple[int, int] = (0, 0)) -> None:
        """Replace the file (never writing through a symlink), with mode and owner."""
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(target):
            target.unlink()
        target.write_text(content)
        os.chown(target, *owner)
        target.chmod(mode)

    def symlink(self, relative: str, link_target: str) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(target):
            target.unlink()
        os.symlink(link_target, target)

    def remove(self, relative: str) -> None:
        target = self.path(relative)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif os.path.lexists(target):
            target.unlink()

    def ids(self, user: str) -> tuple[int, int]:
        """uid and gid of ``user`` in the host's /etc/passwd."""
        for line in self.read("etc/passwd").splitlines():
            fields = line.split(":")
            if fields[0] == user:
                return int(fields[2]), int(fields[3])
        raise KeyError(user)

    def chroot(self, *cmd: str) -> subprocess.CompletedProcess:
        """Run a command inside the (not yet booted) host's file system."""
        return subprocess.run(["chroot", str(self.root), *cmd], capture_output=True, text=True,
                              env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})


# --- time zone ---------------------------------------------------------------------------

def set_os_zone(files: HostFiles, zone: str) -> None:
    """/etc/localtime as timedatectl leaves it: a symlink into /usr/share/zoneinfo."""
    files.symlink("etc/localtime", f"/usr/share/zoneinfo/{zone}")


def set_timezone_file(files: HostFiles, zone: str) -> None:
    files.write("etc/timezone", zone + "\n")


def set_hardware_clock(files: HostFiles, mode: str) -> None:
    """/etc/adjtime, whose third line says whether the RTC keeps UTC or LOCAL time."""
    files.write("etc/adjtime", f"0.0 0 0.0\n0\n{mode}\n")


def php_ini(sapi: str) -> str:
    return f"etc/php/{PHP_VERSION}/{sapi}/php.ini"


_DATE_TZ = re.compile(r"^\s*;?\s*date\.timezone\s*=.*$", re.MULTILINE)


def set_php_timezone(files: HostFiles, sapi: str, zone: str | None) -> None:
    """Set ``date.timezone`` in one runtime's php.ini; ``None`` comments it out (stock)."""
    text = files.read(php_ini(sapi))
    line = f"date.timezone = {zone}" if zone else ";date.timezone ="
    if not _DATE_TZ.search(text):
        raise ValueError(f"{php_ini(sapi)}: no date.timezone line to set")
    files.write(php_ini(sapi), _DATE_TZ.sub(line, text, count=1))


# --- identity and network ----------------------------------------------------------------

def write_identity(files: HostFiles, host: LabHost, api_address: str | None) -> None:
    """Hostname, addresses and the API's name: the lab has no DNS, /etc/hosts is it."""
    files.write("etc/hostname", host.court_id + "\n")
    hosts = f"127.0.0.1\tlocalhost\n127.0.1.1\t{host.court_id}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    if api_address:
        hosts += f"{api_address}\t{API_HOST}\n"
    files.write("etc/hosts", hosts)
    # No Gateway=: the lab reaches only the bridge (ip_forward stays 0 on the machine too).
    files.write("etc/systemd/network/10-tepat-lab.network", (
        "[Match]\nName=host0\n\n[Network]\n"
        f"Address={host.address}/{SUBNET_PREFIX}\n"
        "LinkLocalAddressing=no\nIPv6AcceptRA=no\nLLMNR=no\nMulticastDNS=no\n"
    ))
    files.write("etc/resolv.conf", f"nameserver {MACHINE_ADDRESS}\n")


def chrony_conf(servers: list[str]) -> str:
    lines = ["# written by tepat lab: the lab NTP server is the approved source"]
    lines += [f"server {s} iburst" for s in servers]
    lines += [
        "confdir /etc/chrony/conf.d",
        "sourcedir /etc/chrony/sources.d",
        "driftfile /var/lib/chrony/chrony.drift",
        "logdir /var/log/chrony",
        "maxupdateskew 100.0",
        "rtcsync",
        "makestep 1 3",
        "leapsectz right/UTC",
    ]
    return "\n".join(lines) + "\n"


def set_chrony_servers(files: HostFiles, servers: list[str]) -> None:
    files.write("etc/chrony/chrony.conf", chrony_conf(servers))


# --- access ------------------------------------------------------------------------------

def install_ssh(files: HostFiles, court_id: str, authorized_key: str) -> str:
    """A fresh host key and the lab key for root and tepat; returns the host's public key."""
    key = files.path("etc/ssh/ssh_host_ed25519_key")
    for p in (key, key.with_name(key.name + ".pub")):
        if os.path.lexists(p):
            p.unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", court_id, "-f", str(key)],
                   check=True)
    set_authorized_key(files, authorized_key)
    return key.with_name(key.name + ".pub").read_text().strip()


def set_authorized_key(files: HostFiles, authorized_key: str) -> None:
    files.write("root/.ssh/authorized_keys", authorized_key.strip() + "\n", 0o600)
    uid, gid = files.ids("tepat")
    files.write("home/tepat/.ssh/authorized_keys", authorized_key.strip() + "\n", 0o600, (uid, gid))


def set_passwords(files: HostFiles, password_hash: str, users: tuple[str, ...] = ("tepat", "technician")) -> None:
    lines = []
    for line in files.read("etc/shadow").splitlines():
        fields = line.split(":")
        if fields[0] in users:
            fields[1] = password_hash
        lines.append(":".join(fields))
    files.write("etc/shadow", "\n".join(lines) + "\n", 0o640, (0, _shadow_gid(files)))


def _shadow_gid(files: HostFiles) -> int:
    for line in files.read("etc/group").splitlines():
        fields = line.split(":")
        if fields[0] == "shadow":
            return int(fields[2])
    return 0


# --- trust -------------------------------------------------------------------------------

def trust_ca(files: HostFiles, secrets: LabSecrets, base_bundle: str) -> None:
    """What ``update-ca-certificates`` does for one local CA, done without running it."""
    files.write(f"usr/local/share/ca-certificates/{CA_NAME}.crt", secrets.ca_pem)
    files.symlink(f"etc/ssl/certs/{CA_NAME}.pem", f"/usr/local/share/ca-certificates/{CA_NAME}.crt")
    files.symlink(f"etc/ssl/certs/{secrets.ca_hash}.0", f"{CA_NAME}.pem")
    files.write("etc/ssl/certs/ca-certificates.crt", base_bundle.rstrip("\n") + "\n" + secrets.ca_pem)


def untrust_ca(files: HostFiles, secrets: LabSecrets, base_bundle: str) -> None:
    for rel in (f"usr/local/share/ca-certificates/{CA_NAME}.crt", f"etc/ssl/certs/{CA_NAME}.pem",
                f"etc/ssl/certs/{secrets.ca_hash}.0"):
        files.remove(rel)
    files.write("etc/ssl/certs/ca-certificates.crt", base_bundle)


# --- services ----------------------------------------------------------------------------

def set_enabled(files: HostFiles, unit: str, enabled: bool, target: str = MULTI_USER_WANTS) -> None:
    """``systemctl enable/disable`` for a unit installed under /usr/lib/systemd/system."""
    link = f"{target}/{unit}"
    if enabled:
        files.symlink(link, f"/lib/systemd/system/{unit}")
    else:
        files.remove(link)


def provision(files: HostFiles, host: LabHost, secrets: LabSecrets, base_bundle: str,
              ntp_servers: list[str], api_address: str, database: bool) -> str:
    """Make the host a compliant SIPP server for its court; returns its SSH host public key."""
    zone = host.court.timezone
    write_identity(files, host, api_address)
    set_os_zone(files, zone)
    set_timezone_file(files, zone)
    set_hardware_clock(files, "UTC")
    for sapi in PHP_SAPIS:
        set_php_timezone(files, sapi, zone)
    set_chrony_servers(files, ntp_servers)
    trust_ca(files, secrets, base_bundle)
    set_enabled(files, "mariadb.service", database)
    set_passwords(files, secrets.password_hash)
    return install_ssh(files, host.court_id, secrets.ssh_public_key)
