# Mitogen for Ansible's linear strategy (pinned in requirements.txt), found
# through the installed package so ansible.cfg needs no site-packages path.
# Switch back to Ansible's own: ANSIBLE_STRATEGY=linear (README, "Speed").
import functools

from ansible_mitogen import module_finder
from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: F401

# Mitogen finds each module's module_utils by compiling every file they import,
# again for every module it scans: a no-op site.yml compiled ansible's
# basic.py and its helpers once per module, about 1 s of its runs. The files
# do not change during a run (the cache lives in the run's mux process), and
# a code object is immutable, so one compile per file and source serves all.
module_finder.compile = functools.lru_cache(maxsize=None)(compile)
