"""Web Push: the protocol (`webpush`), the instance's key (`keys`), what a push says
(`payload`), and the jobs that send them (`jobs`)."""
