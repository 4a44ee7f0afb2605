"""Test support for the whole project: real servers, clients, browsers.

Nothing here is imported by the application. The live tests of every app,
the root `conftest.py` (through `fixtures`) and the benchmark (`bench/`)
use it:

- `server`: a free port, the environment a server runs in, starting an
  ASGI server process (Daphne or uvicorn), or any command that serves
  (`deploy/serve`, nginx), and waiting until it listens, stopping it;
  `LiveServer`, one running server on its own database;
- `database`: migrating a database, the agents a test or benchmark needs
  (`AGENT_POOL`, `create_agents`), the session's template database, and
  `snapshot` / `describe_change` to check that a refused event wrote nothing;
- `clients`: `Client`, python-socketio's AsyncClient on one namespace that
  records every event, and `customer()` / `agent()` for a joined customer or
  a logged-in agent; `burst` for many emits at once; `loopback(i)`, an
  address of its own for a client to connect from;
- `flood`: an attacker in a process of its own, flooding from one
  loopback address (typing, joins, connections), for the limits' tests;
- `waits`: `eventually`, the one polling loop, and the waits built on it;
- `checks`: assertions more than one test module makes (`acked_in_order`)
  and `short`, a value cut to size for a failure message;
- `browser`: the system's headless Chromium (skipping where absent),
  screenshots, and recording a page's dialogs and errors;
- `pages`: the customer chat page and the agent console, driven by Playwright;
- `fixtures`: the pytest fixtures (`chat_server`, `start_chat_server`,
  `browser`), registered by the root `conftest.py`.

`server` and `database` import neither Django nor pytest: the benchmark
uses them before any settings exist.
"""
