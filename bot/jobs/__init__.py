"""Work handed from the ``web`` processes to the workers, on a Redis stream.

A chat platform wants its answer at once (Slack gives three seconds) while the work behind a
request (Redis, Partner Center, the platform's own API) takes longer and competes for the
CPU. So the web process adds a job to the stream (``JOB_STREAM``, default ``rb:jobs``),
answers, and is done; the processes reading it through the consumer group ``workers`` do the
work. Several workers share the stream (each job goes to one of them), and a job whose worker
died is reclaimed by another after ``reclaim_after_ms``.

**Ordered jobs.** The turns of one conversation must be done one at a time and in the order
they arrived, whichever worker reads them and however many jobs a worker runs at once: two
answers typed 5 ms apart must never swap. A job put with an ``order_key`` (the conversation)
is appended to that key's *inbox*, a Redis list, and the stream gets a small entry that only
names the key, both in one script (so neither exists without the other). A worker reading
such an entry takes the key's *lease* and does the inbox's jobs from the head, one by one,
removing each once done, until the inbox is empty; a worker that finds the lease taken leaves
the inbox to its holder. Taking the next job, and letting the lease go and acknowledging the
entry when the inbox is empty, are one script, so a job appended meanwhile is either seen by
the holder or finds the lease free. A holder that dies leaves its job at the head of the
inbox, its lease expires, and its stream entry is reclaimed like any other: the job is done
again with the same id, so the work can tell a retry of itself from a new delivery. A job of
an inbox that fails is buried at once, not retried: a retry would hold up every later turn of
the conversation.

**Nothing stops the loop quietly.** A plain job that fails ``max_deliveries`` times, and an
entry that cannot be read at all (not JSON, no kind), go to ``<stream>:dead`` with the reason
and the loop goes on; anything else that ends the loop ends :meth:`JobQueue.work` with the
error, for the process to report and exit on.

The parts: :mod:`~bot.jobs.job` (what a job is, reading entries), :mod:`~bot.jobs.keys`,
:mod:`~bot.jobs.scripts`, :mod:`~bot.jobs.queue` (adding, the web side) and
:mod:`~bot.jobs.worker` (doing, the worker side).
"""

from bot.jobs.job import (
    ORDERED,
    Job,
    JobHandler,
    QueueRefused,
    UnknownJob,
    UnreadableJob,
    dispatch,
)
from bot.jobs.keys import GROUP, STREAM
from bot.jobs.queue import JobQueue
from bot.jobs.worker import WorkOptions, consumer_name

__all__ = [
    "GROUP",
    "ORDERED",
    "STREAM",
    "Job",
    "JobHandler",
    "JobQueue",
    "QueueRefused",
    "UnknownJob",
    "UnreadableJob",
    "WorkOptions",
    "consumer_name",
    "dispatch",
]
