"""Getting messages in and out: the durable inbox, the outbox and its sender, notifications, and
the Telegram plumbing (the bot subclass, the per-user update processor).
"""
