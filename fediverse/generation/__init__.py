"""Generated images as posts: requests checked against the model and the server's limits
and queued (`requests`, `limits`, `service`), rendered in batches by the "generate" queue's
worker (`render`, `worker`; remixes from an image with `remix`), then published
(`follow_up`). Deleting a request cancels its image."""
