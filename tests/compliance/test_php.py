"""PHP-TZ-01: every PHP runtime's effective date.timezone is the court's zone.

Runtimes: the CLI of each installed PHP (asked directly: ``php -r``), php-fpm per pool
(php.ini + scan dir, then the pool's php_value / php_admin_value), Apache mod_php per
server and vhost (php.ini + scan dir, then php_value / php_admin_value in the Apache
config and .htaccess), php-cgi; Debian /etc/php/<ver>/<sapi>, RHEL /etc/php.ini + php.d,
remi, SCL and XAMPP layouts. A runtime with no date.timezone runs on PHP's default, UTC.
"""
from __future__ import annotations


def no_zone_message(facts) -> str:
    return (f"no court given (use --court or an inventory) and the OS zone "
            f"{facts.os_zone.zone or 'unknown'} is not one of Indonesia's four zones")


def test_PHP_TZ_01(facts, zone, verdict):
    """PHP-TZ-01: each PHP runtime's effective date.timezone equals the court's zone."""
    php = facts.php
    ignored = f" (ignored, not installed: {', '.join(php.ignored)})" if php.ignored else ""
    if not php.zones:
        verdict.skip(f"no PHP runtime installed{ignored}")
    if zone is None:
        seen = ", ".join(f"{z.name}: {z.effective}" for z in php.zones)
        verdict.fail(f"{no_zone_message(facts)}; PHP: {seen}")
    wrong = [z for z in php.zones if z.effective != zone]
    if wrong:
        verdict.fail("; ".join(
            f"{z.name}: {z.zone + ' (' + z.source + ')' if z.zone else 'date.timezone not set, so PHP default UTC'}"
            for z in wrong) + f"; expected {zone}")
    verdict.ok(f"{', '.join(z.name for z in php.zones)}: {zone}{ignored}")
