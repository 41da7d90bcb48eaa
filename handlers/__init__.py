"""Telegram-facing handlers, one module per feature: parse the update, make one call into the
feature's flow, render the result. Which modules are registered, and in what order, is listed
in bot/features.py; handlers/replies.py holds the reply helpers they share.
"""
