"""One module per family of activities; each handler takes (ctx, session, activity, actor)."""
