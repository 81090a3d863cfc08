"""PHP-TZ-01: make every PHP runtime's effective date.timezone the court's zone.

Plan, per runtime (``plan``): every date.timezone setting that differs from the zone — in
php.ini, a conf.d file, a php-fpm pool (``php_value``/``php_admin_value[date.timezone]``) or
Apache (``php_value``/``php_admin_value date.timezone``) — is commented out with the marker
``;tepat PHP-TZ-01: `` (``#tepat PHP-TZ-01: `` in Apache), never deleted. If no correct setting
is left, tepat's managed ini ``zz-tepat-timezone.ini`` goes last in the runtime's scan dir (or a
managed block at the end of php.ini where there is none, as in XAMPP). Settings that already
equal the zone are left alone, so an already-compliant host gets no change at all.

The operations take the fact (``facts.php.PhpLayout``) as an argument: deploy.py reads it once
per host, so the change-detection pass and the execution pass see the same state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pyinfra.api import operation

from facts.php import MANAGED_NAME, PhpLayout, Runtime, Setting
from operations import safety

CONTROL = "PHP-TZ-01"
INI_MARK = f";tepat {CONTROL}: "
APACHE_MARK = f"#tepat {CONTROL}: "


def managed_ini(zone: str) -> str:
    """The content of tepat's managed ini file for ``zone``."""
    return (
        f"; Managed by tepat ({CONTROL}: PHP's date.timezone is the court's zone).\n"
        "; Written by `tepat fix`; edits here are replaced on the next run. This file is\n"
        f"; named {MANAGED_NAME} so that it loads after every other file in this directory.\n"
        f'date.timezone = "{zone}"\n'
    )


def managed_block(zone: str) -> str:
    """The block appended to a php.ini that has no scan dir (XAMPP)."""
    # [PHP] ends any [HOST=]/[PATH=] section the file might end in, so the value is global.
    return (
        f"\n[PHP]\n; Managed by tepat ({CONTROL}: PHP's date.timezone is the court's zone).\n"
        f'date.timezone = "{zone}"\n'
    )


@dataclass
class FileEdit:
    """One file to change: settings to comment out, and/or a block to append."""

    path: str  # the real path (links resolved)
    comment: list[Setting] = field(default_factory=list)
    append: str = ""
    runtimes: set[str] = field(default_factory=set)  # names of the runtimes it affects

    @property
    def apache(self) -> bool:
        return any(s.kind == "apache" for s in self.comment)

    def action(self) -> str:
        bits = [f"comment out line {s.line} ({s.text.strip()})" for s in self.comment]
        if self.append:
            bits.append("append the managed date.timezone block")
        return "; ".join(bits)


@dataclass
class ManagedWrite:
    path: str
    content: str
    current: str | None  # None: the file does not exist yet
    runtime: str

    def action(self) -> str:
        verb = "write" if self.current is None else "rewrite"
        return f"{verb} the managed ini (date.timezone)"


@dataclass
class PhpPlan:
    edits: list[FileEdit] = field(default_factory=list)
    writes: list[ManagedWrite] = field(default_factory=list)
    changed_runtimes: set[str] = field(default_factory=set)
    report: list[str] = field(default_factory=list)  # per runtime: before -> after

    @property
    def empty(self) -> bool:
        return not self.edits and not self.writes


def plan(layout: PhpLayout, zone: str) -> PhpPlan:
    """What PHP-TZ-01 changes on a host with ``layout`` to put every runtime on ``zone``."""
    result = PhpPlan()
    edits: dict[str, FileEdit] = {}

    def comment(setting: Setting, runtime: Runtime) -> None:
        path = layout.real(setting.path)
        edit = edits.setdefault(path, FileEdit(path))
        if all((s.path, s.line) != (setting.path, setting.line) for s in edit.comment):
            edit.comment.append(setting)
        edit.runtimes.add(runtime.name)
        result.changed_runtimes.add(runtime.name)

    for runtime in layout.runtimes:
        managed = runtime.managed_path if runtime.scan_dir else None
        kept: list[Setting] = []
        for setting in layout.ini_settings(runtime):
            if setting.path == managed:
                continue  # ours: rewritten below if its content is not exactly right
            if setting.value == zone:
                kept.append(setting)
            else:
                comment(setting, runtime)
        for setting in layout.overrides(runtime):
            if setting.value != zone:
                comment(setting, runtime)
        before = layout.effective(runtime)
        if managed:
            current = layout.managed.get(managed)
            if current is not None or not kept:
                if current != managed_ini(zone):
                    result.writes.append(ManagedWrite(managed, managed_ini(zone), current,
                                                      runtime.name))
                    result.changed_runtimes.add(runtime.name)
        elif not kept:
            edit = edits.setdefault(runtime.ini, FileEdit(runtime.ini))
            edit.append = managed_block(zone)
            edit.runtimes.add(runtime.name)
            result.changed_runtimes.add(runtime.name)
        overrides = [s for s in layout.overrides(runtime) if s.value != zone]
        if runtime.name in result.changed_runtimes:
            why = f"effective {before or 'unset'}" + (
                f", {len(overrides)} pool/Apache override(s)" if overrides else "")
            result.report.append(f"{CONTROL} {runtime.name}: {why} -> {zone}")
    result.edits = sorted(edits.values(), key=lambda e: e.path)
    for edit in result.edits:
        edit.comment.sort(key=lambda s: s.line)
    return result


def mark(setting: Setting) -> str:
    """The comment marker for a setting's file type."""
    return APACHE_MARK if setting.kind == "apache" else INI_MARK


def sed_script(settings: list[Setting]) -> str:
    """Comment out exactly these lines, and only if each still sets date.timezone uncommented
    (the line numbers come from the fact; the guard keeps a re-run or a shifted file safe)."""
    parts = []
    for s in settings:
        parts.append(f"{s.line}{{/date\\.timezone/{{/^[[:space:]]*[;#]/!s/^/{mark(s)}/;}};}}")
    return "\n".join(parts)


@operation(is_idempotent=True)
def comment_out(edit: FileEdit, run: str):
    """Comment out conflicting date.timezone settings in one file (and append the managed
    block where the runtime has no scan dir), with a backup and an atomic write.

    Example:

    .. code:: python

        for edit in php.plan(layout, "Asia/Jakarta").edits:
            php.comment_out(name=edit.action(), edit=edit, run=safety.run_id())
    """
    if edit.comment or edit.append:
        yield safety.edit_command(edit.path, sed_script(edit.comment), run, append=edit.append)


@operation(is_idempotent=True)
def managed_file(write: ManagedWrite, run: str):
    """Write tepat's managed ini (``zz-tepat-timezone.ini``) when its content is not right.

    Example:

    .. code:: python

        for write in php.plan(layout, "Asia/Makassar").writes:
            php.managed_file(name=write.action(), write=write, run=safety.run_id())
    """
    if write.current != write.content:
        yield safety.write_command(write.path, write.content, run)
