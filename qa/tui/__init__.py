"""The chat: a Textual front end over the qa library (the library never imports this)."""
