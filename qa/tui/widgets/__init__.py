"""Widgets of the chat: message list, sources panel, status bar, history input."""
