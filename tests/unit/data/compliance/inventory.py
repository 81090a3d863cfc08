"""The 20-court lab (`tepat lab up --courts 20 --faults mix --seed 7`) as it was when
lab_debian12.json was recorded: for replaying that recording in the unit tests."""
from tepat.inventory import pyinfra_groups

globals().update(pyinfra_groups("lab_hosts.yaml", __file__))
