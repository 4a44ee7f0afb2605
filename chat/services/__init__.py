"""Everything that changes conversations, messages and agent presence.

One module per domain; each public function is one transaction,
keyword-only, named `<entity>_<action>`, and announces what it changed by
recording `chat.events` in the outbox (sent after commit). Functions named
`do_*` run inside a caller's transaction that holds the assignment lock.
They are synchronous: the async transport calls them through
`chat.actions.run`.

| module      | what it changes                                              |
| ----------- | ------------------------------------------------------------ |
| `queue`     | assignment, the queue, claims and transfers                  |
| `joins`     | customers starting (in batches), resuming and reopening      |
| `endings`   | ends, idle closes, conversations leaving an absent agent     |
| `ratings`   | customers' satisfaction ratings of ended conversations       |
| `receipts`  | delivered and read marks                                     |
| `internal`  | internal chat between agents                                 |
| `presence`  | agents' sockets, status and capacity                         |
| `identity`  | customer tokens revoked                                      |
| `supervision` | supervisors' actions, each in the audit log (SupervisorAction) |
| `retention` | what is older than the retention period, deleted in batches  |

Messages themselves are stored by `chat.message_store` (the writer's group
commit), not here.
"""
