"""Uploaded media: checking and re-encoding images (`processing`), their files (`storage`),
and their rows (`uploads`)."""
