"""The supervisors' live wallboard, a page of admin (/admin/wallboard/).

`selectors` reads what it shows (agents and their conversations, the queue
with each customer's wait estimate, today's counters); `views` renders it
and takes the supervisors' actions, which `chat.services.supervision`
carries out; `urls` adds both to the admin site. docs/SUPERVISORS.md says
what it shows and does.
"""
