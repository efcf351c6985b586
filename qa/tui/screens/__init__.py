"""Screens of the chat: chat, reader, help, welcome."""
