"""Socket.IO plumbing shared by both namespaces (`/customer` in chat.sockets,
`/agent` in agents.sockets).

| module           | what it is for                                                    |
| ---------------- | ----------------------------------------------------------------- |
| `server`         | the AsyncServer subclass, handler registration, every raw send    |
| `emit`           | the one module that emits: every server event is built here       |
| `rooms`          | namespaces and room names                                         |
| `connections`    | what this process knows of each connected socket                  |
| `validation`     | payload parsing by the limits of PROTOCOL.md                      |
| `ratelimit`      | the token bucket                                                  |
| `limits`         | rate limits per socket, customer, agent and client address        |
| `engine_socket`  | python-engineio's socket without a task per frame                 |
| `socket_json`    | orjson for every packet                                           |
| `internal_bridge`| internal chat from the channel layer to this process's agents     |
| `revocation`     | identities taken back: each process disconnects its own sockets   |
| `patches`        | every upstream private method overridden or copied, fingerprinted |
"""
