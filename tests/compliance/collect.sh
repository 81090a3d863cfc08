# tepat compliance collector: everything the controls need, in ONE round trip per host.
#
# POSIX sh (dash, busybox ash, bash). Runs as an unprivileged sudo user: only the database
# query needs root, through `sudo -n` (never a password prompt); anything that cannot be read
# degrades to an empty section, which the control reports. Read-only: it changes nothing.
# Output: sections opened by "@@ <name>" lines, parsed by tests/compliance/hostfacts.py.
# The caller prepends TEPAT_API=<api host> (validated host name).
#
# Kept cheap: file contents are read with shell builtins, and each section runs at most one
# or two processes, because on a fleet run process starts are what the hosts pay for.

LC_ALL=C
export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
: "${TEPAT_API:=apis.mahkamahagung.go.id}"

show() { # print a small file with builtins only (no cat process)
    [ -r "$1" ] || return 1
    while IFS= read -r _l || [ -n "$_l" ]; do printf '%s\n' "$_l"; done < "$1"
}

have() { command -v "$1" >/dev/null 2>&1; }

# The effective uid, read with builtins (Uid: real effective saved fs).
_uid=; while read -r _k _r _e _x; do [ "$_k" = Uid: ] && { _uid=$_e; break; }; done < /proc/self/status
[ -n "$_uid" ] || _uid=$(id -u)
if [ "$_uid" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi
# A wedged daemon (systemd, chronyd, the database) must not hang the fleet run.
if have timeout; then _to="timeout 15"; else _to=; fi

echo "@@ meta"
echo "host_time=$(date +%s.%N)"
echo "uid=$_uid"
if [ -r /etc/os-release ]; then
    while IFS= read -r _l; do
        case $_l in ID=*|ID_LIKE=*|VERSION_ID=*|PRETTY_NAME=*) echo "os_$_l" ;; esac
    done < /etc/os-release
fi
[ -d /run/systemd/system ] && echo "systemd=yes" || echo "systemd=no"

# ---------------------------------------------------------------- OS zone (OS-TZ-01..03)
echo "@@ localtime"
if [ -L /etc/localtime ]; then
    echo "link=$(readlink /etc/localtime)"
elif [ -f /etc/localtime ]; then
    echo "copy=yes"
    # A copied zone file is correct when it is byte-identical to the zone it claims.
    for _z in Asia/Jakarta Asia/Pontianak Asia/Makassar Asia/Jayapura Asia/Ujung_Pandang UTC; do
        for _d in /usr/share/zoneinfo /usr/lib/zoneinfo; do
            if [ -f "$_d/$_z" ] && cmp -s /etc/localtime "$_d/$_z"; then echo "same_as=$_z"; break 2; fi
        done
    done
    echo "tzstring=$(tail -n 1 /etc/localtime 2>/dev/null)"
else
    echo "missing=yes"
fi
echo "@@ etc_timezone"
show /etc/timezone
echo "@@ sysconfig_clock"
show /etc/sysconfig/clock
echo "@@ adjtime"
show /etc/adjtime

# ---------------------------------------------------------------- processes (NTP-01, SVC-01, DB-TZ-01)
echo "@@ btime"
while read -r _k _v; do [ "$_k" = btime ] && echo "$_v"; done < /proc/stat
# The boot time to the millisecond (btime has whole seconds): the kernel's uptime, then the
# kernel's clock as procfs stamps the inode it creates for a new process (not the session's
# possibly faked clock).
read -r _up _x < /proc/uptime
_now=$(stat -c %.9Y /proc/self/ 2>/dev/null)
echo "uptime=$_up"
echo "now_real=$_now"
case $_now in *.*) _mfmt='%.9Y %n' ;; *) _mfmt='%Y %n' ;; esac
echo "@@ ps"
# Only this system's processes: a container host also sees its containers' daemons, which
# are not its own. Left out: processes in another PID namespace ("-": not ours to inspect,
# as root-owned daemons are for an unprivileged user, stays in; old ps without pidns: all).
# Our PID namespace's inode: readlink gives "pid:[N]", which is what ps prints as pidns.
_ns=$(readlink /proc/$$/ns/pid 2>/dev/null); _ns=${_ns#pid:\[}; _ns=${_ns%\]}
[ -n "$_ns" ] || _ns=$(ps -o pidns= -p $$ 2>/dev/null)
if [ -n "$_ns" ] && [ "$_ns" != "-" ]; then
    _ps=$(ps -eo pid=,ppid=,pidns=,comm= 2>/dev/null | while read -r _a _b _n _c; do
        [ "$_n" = "$_ns" ] || [ "$_n" = "-" ] && echo "$_a $_b $_c"; done)
fi
# No pidns column (old procps): every process (this shell's own make a non-empty list above).
[ -n "$_ps" ] || _ps=$(ps -eo pid=,ppid=,comm= 2>/dev/null)
printf '%s\n' "$_ps"
echo "@@ procstat"
# Start times in clock ticks since boot (field 22 of /proc/PID/stat), for the few daemons
# whose staleness SVC-01 judges; read with builtins.
_db=no
while read -r _pid _ppid _comm; do
    case $_comm in
        mariadbd|mysqld) _db=yes ;;
    esac
    case $_comm in
        php-fpm*|php*-fpm|apache2|httpd|cron|crond|mariadbd|mysqld)
            read -r _st 2>/dev/null < "/proc/$_pid/stat" && echo "$_pid ${_st##*) }" ;;
    esac
done <<EOF
$_ps
EOF
echo "clk_tck=$(getconf CLK_TCK 2>/dev/null)"

echo "@@ units"
if [ -d /run/systemd/system ] && have systemctl; then
    $_to systemctl show -p Id -p LoadState -p ActiveState -p UnitFileState \
        chrony.service chronyd.service ntp.service ntpd.service ntpsec.service \
        openntpd.service systemd-timesyncd.service 2>&1
else
    # SysV init: enabled = a start link in the default runlevels.
    for _s in /etc/rc2.d/S* /etc/rc3.d/S*; do [ -e "$_s" ] && echo "rc=${_s##*/}"; done
fi

# ---------------------------------------------------------------- chrony (NTP-01..03)
echo "@@ chrony_bin"
for _b in /usr/sbin/chronyd /sbin/chronyd /usr/bin/chronyd; do [ -x "$_b" ] && echo "$_b"; done
for _b in /usr/sbin/ntpd /usr/sbin/openntpd /lib/systemd/systemd-timesyncd /usr/lib/systemd/systemd-timesyncd; do
    [ -x "$_b" ] && echo "other=$_b"
done
echo "@@ chrony_tracking"
have chronyc && $_to chronyc -c tracking 2>&1
echo "@@ chrony_sources"
# -N prints each source's name as configured (chrony >= 4.0); older chronyc gets addresses.
if have chronyc; then
    if $_to chronyc -c -N sources 2>/dev/null; then echo "names=yes"; else $_to chronyc -c -n sources 2>&1; fi
fi
echo "@@ chrony_conf"
grep -H -n -E '^[[:space:]]*(server|pool|peer|refclock|sourcedir|include|confdir)[[:space:]]' \
    /etc/chrony/chrony.conf /etc/chrony.conf /etc/chrony/conf.d/*.conf \
    /etc/chrony/sources.d/*.sources /run/chrony-dhcp/*.sources 2>/dev/null

# ---------------------------------------------------------------- network (NET-01..04, CLK-01)
echo "@@ dns"
_addrs=$($_to getent ahosts "$TEPAT_API" 2>&1); _rc=$?
printf '%s\n' "$_addrs"
echo "rc=$_rc"
# ---------------------------------------------------------------- PHP (PHP-TZ-01, SVC-01)
# Runtimes: Debian/Ubuntu /etc/php/<ver>/<sapi>, RHEL /etc/php.ini + /etc/php.d, remi
# /etc/opt/remi/phpXY, SCL /etc/opt/rh/rh-phpXY, XAMPP /opt/lampp/etc.
echo "@@ php_runtimes"
for _d in /etc/php/*/*; do
    [ -f "$_d/php.ini" ] || continue
    _v=${_d%/*}; _v=${_v##*/}; _s=${_d##*/}
    case $_s in
        cli) _bin=/usr/bin/php$_v ;;
        fpm) _bin=/usr/sbin/php-fpm$_v ;;
        apache2) _bin=/usr/lib/apache2/modules/libphp$_v.so
                 [ -e "$_bin" ] || _bin=/usr/lib/apache2/modules/libphp${_v%%.*}.so ;;
        cgi) _bin=/usr/bin/php-cgi$_v ;;
        *) _bin= ;;
    esac
    [ -n "$_bin" ] && [ -e "$_bin" ] && _p=yes || _p=no
    echo "runtime $_v/$_s $_d/php.ini $_d/conf.d $_p"
done
rhel_runtime() { # $1 name, $2 config dir (php.ini + php.d), $3 install root
    [ -f "$2/php.ini" ] || return 0
    [ -x "$3/usr/bin/php" ] && echo "runtime $1/cli $2/php.ini $2/php.d yes"
    [ -x "$3/usr/sbin/php-fpm" ] && echo "runtime $1/fpm $2/php.ini $2/php.d yes"
    # mod_php of this build: the system's (libphp*.so), remi's (libphpXY.so next to it), or an
    # SCL's under the httpd24 collection (librh-phpXY-php7.so).
    case $1 in system) _mods="/usr/lib64/httpd/modules/libphp*.so /usr/lib/httpd/modules/libphp*.so" ;;
        *) _mods="/usr/lib64/httpd/modules/lib$1.so /opt/rh/httpd24/root/usr/lib64/httpd/modules/lib$1-php*.so $3/usr/lib64/httpd/modules/libphp*.so" ;;
    esac
    for _m in $_mods; do
        [ -e "$_m" ] && { echo "runtime $1/apache2 $2/php.ini $2/php.d yes"; break; }
    done
}
rhel_runtime system /etc ""
for _d in /etc/opt/remi/*; do [ -d "$_d" ] && rhel_runtime "${_d##*/}" "$_d" "/opt/remi/${_d##*/}/root"; done
for _d in /etc/opt/rh/*; do [ -d "$_d" ] && rhel_runtime "${_d##*/}" "$_d" "/opt/rh/${_d##*/}/root"; done
if [ -f /opt/lampp/etc/php.ini ]; then
    echo "runtime xampp/cli /opt/lampp/etc/php.ini - yes"
    echo "runtime xampp/apache2 /opt/lampp/etc/php.ini - yes"
fi
echo "@@ php_cli"
# Each CLI binary reports its own effective value (ini + scan dir, as PHP itself resolves it).
# The first one also makes SIPP's kind of request to the API (one PHP start less per host):
# PHP's curl extension if loaded, else its openssl streams, each with PHP's own CA settings
# (curl.cainfo / openssl.cafile) and peer verification on; it prints its own php_tls section.
# When that request went through the system's libcurl with its default CA bundle (a system
# PHP, curl.cainfo unset), it WAS the system trust store's test: PHP then also prints the
# curl section (headers, Date, timings) and the curl command below is not run again.
_php='
echo "version=", PHP_VERSION, "\nini=", var_export(ini_get("date.timezone"), true), "\neffective=", @date_default_timezone_get(), "\nloaded=", php_ini_loaded_file(), "\n";
$h = getenv("TEPAT_TLS");
if ($h) {
  echo "@@ php_tls\n";
  if (function_exists("curl_init")) {
    $c = curl_init("https://" . $h . "/");
    curl_setopt($c, CURLOPT_RETURNTRANSFER, true); curl_setopt($c, CURLOPT_CONNECTTIMEOUT, 5);
    curl_setopt($c, CURLOPT_TIMEOUT, 10); curl_setopt($c, CURLOPT_SSL_VERIFYPEER, true);
    curl_setopt($c, CURLOPT_SSL_VERIFYHOST, 2);
    $d = "";
    curl_setopt($c, CURLOPT_HEADERFUNCTION, function ($x, $l) use (&$d) {
      if (stripos($l, "date:") === 0) { $d = trim($l); } return strlen($l); });
    $t0 = microtime(true); curl_exec($c); $t1 = microtime(true);
    $n = curl_errno($c); $m = str_replace("\n", " ", curl_error($c));
    echo "via=curl\nerrno=", $n, "\nerror=", $m, "\ncode=", curl_getinfo($c, CURLINFO_HTTP_CODE), "\n";
    if (!ini_get("curl.cainfo") && strpos(PHP_BINARY, "/usr/bin/php") === 0) {
      echo "@@ curl\nvia=php\nbefore=", sprintf("%.6f", $t0), "\n", $d === "" ? "" : $d . "\n",
        "tepat_curl code=", curl_getinfo($c, CURLINFO_HTTP_CODE), " connect=", curl_getinfo($c, CURLINFO_CONNECT_TIME),
        " verify=", curl_getinfo($c, CURLINFO_SSL_VERIFYRESULT), " ip=", curl_getinfo($c, CURLINFO_PRIMARY_IP), "\n",
        $n ? "curl: (" . $n . ") " . $m . "\n" : "", "rc=", $n, "\nafter=", sprintf("%.6f", $t1), "\n";
    }
  } else {
    $ctx = stream_context_create(array("ssl" => array("verify_peer" => true, "verify_peer_name" => true, "peer_name" => $h)));
    $s = @stream_socket_client("ssl://" . $h . ":443", $en, $es, 10, STREAM_CLIENT_CONNECT, $ctx);
    $e = error_get_last();
    echo "via=openssl\nerrno=", $s ? 0 : ($en ? $en : 1), "\nerror=", $s ? "" : str_replace("\n", " ", $e ? $e["message"] : $es), "\n";
  }
  echo "@@ php_cli\n";
}'
[ "$_rc" = 0 ] && _tls=$TEPAT_API || _tls=
_store=
for _b in /usr/bin/php[0-9]* /usr/bin/php /opt/remi/*/root/usr/bin/php /opt/rh/*/root/usr/bin/php /opt/lampp/bin/php; do
    [ -x "$_b" ] || continue
    case $_b in /usr/bin/php) [ -n "$_seen_php" ] && continue ;; *-*|*config*|*ize*) continue ;; esac
    _seen_php=yes
    echo "binary=$_b"
    _o=$(TEPAT_TLS=$_tls $_to "$_b" -r "$_php" 2>&1)
    printf '%s\n' "$_o"
    case $_o in *"@@ curl"*) _store=php ;; esac
    _tls=
done

# ---------------------------------------------------------------- system trust store (NET-02..04, CLK-01)
if [ -z "$_store" ]; then
    echo "@@ curl"
    if [ "$_rc" = 0 ] && have curl; then
        echo "before=$(date +%s.%N)"
        # The system trust store (curl's default CA bundle); -D - puts the headers, with the
        # API's Date, on stdout.
        curl -sS -o /dev/null -D - --connect-timeout 5 -m 10 \
            -w 'tepat_curl code=%{http_code} connect=%{time_connect} verify=%{ssl_verify_result} ip=%{remote_ip}\n' \
            "https://$TEPAT_API/" 2>&1
        echo "rc=$?"
        echo "after=$(date +%s.%N)"
    elif [ "$_rc" = 0 ]; then
        echo "nocurl=yes"
    fi
fi
echo "@@ php_grep"
# Every date.timezone line in every PHP / php-fpm / Apache config, with pool and vhost
# headers so the parser knows which pool or vhost a line belongs to.
_apache_conf=
for _f in /etc/apache2/apache2.conf /etc/apache2/conf-enabled/*.conf /etc/apache2/sites-enabled/* \
          /etc/apache2/mods-enabled/*.conf /etc/httpd/conf/httpd.conf /etc/httpd/conf.d/*.conf \
          /etc/httpd/conf.modules.d/*.conf /opt/rh/httpd24/root/etc/httpd/conf/httpd.conf \
          /opt/rh/httpd24/root/etc/httpd/conf.d/*.conf /opt/rh/httpd24/root/etc/httpd/conf.modules.d/*.conf \
          /opt/lampp/etc/httpd.conf /opt/lampp/etc/extra/*.conf \
          /var/www/.htaccess /var/www/*/.htaccess /var/www/html/*/.htaccess; do
    [ -f "$_f" ] && _apache_conf="$_apache_conf $_f"
done
# shellcheck disable=SC2086
grep -H -n -i -E 'date\.timezone|^[[:space:]]*\[|<VirtualHost|</VirtualHost' \
    /etc/php/*/*/php.ini /etc/php/*/*/conf.d/*.ini /etc/php/*/fpm/php-fpm.conf /etc/php/*/fpm/pool.d/*.conf \
    /etc/php.ini /etc/php.d/*.ini /etc/php-fpm.conf /etc/php-fpm.d/*.conf \
    /etc/opt/remi/*/php.ini /etc/opt/remi/*/php.d/*.ini /etc/opt/remi/*/php-fpm.d/*.conf \
    /etc/opt/rh/*/php.ini /etc/opt/rh/*/php.d/*.ini /etc/opt/rh/*/php-fpm.d/*.conf \
    /opt/lampp/etc/php.ini $_apache_conf 2>/dev/null
echo "@@ apache_php"
# Apache loads mod_php only when a php module is enabled.
for _f in /etc/apache2/mods-enabled/php*.load /etc/httpd/conf.modules.d/*php*.conf \
          /opt/rh/httpd24/root/etc/httpd/conf.modules.d/*php*.conf; do
    [ -e "$_f" ] && echo "$_f"
done
[ -f /opt/lampp/etc/httpd.conf ] && grep -H -n -i -E '^[[:space:]]*LoadModule[[:space:]]+php' /opt/lampp/etc/httpd.conf /opt/lampp/etc/extra/*.conf 2>/dev/null

# ---------------------------------------------------------------- file times (SVC-01)
echo "@@ mtimes"
# %Y of the file itself (lstat: a re-pointed /etc/localtime link counts) and of the config
# directories (a deleted or added file changes its directory).
stat -c "$_mfmt" /etc/localtime /etc/timezone /etc/php/*/*/php.ini /etc/php/*/*/conf.d \
    /etc/php/*/*/conf.d/*.ini /etc/php/*/fpm/php-fpm.conf /etc/php/*/fpm/pool.d /etc/php/*/fpm/pool.d/*.conf \
    /etc/php.ini /etc/php.d /etc/php.d/*.ini /etc/php-fpm.conf /etc/php-fpm.d /etc/php-fpm.d/*.conf \
    /etc/opt/remi/*/php.ini /etc/opt/remi/*/php.d /etc/opt/remi/*/php.d/*.ini /etc/opt/remi/*/php-fpm.d \
    /etc/opt/remi/*/php-fpm.d/*.conf /etc/opt/rh/*/php.ini /etc/opt/rh/*/php.d /etc/opt/rh/*/php.d/*.ini \
    /etc/opt/rh/*/php-fpm.d /etc/opt/rh/*/php-fpm.d/*.conf /opt/lampp/etc/php.ini \
    /etc/mysql/my.cnf /etc/mysql/mariadb.cnf /etc/mysql/conf.d /etc/mysql/conf.d/*.cnf \
    /etc/mysql/mariadb.conf.d /etc/mysql/mariadb.conf.d/*.cnf /etc/mysql/mysql.conf.d/*.cnf \
    /etc/my.cnf /etc/my.cnf.d /etc/my.cnf.d/*.cnf $_apache_conf 2>/dev/null

# ---------------------------------------------------------------- database (DB-TZ-01)
echo "@@ db"
if [ "$_db" = yes ]; then
    echo "running=yes"
    for _c in mariadb mysql; do have $_c && break; done
    # Root through the unix socket (Debian's default); NOW() - UTC_TIMESTAMP() is the zone the
    # database really applies, whatever its configuration says.
    $SUDO $_to $_c --connect-timeout=5 -N -B -e \
        "SELECT NOW(), UTC_TIMESTAMP(), @@global.time_zone, @@system_time_zone, VERSION()" 2>&1
    echo "rc=$?"
else
    echo "running=no"
fi
echo "@@ end"
