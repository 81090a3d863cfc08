"""The lab: real PN servers (systemd-nspawn containers) to test tepat against. See docs/lab.md.

cli (``tepat lab``) -> lab (life cycle, ground truth) -> image (base), sampler (which courts,
where), provision (a compliant host), faults (what can be wrong), network, cgroups, procs;
api, relay and pki are the lab's services on the bridge; remote runs commands on hosts.
"""
