"""The Mastodon client REST API: one module per resource, each with its `routes` list."""
