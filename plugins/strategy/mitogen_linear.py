# Mitogen for Ansible's linear strategy (pinned in requirements.txt), found
# through the installed package so ansible.cfg needs no site-packages path.
# Switch back to Ansible's own: ANSIBLE_STRATEGY=linear (README, "Speed").
from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: F401
