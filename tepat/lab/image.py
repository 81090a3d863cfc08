"""The lab's base image: one read-only Debian bookworm root file system every host overlays.

Built with mmdebstrap and cached under ``/var/cache/tepat/`` in a directory named after a hash
of the package list and the build script, so it is rebuilt only when either changes.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
CACHE_DIR = Path(os.environ.get("TEPAT_LAB_CACHE", "/var/cache/tepat"))
SETUP_SCRIPT = Path(__file__).with_name("base-setup.sh")

# What a SIPP server runs (issue 3 §1), plus what the lab needs to look at it.
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "sudo",
    "php-cli", "php-fpm", "apache2", "libapache2-mod-php", "php-curl", "php-mysql",
    "chrony", "cron", "mariadb-server", "tzdata", "ca-certificates", "curl",
    "iproute2", "procps", "python3", "faketime",
    "iputils-ping", "netcat-openbsd", "less",
)
PHP_VERSION = "8.2"  # bookworm's PHP; php.ini paths under /etc/php/<ver>/


def image_key() -> str:
    """Hash of everything that decides the image's content."""
    digest = hashlib.sha256()
    digest.update(f"{SUITE} {MIRROR}\n".encode())
    digest.update(" ".join(sorted(PACKAGES)).encode())
    digest.update(SETUP_SCRIPT.read_bytes())
    return digest.hexdigest()[:16]


def image_dir() -> Path:
    return CACHE_DIR / f"base-{image_key()}"


def rootfs() -> Path:
    """The base root file system (may not exist yet: see ``ensure_image``)."""
    return image_dir() / "rootfs"


def ensure_image(log=print) -> Path:
    """The cached base image, built first if its key changed. Returns the rootfs path."""
    target = rootfs()
    if (image_dir() / "complete").exists():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    building = image_dir().with_name(image_dir().name + ".building")
    if building.exists():
        shutil.rmtree(building)
    building.mkdir()
    log(f"lab: building base image {image_dir().name} with mmdebstrap (a minute or two)")
    cmd = [
        "mmdebstrap", "--mode=root", "--variant=apt", "--quiet",
        "--include=" + ",".join(PACKAGES),
        "--skip=cleanup/apt/lists", "--skip=cleanup/apt/cache",
        f"--customize-hook=copy-in {SETUP_SCRIPT} /tmp",
        f'--customize-hook=chroot "$1" /bin/sh -e /tmp/{SETUP_SCRIPT.name}',
        SUITE, str(building / "rootfs"), MIRROR,
    ]
    result = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr)
    if result.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        raise RuntimeError(f"mmdebstrap failed with status {result.returncode}")
    (building / "packages.txt").write_text("\n".join(PACKAGES) + "\n")
    (building / "complete").write_text(image_key() + "\n")
    if image_dir().exists():
        shutil.rmtree(image_dir())
    building.rename(image_dir())
    return target


def stale_images() -> list[Path]:
    """Cached images other than the current one (removable with ``tepat lab prune``)."""
    if not CACHE_DIR.exists():
        return []
    return sorted(p for p in CACHE_DIR.glob("base-*") if p != image_dir())
