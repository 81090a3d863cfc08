#!/bin/sh
# Runs inside the chroot of the lab's base image, once, at build time (see tepat/lab/image.py).
# Everything here is the same on every lab host; what differs per court (zone, address, keys,
# faults) is written into each host's overlay by tepat/lab/provision.py.
set -eu

# Host keys are per host (generated at provisioning); a shared key would make pinning moot.
rm -f /etc/ssh/ssh_host_*
cat > /etc/ssh/sshd_config.d/10-tepat-lab.conf <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UseDNS no
# Fleet runs open many sessions at once from one controller.
MaxStartups 200:30:400
MaxSessions 50
CONF

# The account tepat uses (key, passwordless sudo) and a technician (password, sudo asks it).
useradd --create-home --shell /bin/bash --comment "tepat automation" tepat
useradd --create-home --shell /bin/bash --comment "court technician" --groups sudo technician
install -d -m 0700 -o tepat -g tepat /home/tepat/.ssh
install -d -m 0700 /root/.ssh
echo 'tepat ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/tepat
chmod 0440 /etc/sudoers.d/tepat

# chronyd has no clock control in a container (no CAP_SYS_TIME): run it with -x so it still
# syncs and reports like a real one (lab-notes.md). Lab-only drop-in.
mkdir -p /etc/systemd/system/chrony.service.d
cat > /etc/systemd/system/chrony.service.d/10-tepat-lab-container.conf <<'CONF'
[Unit]
ConditionCapability=
[Service]
ExecStart=
ExecStart=!/usr/sbin/chronyd $DAEMON_OPTS -x
CONF

# Small footprint: up to 382 of these share one 24 GiB machine. logind has no client here
# (libpam-systemd is not installed) and the console getty has no user.
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=4M\n' > /etc/systemd/journald.conf.d/10-tepat-lab.conf
for unit in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
            fstrim.timer dpkg-db-backup.timer e2scrub_reap.service phpsessionclean.timer \
            mariadb-upgrade.service getty@tty1.service console-getty.service \
            systemd-logind.service; do
    systemctl mask "$unit" >/dev/null 2>&1 || true
done
systemctl enable systemd-networkd.service >/dev/null 2>&1
systemctl disable systemd-networkd-wait-online.service >/dev/null 2>&1 || true
systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1 || true

# Apache runs PHP through mod_php (prefork), as SIPP installs do; php-fpm runs beside it.
a2dismod -q mpm_event >/dev/null 2>&1 || true
a2enmod -q mpm_prefork php8.2 >/dev/null
a2disconf -q php8.2-fpm >/dev/null 2>&1 || true
cat > /etc/apache2/mods-available/mpm_prefork.conf <<'CONF'
<IfModule mpm_prefork_module>
	StartServers 1
	MinSpareServers 1
	MaxSpareServers 2
	MaxRequestWorkers 10
	MaxConnectionsPerChild 0
</IfModule>
CONF
sed -i -e 's/^pm = .*/pm = ondemand/' -e 's/^;\?pm.process_idle_timeout = .*/pm.process_idle_timeout = 10s/' \
    /etc/php/8.2/fpm/pool.d/www.conf

# MariaDB sized for a lab host; the data directory is re-created so its redo log is small
# (every host copies it up into its overlay on first write).
cat > /etc/mysql/mariadb.conf.d/90-tepat-lab.cnf <<'CONF'
[mysqld]
innodb_buffer_pool_size = 8M
innodb_log_file_size = 4M
innodb_log_buffer_size = 1M
key_buffer_size = 1M
aria_pagecache_buffer_size = 1M
query_cache_size = 0
query_cache_type = 0
performance_schema = OFF
max_connections = 20
table_open_cache = 64
table_definition_cache = 400
thread_cache_size = 0
tmp_table_size = 1M
max_heap_table_size = 1M
skip-name-resolve
CONF
rm -rf /var/lib/mysql/*
mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
    --auth-root-authentication-method=socket --force --skip-name-resolve >/dev/null

# A competing time daemon for the lab fault: systemd-timesyncd conflicts with chrony in dpkg,
# so its files are kept aside and copied in by the fault (tepat/lab/faults.py).
mkdir -p /opt/tepat-lab
cd /tmp && apt-get download -q systemd-timesyncd >/dev/null
dpkg-deb -x /tmp/systemd-timesyncd_*.deb /opt/tepat-lab/timesyncd
rm -rf /opt/tepat-lab/timesyncd/usr/share/doc /opt/tepat-lab/timesyncd/usr/share/man
rm -f /tmp/systemd-timesyncd_*.deb

# Keep chrony's package (and the package lists) so a host where chrony was purged can get it
# back with a plain `apt-get install chrony`: the lab has no route to a mirror.
find /var/cache/apt/archives -name '*.deb' ! -name 'chrony_*' -delete

# The machine's resolver is meaningless inside; the lab has no DNS (the API is in /etc/hosts).
rm -f /etc/resolv.conf
printf 'nameserver 10.77.0.1\n' > /etc/resolv.conf
: > /etc/machine-id
