"""pyinfra inventory of all 382 PN servers.

Court facts come from courts.csv (the single source of truth); addresses and SSH details from
production.hosts.yaml, which central IT fills in. Groups: ``pt_<high court>`` and
``tz_<zone>``; host data: court_id, court_name, pt, timezone, ntp_servers.

    pyinfra inventories/production.py deploy.py --limit pt_ambon
    tepat check -i inventories/production.py --limit tz_asia_jayapura
"""
from tepat.inventory import pyinfra_groups

globals().update(pyinfra_groups("production.hosts.yaml", __file__))
