"""Conversations: flows as data, validation, the engine and its Redis store."""
