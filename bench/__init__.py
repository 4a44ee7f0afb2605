"""The benchmark: `bench/run.py <scenario>` (README.md beside this file).

- `run`: the command line;
- `scenarios`: steady, saturate, connections, join-storm, each a function
  that starts its server, drives it and returns its report;
- `servers`: the server processes on a fresh database, sampled from /proc,
  and where they run (`Placement`);
- `load`: the Node load-generator workers (`loadgen.mjs`) and the exchange
  with them;
- `report`: latency percentiles, the headline figure of each scenario and
  the table printed after each run.

Ports, the server command lines, migrating and creating agents come from
`cs_project.testing`, as for the live tests.
"""
