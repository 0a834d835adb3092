"""Generated images as posts: requests checked and queued (`requests`), rendered in batches
by the "generate" queue's worker (`render`, `worker`), then published (`follow_up`)."""
