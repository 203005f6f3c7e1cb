"""Background work on RQ: the job functions workers execute, the queues, the worker and
scheduler processes, heartbeats of long work, and the embedded Redis for zero set-up."""
